"""Who comes and goes: kiosk grace and resume, staff status (available/away/...). A client that comes
back always learns the current state of its ticket and its call, whatever happened while it was away."""

from __future__ import annotations

from sqlalchemy import func, select, update

from server.db.models import CallSession, Kiosk, Staff, Ticket
from server.queue import forms, states
from server.queue.errors import Conflict, Forbidden
from server.queue.queue_views import tell_kiosk, waits
from server.queue.step import Step
from server.queue.tickets import back_to_waiting, offer_of, push_status
from server.queue.views import CALL_ROLES, LOCK_STAFF, PARTNER, active_session, last_session, needs_for, participants
from server.queue.waits import Wait
from signaling.principal import Principal
from signaling.protocol.messages import OfferRevoked, SessionEnded, SessionStart, StatusSet
from signaling.protocol.replies import StatusChanged


async def set_status(step: Step, staff: Principal, msg: StatusSet) -> StatusChanged:
    s = await step.db.get(Staff, staff.principal_id, with_for_update=LOCK_STAFF)
    assert s is not None
    if s.role == PARTNER and msg.status != "available":
        pass  # a partner's console steps away while it is in a call it was invited to; partners are never routed
    elif s.role not in CALL_ROLES:
        raise Forbidden("only specialists and supervisors take calls")
    if s.status in ("in_call", "wrap_up", "offered"):
        raise Conflict(f"you are {s.status}; status changes after it")
    if msg.status == "available" and s.status != "available":
        s.idle_since = step.now
    s.status, s.status_reason = msg.status, msg.reason if msg.status == "away" else ""
    step.audit(staff.peer, "staff.status", staff.peer, status=msg.status, reason=msg.reason)
    await push_status(step, staff.principal_id)
    step.outbox.requeue = True
    return StatusChanged(status=msg.status)


async def kiosk_connected(step: Step, kiosk: Principal, app_version: str, resumed: bool) -> None:
    await kiosks_connected(step, [(kiosk, app_version, resumed)])


async def kiosks_connected(step: Step, arrivals: list[tuple[Principal, str, bool]]) -> None:
    """Kiosks (re)connect — one, or a reconnect storm's worth in one transaction. Within the grace each gets
    its ticket, place and call back. A kiosk that resumes (the same program, with its resume token) is also
    told how its last visit ended: a call that ended while it was away (``session.ended``). One that comes
    back after the grace is told its ticket was abandoned. An idle kiosk costs two bulk statements."""
    db, ids = step.db, [k.principal_id for k, _, _ in arrivals]
    by_version: dict[str, list[int]] = {}
    for kiosk, version, _ in arrivals:
        by_version.setdefault(version, []).append(kiosk.principal_id)
    for version, kids in by_version.items():
        await db.execute(update(Kiosk).where(Kiosk.id.in_(kids)).values(last_seen_at=step.now, app_version=version)
                         .execution_options(synchronize_session=False))
    step.metrics.connected.labels("kiosk").inc(len(arrivals))
    latest = {kid: (tid, state) for kid, tid, state in (await db.execute(
        select(Ticket.kiosk_id, Ticket.id, Ticket.state).where(Ticket.id.in_(
            select(func.max(Ticket.id)).where(Ticket.kiosk_id.in_(ids)).group_by(Ticket.kiosk_id)))
    )).all()}
    queued = any(state in states.QUEUED for _, state in latest.values())
    est = await waits(step) if queued else {}  # once for the batch, not once per returning kiosk
    for kiosk, _, resumed in arrivals:
        tid, state = latest.get(kiosk.principal_id, (None, ""))
        if tid is not None and (state in states.AT_KIOSK or state == "abandoned" or resumed):
            t = await db.get(Ticket, tid)
            assert t is not None
            await _welcome_back(step, kiosk, t, resumed, est.get(t.id))


async def _welcome_back(step: Step, kiosk: Principal, t: Ticket, resumed: bool, wait: Wait | None) -> None:
    """What a returning kiosk is told about its latest ticket ``t`` (``wait``: its place, when queued)."""
    if t.state in states.AT_KIOSK:
        t.disconnected_at = None
        step.audit(kiosk.peer, "kiosk.resume", f"ticket:{t.id}", state=t.state)
        if t.state in states.QUEUED:
            tell_kiosk(step, t, wait, reason="resumed")
            step.outbox.requeue = True  # a resumed queued ticket can be routed again
            return
        tell_kiosk(step, t, None, reason="resumed")
        sess = await active_session(step.db, t.id)
        if sess is not None:
            step.outbox.join(sess.id, kiosk.peer)
            step.send(kiosk.peer, SessionStart(
                session_id=sess.id, ticket_id=t.id, service_code=t.service.code, you=kiosk.peer,
                participants=participants(sess), offer_to=[], branch=sess.branch.name_ja,
                municipality=sess.branch.municipality.name_ja, **needs_for(t, sess.staff),
            ))
            await forms.reshow(step, kiosk.peer, sess.id)  # a form still waiting for the resident's answer
    elif t.state == "abandoned":
        # back after the grace: say the ticket is gone, or the kiosk would show "waiting" for ever
        tell_kiosk(step, t, None, reason="grace_expired")
    elif resumed:
        sess = await last_session(step.db, t.id)
        tell_kiosk(step, t, None, reason="resumed")
        if sess is not None and sess.ended_at is not None:
            step.send(kiosk.peer, SessionEnded(session_id=sess.id, reason=sess.end_reason or "staff_hangup"))  # type: ignore[arg-type]


async def kiosk_disconnected(step: Step, kiosk: Principal) -> None:
    await kiosks_disconnected(step, [kiosk])


async def kiosks_disconnected(step: Step, kiosks: list[Principal]) -> None:
    step.metrics.connected.labels("kiosk").dec(len(kiosks))
    await _kiosks_gone(step, [k.principal_id for k in kiosks])


async def _kiosks_gone(step: Step, ids: list[int]) -> None:
    """Offline from now; a call in progress keeps its media, queued tickets get the grace."""
    await step.db.execute(update(Kiosk).where(Kiosk.id.in_(ids)).values(last_seen_at=step.now, screen="offline")
                          .execution_options(synchronize_session=False))
    await step.db.execute(update(Ticket).where(Ticket.kiosk_id.in_(ids), Ticket.state.in_(states.AT_KIOSK))
                          .values(disconnected_at=step.now).execution_options(synchronize_session=False))


async def staff_connected(step: Step, staff: Principal, resumed: bool) -> None:
    """A console (re)connects: a live call is re-announced; a console started afresh (not resuming) is also
    told about a finished call whose wrap-up it still owes, or it could never finish it. A console that
    resumes learns of a call that ended while it was away from its status (``wrap_up``)."""
    s = await step.db.get(Staff, staff.principal_id, with_for_update=LOCK_STAFF)
    assert s is not None
    if s.status == "offline":
        s.status, s.status_reason = "away", "signed_in"
    step.metrics.connected.labels("staff").inc()
    sess = (await step.db.execute(
        select(CallSession).where(CallSession.staff_id == s.id, CallSession.wrapup_done_at.is_(None))
        .order_by(CallSession.id.desc()).limit(1)
    )).scalar_one_or_none()
    await push_status(step, staff.principal_id)
    if sess is not None and sess.ended_at is None:
        ticket = await step.db.get(Ticket, sess.ticket_id)
        assert ticket is not None
        step.outbox.join(sess.id, staff.peer)
        step.send(staff.peer, SessionStart(
            session_id=sess.id, ticket_id=sess.ticket_id, service_code=sess.service.code, you=staff.peer,
            participants=participants(sess), offer_to=[], branch=sess.branch.name_ja,
            municipality=sess.branch.municipality.name_ja, **needs_for(ticket, s),
        ))
    elif sess is not None and not resumed:
        step.send(staff.peer, SessionEnded(session_id=sess.id, reason=sess.end_reason or "staff_hangup",  # type: ignore[arg-type]
                                           wrap_up=True))
    if s.status == "offered":  # an offer made before the drop (or on a node that died): ring it again
        t = (await step.db.execute(select(Ticket).where(Ticket.state == "offered", Ticket.offered_to_id == s.id)
                                   )).scalar_one_or_none()
        if t is not None and t.offer_expires_at is not None:
            step.send(staff.peer, offer_of(t, s, step.now, (t.offer_expires_at - step.now).total_seconds()))
    step.outbox.requeue = True


async def staff_disconnected(step: Step, staff: Principal) -> None:
    """An available specialist who vanishes gets no more offers; a call keeps its media."""
    step.metrics.connected.labels("staff").dec()
    await _staff_gone(step, staff.principal_id)


async def _staff_gone(step: Step, staff_id: int) -> None:
    s = await step.db.get(Staff, staff_id, with_for_update=LOCK_STAFF)
    if s is None or s.status not in ("available", "away", "offered"):
        return
    peer = f"staff:{staff_id}"
    if s.status == "offered":
        t = (await step.db.execute(select(Ticket).where(Ticket.state == "offered", Ticket.offered_to_id == s.id)
                                   .with_for_update(of=Ticket))).scalar_one_or_none()
        if t is not None:
            back_to_waiting(t, s.id)  # gone, not a refusal: may get it again
            step.send(peer, OfferRevoked(ticket_id=t.id, reason="declined"))
    s.status, s.status_reason = "offline", ""
    step.audit(peer, "staff.offline", peer)
    step.outbox.requeue = True


async def peers_lost(step: Step, node: str, peers: frozenset[str]) -> None:
    """A server node died with these clients on it (reported once, by one survivor). They are treated as
    disconnected at this moment: queued kiosks keep their place through the grace (they reconnect to a
    survivor within seconds), calls keep their media, an offer that was pending on the dead node goes to
    someone else (or back to the same specialist once reconnected)."""
    step.audit("system", "node.lost", node, peers=len(peers))
    for peer in sorted(peers):
        kind, _, ident = peer.partition(":")
        if not ident.isdigit():
            continue
        if kind == "kiosk":
            await _kiosks_gone(step, [int(ident)])
        elif kind == "staff":
            await _staff_gone(step, int(ident))
    step.outbox.requeue = True
