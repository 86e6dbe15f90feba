"""Who comes and goes: kiosk grace and resume, staff status (available/away/...). A client that comes
back always learns the current state of its ticket and its call, whatever happened while it was away."""

from __future__ import annotations

from sqlalchemy import select

from server.db.models import CallSession, Kiosk, Staff, Ticket
from server.queue import states
from server.queue.errors import Conflict, Forbidden
from server.queue.queue_views import tell_kiosk, waits
from server.queue.step import Step
from server.queue.tickets import back_to_waiting, offer_of, push_status
from server.queue.views import CALL_ROLES, LOCK_STAFF, active_session, active_ticket, last_session, participants
from signaling.principal import Principal
from signaling.protocol.messages import OfferRevoked, SessionEnded, SessionStart, StatusSet
from signaling.protocol.replies import StatusChanged


async def set_status(step: Step, staff: Principal, msg: StatusSet) -> StatusChanged:
    s = await step.db.get(Staff, staff.principal_id, with_for_update=LOCK_STAFF)
    assert s is not None
    if s.role not in CALL_ROLES:
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
    """A kiosk (re)connects. Within the grace it gets its ticket, place and call back. A kiosk that resumes
    (the same program, with its resume token) is also told how its last visit ended: a call that ended
    while it was away (``session.ended``), a ticket abandoned after the grace."""
    db = step.db
    k = await db.get(Kiosk, kiosk.principal_id)
    assert k is not None
    k.last_seen_at, k.app_version = step.now, app_version
    step.metrics.connected.labels("kiosk").inc()
    t = await active_ticket(db, k.id)
    if t is not None:
        t.disconnected_at = None
        step.audit(kiosk.peer, "kiosk.resume", f"ticket:{t.id}", state=t.state)
        if t.state in states.QUEUED:
            tell_kiosk(step, t, (await waits(step)).get(t.id), reason="resumed")
            step.outbox.requeue = True  # a resumed queued ticket can be routed again
            return
        tell_kiosk(step, t, None, reason="resumed")
        sess = await active_session(db, t.id)
        if sess is not None:
            step.outbox.join(sess.id, kiosk.peer)
            step.send(kiosk.peer, SessionStart(
                session_id=sess.id, ticket_id=t.id, service_code=t.service.code, you=kiosk.peer,
                participants=participants(sess), offer_to=[], branch=sess.branch.name_ja,
                municipality=sess.branch.municipality.name_ja, needs=list(t.needs),  # type: ignore[arg-type]
            ))
        return
    last = (await db.execute(select(Ticket).where(Ticket.kiosk_id == k.id)
                             .order_by(Ticket.id.desc()).limit(1))).scalar_one_or_none()
    if last is None:
        return
    if last.state == "abandoned":
        # back after the grace: say the ticket is gone, or the kiosk would show "waiting" for ever
        tell_kiosk(step, last, None, reason="grace_expired")
    elif resumed:
        sess = await last_session(db, last.id)
        tell_kiosk(step, last, None, reason="resumed")
        if sess is not None and sess.ended_at is not None:
            step.send(kiosk.peer, SessionEnded(session_id=sess.id, reason=sess.end_reason or "staff_hangup"))  # type: ignore[arg-type]


async def kiosks_connected(step: Step, arrivals: list[tuple[Principal, str, bool]]) -> None:
    """Several kiosks (re)connecting at once — a reconnect storm — in one transaction."""
    for kiosk, app_version, resumed in arrivals:
        await kiosk_connected(step, kiosk, app_version, resumed)


async def kiosks_disconnected(step: Step, kiosks: list[Principal]) -> None:
    for kiosk in kiosks:
        await kiosk_disconnected(step, kiosk)


async def kiosk_disconnected(step: Step, kiosk: Principal) -> None:
    step.metrics.connected.labels("kiosk").dec()
    await _kiosk_gone(step, kiosk.principal_id)


async def _kiosk_gone(step: Step, kiosk_id: int) -> None:
    k = await step.db.get(Kiosk, kiosk_id)
    if k is not None:
        k.last_seen_at = step.now
        k.screen = "offline"
    t = await active_ticket(step.db, kiosk_id)
    if t is not None:
        t.disconnected_at = step.now  # a call in progress keeps its media; queued tickets get the grace


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
        step.outbox.join(sess.id, staff.peer)
        step.send(staff.peer, SessionStart(
            session_id=sess.id, ticket_id=sess.ticket_id, service_code=sess.service.code, you=staff.peer,
            participants=participants(sess), offer_to=[], branch=sess.branch.name_ja,
            municipality=sess.branch.municipality.name_ja,
        ))
    elif sess is not None and not resumed:
        step.send(staff.peer, SessionEnded(session_id=sess.id, reason=sess.end_reason or "staff_hangup",  # type: ignore[arg-type]
                                           wrap_up=True))
    if s.status == "offered":  # an offer made before the drop (or on a node that died): ring it again
        t = (await step.db.execute(select(Ticket).where(Ticket.state == "offered", Ticket.offered_to_id == s.id)
                                   )).scalar_one_or_none()
        if t is not None and t.offer_expires_at is not None:
            step.send(staff.peer, offer_of(t, step.now, (t.offer_expires_at - step.now).total_seconds()))
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
            await _kiosk_gone(step, int(ident))
        elif kind == "staff":
            await _staff_gone(step, int(ident))
    step.outbox.requeue = True
