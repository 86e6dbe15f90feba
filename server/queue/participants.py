"""People beyond the resident and the specialist: an invited colleague or partner (third party) and a supervisor
listening in. Every join and leave is announced to everyone in the call and audited (DESIGN §6).

A partner (role ``partner``: 相談支援事業所, 就業・生活支援センター, 後見人, an interpreter) can be invited like a
colleague and joins only through that invitation. A supervisor listens in to a call of another municipality only
where that municipality allows it (``municipality.outside_supervision``, off by default)."""

from __future__ import annotations

from server.db.models import CallSession, Municipality, Staff, Ticket
from server.queue.errors import Conflict, Forbidden, NotFound
from server.queue.step import Step
from server.queue.views import INVITEE_ROLES, LOCK_SESSION, is_member, needs_for, participants, present, staff_peer
from signaling.principal import Principal
from signaling.protocol.messages import InviteIncoming, ParticipantJoined, ParticipantLeft, SessionStart
from signaling.protocol.models import Participant, ParticipantRole
from signaling.protocol.replies import InviteAnswered, SessionRef


async def invite(step: Step, staff: Principal, session_id: int, invitee_id: int) -> SessionRef:
    sess = await step.db.get(CallSession, session_id)
    if sess is None or sess.staff_id != staff.principal_id or sess.ended_at is not None:
        raise NotFound("no live session of yours")
    target = await step.db.get(Staff, invitee_id)
    if target is None or not target.active or target.role not in INVITEE_ROLES or target.id == staff.principal_id:
        raise NotFound("no such colleague")
    if not step.presence.is_connected(staff_peer(invitee_id)):
        raise Conflict("that colleague is not connected")
    me = await step.db.get(Staff, staff.principal_id)
    await step.shared.store.add_invite(session_id, invitee_id)
    step.send(staff_peer(invitee_id), InviteIncoming(
        session_id=session_id, from_name=me.display_name if me else "", service_code=sess.service.code))
    return SessionRef(session_id=session_id)


async def decline_invite(step: Step, staff: Principal, session_id: int) -> InviteAnswered:
    await step.shared.store.take_invite(session_id, staff.principal_id)
    return InviteAnswered(session_id=session_id, joined=False)


async def join(step: Step, staff: Principal, session_id: int, role: ParticipantRole) -> SessionRef:
    """Third party (after an invite) or supervisor (listen only)."""
    sess = await step.db.get(CallSession, session_id, with_for_update=LOCK_SESSION)
    if sess is None or sess.ended_at is not None:
        raise NotFound("no live session")
    if role == "supervisor" and staff.role != "supervisor":
        raise Forbidden("only supervisors may join silently")
    if role == "supervisor" and sess.municipality_id != staff.municipality_id:
        owner = await step.db.get(Municipality, sess.municipality_id)
        if owner is None or not owner.outside_supervision:
            raise Forbidden("this municipality does not let supervisors of other municipalities listen in")
    if is_member(sess, staff.peer):
        raise Conflict("already in this session")
    me = await step.db.get(Staff, staff.principal_id)
    if me is not None and me.status in ("in_call", "offered"):
        # joining would take this console out of its own call (or offer)
        raise Conflict(f"you are {me.status}; finish that first")
    if role == "third_party" and not await step.shared.store.take_invite(session_id, staff.principal_id):
        raise Forbidden("you were not invited to this session")  # checked last: taking it uses it up
    name = me.display_name if me else ""
    existing = participants(sess)
    sess.participants = [*sess.participants, {"peer": staff.peer, "role": role, "name": name,
                                              "joined_at": step.now.isoformat()}]
    step.audit(staff.peer, "session.join", f"session:{sess.id}", role=role)
    t = await step.db.get(Ticket, sess.ticket_id)
    me_p = Participant(peer=staff.peer, role=role, display_name=name)
    for p in existing:
        step.send(p.peer, ParticipantJoined(session_id=session_id, participant=me_p))
    step.outbox.join(session_id, staff.peer)
    step.send(staff.peer, SessionStart(
        session_id=session_id, ticket_id=sess.ticket_id, service_code=sess.service.code, you=staff.peer,
        participants=[*existing, me_p], offer_to=[p.peer for p in existing], receive_only=role == "supervisor",
        branch=sess.branch.name_ja, municipality=sess.branch.municipality.name_ja,
        **(needs_for(t, sess.staff) if t is not None else {}),
    ))
    return SessionRef(session_id=session_id)


async def leave(step: Step, staff: Principal, session_id: int) -> SessionRef:
    sess = await step.db.get(CallSession, session_id, with_for_update=LOCK_SESSION)
    if sess is None or not is_member(sess, staff.peer):
        raise NotFound("no such session for you")
    if sess.staff_id == staff.principal_id:
        raise Conflict("the specialist ends the call with session.end")
    parts = [dict(p) for p in sess.participants]
    for p in parts:
        if p["peer"] == staff.peer and "left_at" not in p:
            p["left_at"] = step.now.isoformat()
    sess.participants = parts
    step.audit(staff.peer, "session.leave", f"session:{sess.id}")
    step.outbox.leave(session_id, staff.peer)
    for p in present(sess):
        step.send(p["peer"], ParticipantLeft(session_id=session_id, peer=staff.peer))
    return SessionRef(session_id=session_id)
