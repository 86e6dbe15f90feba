"""Session lifecycle: media and stats, hang-up, silent calls, wrap-up, transfer, feedback, screens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from server.db.models import CallSession, Feedback, Kiosk, Note, Service, Staff, Ticket
from server.queue import guests, states
from server.queue.errors import Conflict, Forbidden, Invalid, NotFound, QueueError
from server.queue.queue_views import tell_kiosk
from server.queue.step import Step
from server.queue.tickets import push_status
from server.queue.views import (
    CALL_ROLES,
    LOCK_SESSION,
    LOCK_STAFF,
    LOCK_TICKET,
    is_member,
    kiosk_peer,
    present,
    staff_peer,
)
from signaling.principal import Principal
from signaling.protocol.messages import (
    CallMedia,
    CallStatsReport,
    FeedbackSubmit,
    SessionEnd,
    SessionEnded,
    TransferRequest,
)
from signaling.protocol.models import EndReason, MediaError
from signaling.protocol.replies import Empty, MediaRecorded, SessionRef, TicketRef


def _member(sess: CallSession | None, peer: str) -> CallSession:
    if sess is None or not is_member(sess, peer):
        raise NotFound("no such session for you")
    return sess


def _side(peer: str) -> str:
    return "kiosk" if peer.startswith("kiosk:") else "staff"


async def media_state(step: Step, who: Principal, msg: CallMedia) -> MediaRecorded:
    """Record the media phase. ``setup_ms`` is the specialist's (accept → first remote media, measured on the
    console, which saw the accept); the kiosk's is ignored, and without the specialist's the server's own
    accept → connected stands. ``failed`` from the resident's kiosk or the session's specialist (their link
    stayed dead through the clients' healing window) ends the call. A third party's failed link ends nothing."""
    sess = _member(await step.db.get(CallSession, msg.session_id, with_for_update=LOCK_SESSION), who.peer)
    primary_staff = who.is_staff and who.principal_id == sess.staff_id
    sess.media_seen_at = step.now
    if msg.state == "connected" and sess.ended_at is None:
        if sess.media_connected_at is None:
            sess.media_connected_at = step.now
            sess.setup_ms = (step.now - sess.accepted_at).total_seconds() * 1000
            step.metrics.call_setup.observe((step.now - sess.accepted_at).total_seconds())
        if primary_staff and msg.setup_ms is not None:
            sess.setup_ms = msg.setup_ms
    step.audit(who.peer, f"media.{msg.state}", f"session:{sess.id}")
    if msg.state == "failed" and (who.kind == "kiosk" or primary_staff) and sess.ended_at is None:
        reason: EndReason = "media_failed" if step.presence.is_connected(kiosk_peer(sess.kiosk_id)) else "kiosk_lost"
        await close_session(step, sess, reason, media_error=msg.error)
        extra = {"media_error": msg.error} if msg.error else {}
        step.audit("system", "session.end", f"session:{sess.id}", reason=reason, reported_by=who.peer, **extra)
        return MediaRecorded(ended=reason)
    return MediaRecorded()


async def record_stats(step: Step, who: Principal, msg: CallStatsReport) -> Empty:
    stats = msg.stats.model_dump(exclude_none=True)
    sess = _member(await step.db.get(CallSession, msg.session_id, with_for_update=LOCK_SESSION), who.peer)
    sess.media_seen_at = step.now
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
    await step.shared.store.put_quality(msg.session_id, side, {**stats, "at": step.now.isoformat()})
    return Empty()


async def record_stats_batch(step: Step, reports: list[tuple[Principal, CallStatsReport]]) -> list[QueueError | None]:
    """Several ``call.stats`` reports in one step, each with its own outcome (None: recorded). Every peer link
    reports every 2 s; one queue operation each kept the engine's lock so busy under load that a client's next
    message (a leave, say) waited behind its own reports for tens of seconds."""
    outcomes: list[QueueError | None] = []
    for who, msg in reports:
        try:
            await record_stats(step, who, msg)  # refuses before it changes anything
        except QueueError as exc:
            outcomes.append(exc)
        else:
            outcomes.append(None)
    return outcomes


async def end_session(step: Step, who: Principal, msg: SessionEnd) -> SessionRef:
    session_id = msg.session_id
    sess = _member(await step.db.get(CallSession, session_id, with_for_update=LOCK_SESSION), who.peer)
    if who.is_staff and who.principal_id != sess.staff_id:
        raise Forbidden("only the specialist or the resident ends the call; use session.leave")
    if sess.ended_at is not None:
        raise Conflict("session already ended")
    # a kiosk that heard the specialist's bye while the server was away reports the end later, saying so
    reason: EndReason = (msg.reason or "resident_hangup") if who.kind == "kiosk" else "staff_hangup"
    await close_session(step, sess, reason)
    step.audit(who.peer, "session.end", f"session:{sess.id}", reason=reason)
    return SessionRef(session_id=session_id)


async def end_silent_calls(step: Step) -> None:
    """A call whose media nobody has reported on for longer than the media grace has no live client left
    (both ends killed, or both cut off): it ends, so the session row, the ticket and the specialist do not
    stay in a call for ever. ``kiosk_lost`` when the kiosk is not connected, else ``media_failed``."""
    limit = step.now - timedelta(seconds=step.settings.media_grace_s)
    rows = (await step.db.execute(
        select(CallSession).where(CallSession.ended_at.is_(None),
                                  func.coalesce(CallSession.media_seen_at, CallSession.accepted_at) <= limit)
        .with_for_update(skip_locked=True, **LOCK_SESSION)
    )).scalars().unique().all()
    for sess in rows:
        reason: EndReason = "media_failed" if step.presence.is_connected(kiosk_peer(sess.kiosk_id)) else "kiosk_lost"
        await close_session(step, sess, reason)
        step.audit("system", "session.end", f"session:{sess.id}", reason=reason, silent_s=step.settings.media_grace_s)


async def close_session(step: Step, sess: CallSession, reason: EndReason, media_error: MediaError | None = None
                        ) -> None:
    """End the call: the row, the ticket (wrap-up, unless transferred), the specialist (wrap-up), and the
    ``session.ended`` to everyone in it (the specialist is told to wrap up; ``media_error``: why the media
    failed, as the reporting client knew it, e.g. the TURN server refused its credential)."""
    now = step.now
    members = {p["peer"] for p in present(sess)} | {staff_peer(sess.staff_id), kiosk_peer(sess.kiosk_id)}
    sess.ended_at, sess.end_reason = now, reason
    step.metrics.session_duration.observe((now - sess.accepted_at).total_seconds())
    parts = [dict(p) for p in sess.participants]
    for p in parts:
        p.setdefault("left_at", now.isoformat())
    sess.participants = parts
    t = await step.db.get(Ticket, sess.ticket_id, with_for_update=LOCK_TICKET)
    assert t is not None
    if reason != "transferred":
        states.check(t.state, "wrap_up")
        t.state = "wrap_up"
    s = await step.db.get(Staff, sess.staff_id, with_for_update=LOCK_STAFF)
    assert s is not None
    s.status, s.status_reason = "wrap_up", ""
    step.outbox.close_room(sess.id)
    await step.shared.store.drop_quality(sess.id)
    await step.shared.store.drop_invites(sess.id)
    await guests.end_with_call(step, sess)  # every guest link of the call is dead now
    staff = staff_peer(sess.staff_id)
    for peer in sorted(members):
        step.send(peer, SessionEnded(session_id=sess.id, reason=reason, wrap_up=peer == staff, media_error=media_error))
    await push_status(step, sess.staff_id)
    step.outbox.requeue = True


async def wrapup_done(step: Step, staff: Principal, session_id: int) -> SessionRef:
    sess = await step.db.get(CallSession, session_id, with_for_update=LOCK_SESSION)
    if sess is None or sess.staff_id != staff.principal_id:
        raise NotFound("no such session of yours")
    if sess.ended_at is None:
        raise Conflict("the call is still going on")
    if sess.wrapup_done_at is not None:
        raise Conflict("wrap-up already done")
    note = (await step.db.execute(select(Note).where(Note.session_id == sess.id))).scalar_one_or_none()
    if note is None or not note.category:
        raise Conflict("save a note with at least a category first", {"missing": "note.category"})
    sess.wrapup_done_at = step.now
    t = await step.db.get(Ticket, sess.ticket_id, with_for_update=LOCK_TICKET)
    if t is not None and t.state == "wrap_up":
        t.state, t.ended_at = "done", step.now
    s = await step.db.get(Staff, staff.principal_id, with_for_update=LOCK_STAFF)
    assert s is not None
    s.status, s.idle_since = "available", step.now
    step.audit(staff.peer, "session.wrapup_done", f"session:{sess.id}")
    await push_status(step, staff.principal_id)
    step.outbox.requeue = True
    return SessionRef(session_id=session_id)


async def transfer(step: Step, staff: Principal, msg: TransferRequest) -> TicketRef:
    """Back to waiting with the original arrival time, for another service or a named specialist."""
    if (msg.service_code is None) == (msg.staff_id is None):
        raise Invalid("give exactly one of service_code or staff_id")
    db = step.db
    sess = await db.get(CallSession, msg.session_id, with_for_update=LOCK_SESSION)
    if sess is None or sess.staff_id != staff.principal_id or sess.ended_at is not None:
        raise NotFound("no live session of yours")
    t = await db.get(Ticket, sess.ticket_id, with_for_update=LOCK_TICKET)
    assert t is not None
    if msg.service_code is not None:
        svc = (await db.execute(select(Service).where(Service.code == msg.service_code))).scalar_one_or_none()
        if svc is None:
            raise NotFound(f"unknown service {msg.service_code!r}")
        t.service_id, t.service, t.target_staff_id = svc.id, svc, None
    else:
        target = await db.get(Staff, msg.staff_id)
        if target is None or not target.active or target.role not in CALL_ROLES:
            raise NotFound("no such specialist")
        if target.id == staff.principal_id:
            raise Conflict("cannot transfer to yourself")
        t.target_staff_id = target.id
    await close_session(step, sess, "transferred")
    states.check(t.state, "waiting")
    t.state, t.offered_to_id, t.declined_by = "waiting", None, []
    t.transfer_count += 1
    step.audit(staff.peer, "ticket.transfer", f"ticket:{t.id}", service=msg.service_code, staff_id=msg.staff_id)
    tell_kiosk(step, t, None, reason="transferred")
    step.shared.told.pop(t.id, None)  # its position and wait follow with the requeue
    return TicketRef(ticket_id=t.id)


async def feedback(step: Step, kiosk: Principal, msg: FeedbackSubmit) -> SessionRef:
    sess = await step.db.get(CallSession, msg.session_id)
    if sess is None or sess.kiosk_id != kiosk.principal_id:
        raise NotFound("no such session for this kiosk")
    if (await step.db.execute(select(Feedback.id).where(Feedback.session_id == sess.id))).first():
        raise Conflict("feedback already given for this session")
    step.db.add(Feedback(session_id=sess.id, kiosk_id=kiosk.principal_id, rating=msg.rating,
                         saved_trip=msg.saved_trip))
    return SessionRef(session_id=msg.session_id)


async def kiosk_screen(step: Step, kiosk: Principal, screen: str) -> Empty:
    k = await step.db.get(Kiosk, kiosk.principal_id)
    assert k is not None
    k.screen, k.last_seen_at = screen, step.now
    return Empty()
