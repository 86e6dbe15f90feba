"""Read-side helpers shared by the queue operations: routing views of rows, and the active ticket and
session look-ups. Nothing here writes or sends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import CallSession, Staff, Ticket
from server.queue import states
from server.queue.routing import StaffView, TicketView, starts_written, unmet_needs
from signaling.protocol.models import Participant

ON_DUTY = ("available", "offered", "in_call", "wrap_up")
CALL_ROLES = ("specialist", "supervisor")
PARTNER = "partner"  # an outside organisation or interpreter: joins a call when invited, nothing else
INVITEE_ROLES = (*CALL_ROLES, PARTNER)
# FOR UPDATE OF call_session only: PostgreSQL refuses to lock the nullable side of the eager outer joins
LOCK_SESSION: dict[str, Any] = {"of": CallSession}
LOCK_TICKET: dict[str, Any] = {"of": Ticket}
LOCK_STAFF: dict[str, Any] = {"of": Staff}


def ticket_view(t: Ticket) -> TicketView:
    return TicketView(
        id=t.id, service_id=t.service_id, municipality_id=t.municipality_id, needs=frozenset(t.needs),
        priority=t.priority, arrival_at=t.arrival_at, shared_service=t.service.shared,
        target_staff_id=t.target_staff_id, declined_by=frozenset(t.declined_by or []), language=t.language,
        preferred_staff_id=t.preferred_staff_id, prefer_until=t.prefer_until, due_at=t.due_at,
    )


def staff_view(s: Staff) -> StaffView:
    return StaffView(
        id=s.id, municipality_id=s.municipality_id, skills=frozenset(x.id for x in s.skills),
        capabilities=frozenset(s.capabilities or []), idle_since=s.idle_since,
        languages=frozenset(s.languages or ["ja"]),
    )


def needs_for(t: Ticket, s: Staff) -> dict[str, Any]:
    """What a call (or an offer) of ticket ``t`` answered by ``s`` says about the resident's needs: the
    needs and language, the required skills ``s`` lacks, and whether it opens as a written conversation."""
    tv, sv = ticket_view(t), staff_view(s)
    return {"needs": list(t.needs), "language": t.language, "unmet_needs": unmet_needs(tv, sv),
            "written": starts_written(tv, sv)}


def kiosk_peer(kiosk_id: int) -> str:
    return f"kiosk:{kiosk_id}"


def staff_peer(staff_id: int) -> str:
    return f"staff:{staff_id}"


async def active_ticket(db: AsyncSession, kiosk_id: int) -> Ticket | None:
    return (await db.execute(
        select(Ticket).where(Ticket.kiosk_id == kiosk_id, Ticket.state.in_(states.AT_KIOSK))
    )).scalar_one_or_none()


async def active_session(db: AsyncSession, ticket_id: int) -> CallSession | None:
    return (await db.execute(
        select(CallSession).where(CallSession.ticket_id == ticket_id, CallSession.ended_at.is_(None))
        .order_by(CallSession.id.desc()).limit(1)
    )).scalar_one_or_none()


async def last_session(db: AsyncSession, ticket_id: int) -> CallSession | None:
    return (await db.execute(
        select(CallSession).where(CallSession.ticket_id == ticket_id).order_by(CallSession.id.desc()).limit(1)
    )).scalar_one_or_none()


def present(sess: CallSession) -> list[dict[str, Any]]:
    """The participants who have not left."""
    return [p for p in sess.participants if "left_at" not in p]


def participants(sess: CallSession) -> list[Participant]:
    return [Participant(peer=p["peer"], role=p["role"],
                        display_name=p.get("name") or (sess.staff.display_name if p["role"] == "specialist" else ""))
            for p in present(sess)]


def is_member(sess: CallSession | None, peer: str) -> bool:
    return sess is not None and any(p["peer"] == peer for p in present(sess))
