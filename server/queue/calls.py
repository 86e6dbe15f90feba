"""Session lifecycle: media and stats, hang-up, wrap-up, transfer, feedback, extra participants."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.db.models import CallSession, Feedback, Kiosk, Note, Service, Staff, Ticket
from server.queue import states
from server.queue.broadcast import broadcast
from server.queue.context import QueueContext, audit
from server.queue.presence import push_status
from server.queue.tickets import route
from signaling.hub import HubError, Principal
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import (
    CallMedia,
    CallStatsReport,
    FeedbackSubmit,
    InviteIncoming,
    ParticipantJoined,
    ParticipantLeft,
    SessionEnded,
    SessionStart,
    TicketUpdate,
    TransferRequest,
)
from signaling.protocol.models import Participant

# FOR UPDATE OF call_session only: PostgreSQL refuses to lock the nullable side of the eager outer joins
_LOCK = {"of": CallSession}


def _member(sess: CallSession | None, peer: str) -> CallSession:
    if sess is None or not any(p["peer"] == peer and "left_at" not in p for p in sess.participants):
        raise HubError(ErrorCode.NOT_FOUND, "no such session for you")
    return sess


def _side(peer: str) -> str:
    return "kiosk" if peer.startswith("kiosk:") else "staff"


async def media_state(ctx: QueueContext, who: Principal, msg: CallMedia) -> dict[str, Any]:
    """Record the media phase. ``failed`` from the resident's kiosk or the session's specialist (their link
    stayed dead through the clients' healing window) ends the call: ``kiosk_lost`` when the kiosk is not
    connected to the server either, else ``media_failed``. A third party's failed link ends nothing."""
    end_reason: str | None = None
    peers: list[str] = []
    async with ctx.lock, ctx.maker() as db, db.begin():
        sess = _member(await db.get(CallSession, msg.session_id, with_for_update=_LOCK), who.peer)
        if msg.state == "connected" and sess.media_connected_at is None:
            sess.media_connected_at = ctx.now()
            sess.setup_ms = msg.setup_ms if msg.setup_ms is not None else (
                (sess.media_connected_at - sess.accepted_at).total_seconds() * 1000)
            ctx.metrics.call_setup.observe((sess.media_connected_at - sess.accepted_at).total_seconds())
        audit(db, who.peer, f"media.{msg.state}", f"session:{sess.id}")
        primary = who.kind == "kiosk" or (who.is_staff and who.principal_id == sess.staff_id)
        if msg.state == "failed" and primary and sess.ended_at is None:
            end_reason = "media_failed" if ctx.hub.is_connected(f"kiosk:{sess.kiosk_id}") else "kiosk_lost"
            peers = await _close_session(ctx, db, sess, end_reason)
            audit(db, "system", "session.end", f"session:{sess.id}", reason=end_reason, reported_by=who.peer)
    if end_reason is not None:
        await _notify_ended(ctx, sess, peers, end_reason)
        await broadcast(ctx)
        return {"ended": end_reason}
    return {}


async def record_stats(ctx: QueueContext, who: Principal, msg: CallStatsReport) -> dict[str, Any]:
    stats = msg.stats.model_dump(exclude_none=True)
    async with ctx.maker() as db, db.begin():
        sess = _member(await db.get(CallSession, msg.session_id, with_for_update=_LOCK), who.peer)
        side = _side(who.peer)
        q = dict(sess.quality or {})
        cur = dict(q.get(side, {"samples": 0}))
        n = cur["samples"] + 1
        for key in ("rtt_ms", "fps", "bitrate_kbps"):
            if key in stats:
                cur[f"{key}_avg"] = round((cur.get(f"{key}_avg", 0.0) * (n - 1) + stats[key]) / n, 2)
        if "loss_pct" in stats:
            cur["loss_pct_max"] = max(cur.get("loss_pct_max", 0.0), stats["loss_pct"])
        for key in ("frames_received", "audio_frames_received"):
            if key in stats:
                cur[key] = stats[key]
        cur["samples"] = n
        q[side] = cur
        sess.quality = q
    ctx.live.by_session.setdefault(msg.session_id, {})[side] = {**stats, "at": ctx.now().isoformat()}
    return {}


async def end_session(ctx: QueueContext, who: Principal, session_id: int, reason: str | None = None) -> dict[str, Any]:
    async with ctx.lock, ctx.maker() as db, db.begin():
        sess = _member(await db.get(CallSession, session_id, with_for_update=_LOCK), who.peer)
        if who.is_staff and who.principal_id != sess.staff_id:
            raise HubError(ErrorCode.FORBIDDEN, "only the specialist or the resident ends the call; use session.leave")
        if sess.ended_at is not None:
            raise HubError(ErrorCode.CONFLICT, "session already ended")
        end_reason = reason or ("resident_hangup" if who.kind == "kiosk" else "staff_hangup")
        peers = await _close_session(ctx, db, sess, end_reason)
        audit(db, who.peer, "session.end", f"session:{sess.id}", reason=end_reason)
    await _notify_ended(ctx, sess, peers, end_reason)
    await broadcast(ctx)
    return {"session_id": session_id}


async def _close_session(ctx: QueueContext, db: Any, sess: CallSession, reason: str) -> list[str]:
    now = ctx.now()
    sess.ended_at, sess.end_reason = now, reason
    ctx.metrics.session_duration.observe((now - sess.accepted_at).total_seconds())
    parts = [dict(p) for p in sess.participants]
    for p in parts:
        p.setdefault("left_at", now.isoformat())
    sess.participants = parts
    t = await db.get(Ticket, sess.ticket_id, with_for_update={"of": Ticket})
    if reason != "transferred":
        states.check(t.state, "wrap_up")
        t.state = "wrap_up"
    s = await db.get(Staff, sess.staff_id, with_for_update={"of": Staff})
    s.status, s.status_reason = "wrap_up", ""
    peers = sorted(ctx.hub.rooms.get(sess.id, set()))
    ctx.hub.close_room(sess.id)
    ctx.live.by_session.pop(sess.id, None)
    return peers


async def _notify_ended(ctx: QueueContext, sess: CallSession, peers: list[str], reason: str) -> None:
    staff_peer = f"staff:{sess.staff_id}"
    for peer in set(peers) | {staff_peer, f"kiosk:{sess.kiosk_id}"}:
        await ctx.hub.send(peer, SessionEnded(session_id=sess.id, reason=reason,  # type: ignore[arg-type]
                                              wrap_up=peer == staff_peer))
    await push_status(ctx, sess.staff_id)


async def wrapup_done(ctx: QueueContext, staff: Principal, session_id: int) -> dict[str, Any]:
    async with ctx.lock, ctx.maker() as db, db.begin():
        sess = await db.get(CallSession, session_id, with_for_update=_LOCK)
        if sess is None or sess.staff_id != staff.principal_id:
            raise HubError(ErrorCode.NOT_FOUND, "no such session of yours")
        if sess.ended_at is None:
            raise HubError(ErrorCode.CONFLICT, "the call is still going on")
        if sess.wrapup_done_at is not None:
            raise HubError(ErrorCode.CONFLICT, "wrap-up already done")
        note = (await db.execute(select(Note).where(Note.session_id == sess.id))).scalar_one_or_none()
        if note is None or not note.category:
            raise HubError(ErrorCode.CONFLICT, "save a note with at least a category first",
                           {"missing": "note.category"})
        sess.wrapup_done_at = ctx.now()
        t = await db.get(Ticket, sess.ticket_id, with_for_update={"of": Ticket})
        if t is not None and t.state == "wrap_up":
            t.state, t.ended_at = "done", ctx.now()
        s = await db.get(Staff, staff.principal_id, with_for_update={"of": Staff})
        assert s is not None
        s.status, s.idle_since = "available", ctx.now()
        audit(db, staff.peer, "session.wrapup_done", f"session:{sess.id}")
    await push_status(ctx, staff.principal_id)
    await route(ctx)
    await broadcast(ctx)
    return {"session_id": session_id}


async def transfer(ctx: QueueContext, staff: Principal, msg: TransferRequest) -> dict[str, Any]:
    """Back to waiting with the original arrival time, for another service or a named specialist."""
    if (msg.service_code is None) == (msg.staff_id is None):
        raise HubError(ErrorCode.INVALID_MESSAGE, "give exactly one of service_code or staff_id")
    async with ctx.lock, ctx.maker() as db, db.begin():
        sess = await db.get(CallSession, msg.session_id, with_for_update=_LOCK)
        if sess is None or sess.staff_id != staff.principal_id or sess.ended_at is not None:
            raise HubError(ErrorCode.NOT_FOUND, "no live session of yours")
        t = await db.get(Ticket, sess.ticket_id, with_for_update={"of": Ticket})
        assert t is not None
        if msg.service_code is not None:
            svc = (await db.execute(select(Service).where(Service.code == msg.service_code))).scalar_one_or_none()
            if svc is None:
                raise HubError(ErrorCode.NOT_FOUND, f"unknown service {msg.service_code!r}")
            t.service_id, t.service, t.target_staff_id = svc.id, svc, None
        else:
            target = await db.get(Staff, msg.staff_id)
            if target is None or not target.active or target.role not in ("specialist", "supervisor"):
                raise HubError(ErrorCode.NOT_FOUND, "no such specialist")
            if target.id == staff.principal_id:
                raise HubError(ErrorCode.CONFLICT, "cannot transfer to yourself")
            t.target_staff_id = target.id
        peers = await _close_session(ctx, db, sess, "transferred")
        states.check(t.state, "waiting")
        t.state, t.offered_to_id, t.declined_by = "waiting", None, []
        t.transfer_count += 1
        audit(db, staff.peer, "ticket.transfer", f"ticket:{t.id}", service=msg.service_code, staff_id=msg.staff_id)
        code = t.service.code
    await _notify_ended(ctx, sess, peers, "transferred")
    await ctx.hub.send(f"kiosk:{sess.kiosk_id}", TicketUpdate(ticket_id=t.id, state="waiting", service_code=code,
                                                             reason="transferred"))
    await route(ctx)
    await broadcast(ctx)
    return {"ticket_id": t.id}


async def feedback(ctx: QueueContext, kiosk: Principal, msg: FeedbackSubmit) -> dict[str, Any]:
    async with ctx.maker() as db, db.begin():
        sess = await db.get(CallSession, msg.session_id)
        if sess is None or sess.kiosk_id != kiosk.principal_id:
            raise HubError(ErrorCode.NOT_FOUND, "no such session for this kiosk")
        if (await db.execute(select(Feedback.id).where(Feedback.session_id == sess.id))).first():
            raise HubError(ErrorCode.CONFLICT, "feedback already given for this session")
        db.add(Feedback(session_id=sess.id, kiosk_id=kiosk.principal_id, rating=msg.rating,
                        saved_trip=msg.saved_trip))
    return {"session_id": msg.session_id}


async def kiosk_screen(ctx: QueueContext, kiosk: Principal, screen: str) -> dict[str, Any]:
    async with ctx.maker() as db, db.begin():
        k = await db.get(Kiosk, kiosk.principal_id)
        assert k is not None
        k.screen, k.last_seen_at = screen, ctx.now()
    return {}


# ---------------------------------------------------------------- extra participants
async def invite(ctx: QueueContext, staff: Principal, session_id: int, invitee_id: int) -> dict[str, Any]:
    async with ctx.maker() as db:
        sess = await db.get(CallSession, session_id)
        if sess is None or sess.staff_id != staff.principal_id or sess.ended_at is not None:
            raise HubError(ErrorCode.NOT_FOUND, "no live session of yours")
        target = await db.get(Staff, invitee_id)
        me = await db.get(Staff, staff.principal_id)
    if target is None or target.role not in ("specialist", "supervisor") or target.id == staff.principal_id:
        raise HubError(ErrorCode.NOT_FOUND, "no such colleague")
    if not await ctx.hub.send(f"staff:{invitee_id}", InviteIncoming(
            session_id=session_id, from_name=me.display_name if me else "", service_code=sess.service.code)):
        raise HubError(ErrorCode.CONFLICT, "that colleague is not connected")
    ctx.pending_invites.add((session_id, invitee_id))
    return {"session_id": session_id}


async def join(ctx: QueueContext, staff: Principal, session_id: int, role: str) -> dict[str, Any]:
    """Third party (after an invite) or supervisor (listen only). Announced to everyone, audited."""
    async with ctx.lock, ctx.maker() as db, db.begin():
        sess = await db.get(CallSession, session_id, with_for_update=_LOCK)
        if sess is None or sess.ended_at is not None:
            raise HubError(ErrorCode.NOT_FOUND, "no live session")
        if role == "supervisor" and staff.role != "supervisor":
            raise HubError(ErrorCode.FORBIDDEN, "only supervisors may join silently")
        if role == "third_party" and (session_id, staff.principal_id) not in ctx.pending_invites:
            raise HubError(ErrorCode.FORBIDDEN, "you were not invited to this session")
        if any(p["peer"] == staff.peer and "left_at" not in p for p in sess.participants):
            raise HubError(ErrorCode.CONFLICT, "already in this session")
        me = await db.get(Staff, staff.principal_id)
        if me is not None and me.status in ("in_call", "offered"):
            # joining would take this console out of its own call (or offer)
            raise HubError(ErrorCode.CONFLICT, f"you are {me.status}; finish that first")
        name = me.display_name if me else ""
        existing = [Participant(peer=p["peer"], role=p["role"],
                                display_name=p.get("name") or (sess.staff.display_name if p["role"] == "specialist"
                                                               else ""))
                    for p in sess.participants if "left_at" not in p]
        sess.participants = [*sess.participants, {"peer": staff.peer, "role": role, "name": name,
                                                  "joined_at": ctx.now().isoformat()}]
        audit(db, staff.peer, "session.join", f"session:{sess.id}", role=role)
        code = sess.service.code
        ticket_id = sess.ticket_id
        t = await db.get(Ticket, sess.ticket_id)
        where = dict(branch=sess.branch.name_ja, municipality=sess.branch.municipality.name_ja,
                     needs=list(t.needs) if t is not None else [])
    ctx.pending_invites.discard((session_id, staff.principal_id))
    me_p = Participant(peer=staff.peer, role=role, display_name=name)  # type: ignore[arg-type]
    for p in existing:
        await ctx.hub.send(p.peer, ParticipantJoined(session_id=session_id, participant=me_p))
    ctx.hub.join_room(session_id, staff.peer)
    await ctx.hub.send(staff.peer, SessionStart(
        session_id=session_id, ticket_id=ticket_id, service_code=code, you=staff.peer,
        participants=[*existing, me_p], offer_to=[p.peer for p in existing], receive_only=role == "supervisor",
        **where,  # type: ignore[arg-type]
    ))
    return {"session_id": session_id}


async def leave(ctx: QueueContext, staff: Principal, session_id: int) -> dict[str, Any]:
    async with ctx.lock, ctx.maker() as db, db.begin():
        sess = _member(await db.get(CallSession, session_id, with_for_update=_LOCK), staff.peer)
        if sess.staff_id == staff.principal_id:
            raise HubError(ErrorCode.CONFLICT, "the specialist ends the call with session.end")
        parts = [dict(p) for p in sess.participants]
        for p in parts:
            if p["peer"] == staff.peer and "left_at" not in p:
                p["left_at"] = ctx.now().isoformat()
        sess.participants = parts
        audit(db, staff.peer, "session.leave", f"session:{sess.id}")
        remaining = [p["peer"] for p in parts if "left_at" not in p]
    ctx.hub.leave_room(session_id, staff.peer)
    for peer in remaining:
        await ctx.hub.send(peer, ParticipantLeft(session_id=session_id, peer=staff.peer))
    return {"session_id": session_id}
