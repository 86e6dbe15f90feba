"""Guests by link: family, a supporter, a guardian or an interpreter joins one call from a browser.

The specialist invites (``guest.invite``: a one-time token, only its SHA-256 kept, valid
``guest_link_ttl_s``); the guest opens the link and exchanges the token once for a guest access token
(REST, :func:`redeem`); its socket puts it in the lobby (:func:`arrive`, ``guest.lobby`` to the
specialist); the specialist admits or refuses (:func:`admit`); the kiosk announces the guest and the
resident agrees or refuses (:func:`consent`); only then does the guest join the call's mesh (role
``guest``), so that no media of the guest reaches the resident before the resident agreed. A link is dead
after its first use, after its expiry and after the call ends. Every invite, admit, refusal, join and leave
is audited (DESIGN §6).

Refusals of a link (:class:`LinkRefused`, ``reason``): ``unknown``, ``used``, ``expired``, ``ended``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import select

from server.db.models import CallSession, GuestInvitation
from server.queue.errors import Conflict, NotFound, QueueError
from server.queue.step import Step
from server.queue.views import LOCK_SESSION, is_member, participants, present, staff_peer
from signaling.principal import Principal
from signaling.protocol.messages import (
    GuestAdmit,
    GuestConsent,
    GuestConsentRequest,
    GuestInvite,
    GuestLobby,
    GuestStateUpdate,
    ParticipantJoined,
    ParticipantLeft,
    SessionStart,
)
from signaling.protocol.models import Participant
from signaling.protocol.replies import GuestDecided, GuestInvited, SessionRef

LinkReason = Literal["unknown", "used", "expired", "ended"]
MAX_ENDPOINTS = 4  # a full mesh beyond four endpoints costs each one too much (signaling/call.py, docs/console.md)
OPEN_STATES = ("invited", "lobby", "awaiting_consent", "admitted")


class LinkRefused(QueueError):
    def __init__(self, reason: LinkReason) -> None:
        super().__init__(f"guest link {reason}", {"reason": reason})
        self.reason: LinkReason = reason


@dataclass(frozen=True)
class GuestPass:
    invitation_id: int
    session_id: int
    display_name: str
    role: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def guest_peer(invitation_id: int) -> str:
    return f"guest:{invitation_id}"


def _update(inv: GuestInvitation, by: Literal["staff", "resident"] | None = None) -> GuestStateUpdate:
    return GuestStateUpdate(session_id=inv.session_id, invitation_id=inv.id, state=inv.state,  # type: ignore[arg-type]
                            by=by, display_name=inv.display_name, role=inv.role)  # type: ignore[arg-type]


async def invite(step: Step, staff: Principal, msg: GuestInvite) -> GuestInvited:
    sess = await step.db.get(CallSession, msg.session_id)
    if sess is None or sess.staff_id != staff.principal_id or sess.ended_at is not None:
        raise NotFound("no live session of yours")
    pending = (await step.db.execute(select(GuestInvitation.id).where(  # links out, and guests on their way in
        GuestInvitation.session_id == sess.id, GuestInvitation.state.in_(OPEN_STATES[:3]),
        (GuestInvitation.expires_at > step.now) | GuestInvitation.used_at.is_not(None)))).all()
    if len(present(sess)) + len(pending) >= MAX_ENDPOINTS:
        raise Conflict(f"a call has at most {MAX_ENDPOINTS} endpoints")
    token = secrets.token_urlsafe(32)
    expires = step.now + timedelta(seconds=step.settings.guest_link_ttl_s)
    inv = GuestInvitation(session_id=sess.id, invited_by_id=staff.principal_id, role=msg.role,
                          display_name=msg.display_name.strip() or msg.display_name, token_hash=token_hash(token),
                          state="invited", created_at=step.now, expires_at=expires)
    step.db.add(inv)
    await step.db.flush()
    step.audit(staff.peer, "guest.invite", f"session:{sess.id}", invitation=inv.id, role=msg.role)
    path = f"/g/{token}"
    base = step.settings.guest_public_url.rstrip("/")
    return GuestInvited(invitation_id=inv.id, path=path, url=base + path if base else "",
                        expires_at=expires.isoformat(), expires_in_s=step.settings.guest_link_ttl_s)


async def _by_token(step: Step, token: str) -> GuestInvitation:
    inv = (await step.db.execute(select(GuestInvitation).where(GuestInvitation.token_hash == token_hash(token))
                                 )).scalar_one_or_none()
    if inv is None:
        raise LinkRefused("unknown")
    return inv


async def _refusal(step: Step, inv: GuestInvitation) -> LinkReason | None:
    sess = await step.db.get(CallSession, inv.session_id)
    if sess is None or sess.ended_at is not None or inv.state == "ended":
        return "ended"
    if inv.used_at is not None:
        return "used"
    if step.now >= inv.expires_at:
        return "expired"
    return None


async def check_link(step: Step, token: str) -> GuestPass:
    """Whether the link still works (the guest page is served only then); uses nothing up."""
    inv = await _by_token(step, token)
    reason = await _refusal(step, inv)
    if reason is not None:
        raise LinkRefused(reason)
    return GuestPass(inv.id, inv.session_id, inv.display_name, inv.role)


async def redeem(step: Step, token: str) -> GuestPass | LinkReason:
    """The guest's page trades the link for a guest access token: the link is used up now. A refusal is returned
    (not raised), so that its audit row is committed with the step."""
    try:
        inv = await _by_token(step, token)
    except LinkRefused as exc:
        return exc.reason
    reason = await _refusal(step, inv)
    if reason is not None:
        step.audit(guest_peer(inv.id), "guest.link_refused", f"session:{inv.session_id}", reason=reason)
        return reason
    inv.used_at = step.now
    step.audit(guest_peer(inv.id), "guest.link_used", f"session:{inv.session_id}")
    return GuestPass(inv.id, inv.session_id, inv.display_name, inv.role)


async def may_connect(step: Step, invitation_id: int) -> GuestPass:
    """A guest socket authenticates: its invitation was redeemed and is still open, its call still live."""
    inv = await step.db.get(GuestInvitation, invitation_id)
    if inv is None or inv.used_at is None or inv.state not in ("invited", "lobby", "awaiting_consent"):
        raise NotFound("this guest pass is no longer valid")
    sess = await step.db.get(CallSession, inv.session_id)
    if sess is None or sess.ended_at is not None:
        raise NotFound("the call has ended")
    return GuestPass(inv.id, inv.session_id, inv.display_name, inv.role)


async def arrive(step: Step, guest: Principal) -> None:
    """The guest's socket is up: it waits in the lobby; the specialist is told."""
    inv = await step.db.get(GuestInvitation, guest.principal_id)
    if inv is None or inv.state not in ("invited", "lobby", "awaiting_consent"):
        return
    sess = await step.db.get(CallSession, inv.session_id)
    if sess is None or sess.ended_at is not None:
        return
    if inv.state == "invited":
        inv.state = "lobby"
        step.audit(guest.peer, "guest.lobby", f"session:{sess.id}", role=inv.role)
    step.send(guest.peer, _update(inv))
    if inv.state == "lobby":
        step.send(staff_peer(sess.staff_id), GuestLobby(session_id=sess.id, invitation_id=inv.id,
                                                        display_name=inv.display_name, role=inv.role))  # type: ignore[arg-type]


async def _open(step: Step, invitation_id: int) -> tuple[GuestInvitation, CallSession]:
    inv = await step.db.get(GuestInvitation, invitation_id)
    if inv is None:
        raise NotFound("no such guest")
    sess = await step.db.get(CallSession, inv.session_id, with_for_update=LOCK_SESSION)
    if sess is None or sess.ended_at is not None:
        raise NotFound("the call has ended")
    return inv, sess


async def admit(step: Step, staff: Principal, msg: GuestAdmit) -> GuestDecided:
    inv, sess = await _open(step, msg.invitation_id)
    if sess.staff_id != staff.principal_id:
        raise NotFound("no such guest in your call")
    if inv.state != "lobby":
        raise Conflict(f"the guest is {inv.state}, not waiting in the lobby")
    inv.decided_at = step.now
    if not msg.admit:
        inv.state, inv.refused_by = "refused", "staff"
        step.audit(staff.peer, "guest.refuse", f"session:{sess.id}", invitation=inv.id, by="staff")
        update = _update(inv, "staff")
        step.send(guest_peer(inv.id), update)
        step.send(staff.peer, update)
        return GuestDecided(invitation_id=inv.id, state="refused")
    inv.state = "awaiting_consent"
    step.audit(staff.peer, "guest.admit", f"session:{sess.id}", invitation=inv.id, role=inv.role)
    step.send(guest_peer(inv.id), _update(inv))
    step.send(f"kiosk:{sess.kiosk_id}", GuestConsentRequest(session_id=sess.id, invitation_id=inv.id,
                                                            display_name=inv.display_name, role=inv.role))  # type: ignore[arg-type]
    return GuestDecided(invitation_id=inv.id, state="awaiting_consent")


async def consent(step: Step, kiosk: Principal, msg: GuestConsent) -> GuestDecided:
    inv, sess = await _open(step, msg.invitation_id)
    if sess.kiosk_id != kiosk.principal_id:
        raise NotFound("no such guest in this kiosk's call")
    if inv.state == "admitted" and not msg.agree:
        return await _withdraw(step, kiosk, inv, sess)
    if inv.state != "awaiting_consent":
        raise Conflict(f"the guest is {inv.state}; nothing to agree to")
    specialist = staff_peer(sess.staff_id)
    if not msg.agree:
        inv.state, inv.refused_by = "refused", "resident"
        step.audit(kiosk.peer, "guest.refuse", f"session:{sess.id}", invitation=inv.id, by="resident")
        update = _update(inv, "resident")
        step.send(guest_peer(inv.id), update)
        step.send(specialist, update)
        return GuestDecided(invitation_id=inv.id, state="refused")
    peer = guest_peer(inv.id)
    inv.state = "admitted"
    existing = participants(sess)
    sess.participants = [*sess.participants, {"peer": peer, "role": "guest", "name": inv.display_name,
                                              "guest_role": inv.role, "joined_at": step.now.isoformat()}]
    step.audit(kiosk.peer, "guest.consent", f"session:{sess.id}", invitation=inv.id, role=inv.role)
    step.audit(peer, "session.join", f"session:{sess.id}", role="guest", guest_role=inv.role)
    me = Participant(peer=peer, role="guest", display_name=inv.display_name, guest_role=inv.role)  # type: ignore[arg-type]
    step.send(specialist, _update(inv))
    for p in existing:
        step.send(p.peer, ParticipantJoined(session_id=sess.id, participant=me))
    step.outbox.join(sess.id, peer)
    step.send(peer, SessionStart(
        session_id=sess.id, ticket_id=sess.ticket_id, service_code=sess.service.code, you=peer,
        participants=[*existing, me], offer_to=[p.peer for p in existing], branch=sess.branch.name_ja,
        municipality=sess.branch.municipality.name_ja))
    return GuestDecided(invitation_id=inv.id, state="admitted")


async def _withdraw(step: Step, kiosk: Principal, inv: GuestInvitation, sess: CallSession) -> GuestDecided:
    """The resident takes consent back in the middle of the call (1.15): the guest leaves the call at once, is
    told why (``refused`` by ``resident``), and the link stays dead; the consultation goes on."""
    step.audit(kiosk.peer, "guest.consent_withdrawn", f"session:{sess.id}", invitation=inv.id, role=inv.role)
    await _leave(step, inv, sess, "consent_withdrawn")
    inv.state, inv.refused_by = "refused", "resident"
    update = _update(inv, "resident")
    step.send(guest_peer(inv.id), update)
    step.send(staff_peer(sess.staff_id), update)
    return GuestDecided(invitation_id=inv.id, state="refused")


async def _leave(step: Step, inv: GuestInvitation, sess: CallSession, why: str) -> None:
    peer = guest_peer(inv.id)
    was_in_call = is_member(sess, peer)
    if was_in_call:
        parts = [dict(p) for p in sess.participants]
        for p in parts:
            if p["peer"] == peer and "left_at" not in p:
                p["left_at"] = step.now.isoformat()
        sess.participants = parts
        step.outbox.leave(sess.id, peer)
        for p in present(sess):
            step.send(p["peer"], ParticipantLeft(session_id=sess.id, peer=peer))
    inv.state, inv.left_at = "left", step.now
    step.audit(peer, "guest.leave", f"session:{sess.id}", invitation=inv.id, why=why, in_call=was_in_call)
    if not was_in_call:
        step.send(staff_peer(sess.staff_id), _update(inv))


async def leave(step: Step, guest: Principal, session_id: int) -> SessionRef:
    inv = await step.db.get(GuestInvitation, guest.principal_id)
    if inv is None or inv.session_id != session_id or inv.state not in OPEN_STATES:
        raise NotFound("no such session for you")
    sess = await step.db.get(CallSession, session_id, with_for_update=LOCK_SESSION)
    if sess is None or sess.ended_at is not None:
        raise NotFound("no such session for you")
    await _leave(step, inv, sess, "left")
    return SessionRef(session_id=session_id)


async def gone(step: Step, guest: Principal) -> None:
    """The guest's socket closed (page closed, network gone): the guest is out (a new link brings them back)."""
    inv = await step.db.get(GuestInvitation, guest.principal_id)
    if inv is None or inv.state not in OPEN_STATES:
        return
    sess = await step.db.get(CallSession, inv.session_id, with_for_update=LOCK_SESSION)
    if sess is None or sess.ended_at is not None:
        return
    await _leave(step, inv, sess, "disconnected")


async def end_with_call(step: Step, sess: CallSession) -> None:
    """The call ended: every link of it is dead; guests still in the lobby are told (those in the call get
    ``session.ended`` like everyone in it)."""
    rows = (await step.db.execute(select(GuestInvitation).where(
        GuestInvitation.session_id == sess.id, GuestInvitation.state.in_(OPEN_STATES)))).scalars().all()
    for inv in rows:
        in_call = inv.state == "admitted"
        inv.state = "ended"
        if inv.left_at is None and inv.used_at is not None:
            inv.left_at = step.now
            step.audit(guest_peer(inv.id), "guest.leave", f"session:{sess.id}", invitation=inv.id,
                       why="call_ended", in_call=in_call)
        if not in_call and inv.used_at is not None:
            step.send(guest_peer(inv.id), _update(inv))

