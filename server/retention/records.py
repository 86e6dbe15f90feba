"""The record types that hold personal data, what each purges, and the tables that hold none.

A new table must be classified here: either it belongs to a record type (and is purged with it, after the
period set in ``MADOGUCHI_RETENTION_DAYS``), or it is listed in :data:`NOT_PERSONAL` with the reason.
``tests/test_retention.py`` fails for a table that is neither.

Each purge deletes rows older than ``cutoff`` and returns counts per table. ``session`` (call metadata and the
ticket behind it) keeps a session while its note, feedback, a document still (attachment) or a confirmed form
(form_confirmation; both purged with the note's period) is still kept, so that a longer note period is honoured;
a later session's ``transferred_from_id`` link to a purged one is cleared. A case (its number, the resident's name
and contact) goes with the sessions' period: once it is older than the cutoff and none of its sessions or tickets
is left.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.purge import purge_before
from server.db.models import (
    Appointment,
    Attachment,
    BranchCall,
    Callback,
    CallSession,
    Case,
    Feedback,
    FormConfirmation,
    GuestInvitation,
    Note,
    RefreshToken,
    Ticket,
)
from server.queue.states import FINAL

Purge = Callable[[AsyncSession, datetime, datetime], Awaitable[dict[str, int]]]  # (db, cutoff, now) -> counts
CHUNK = 500


@dataclass(frozen=True)
class RecordType:
    name: str
    tables: tuple[str, ...]
    purge: Purge
    what: str


async def _notes(db: AsyncSession, cutoff: datetime, _now: datetime) -> dict[str, int]:
    """Notes and what is kept with them — document stills (attachments) and the forms the resident confirmed —:
    the same period, each from its own creation."""
    r = await db.execute(delete(Note).where(Note.created_at < cutoff))
    a = await db.execute(delete(Attachment).where(Attachment.created_at < cutoff))
    f = await db.execute(delete(FormConfirmation).where(FormConfirmation.created_at < cutoff))
    return {"note": int(r.rowcount or 0), "attachment": int(a.rowcount or 0),  # type: ignore[attr-defined]
            "form_confirmation": int(f.rowcount or 0)}  # type: ignore[attr-defined]


async def _feedback(db: AsyncSession, cutoff: datetime, _now: datetime) -> dict[str, int]:
    r = await db.execute(delete(Feedback).where(Feedback.created_at < cutoff))
    return {"feedback": int(r.rowcount or 0)}  # type: ignore[attr-defined]


async def _sessions(db: AsyncSession, cutoff: datetime, _now: datetime) -> dict[str, int]:
    expired = (await db.execute(select(CallSession.id).where(
        CallSession.ended_at < cutoff,
        ~exists().where(Note.session_id == CallSession.id),
        ~exists().where(Attachment.session_id == CallSession.id),
        ~exists().where(FormConfirmation.session_id == CallSession.id),
        ~exists().where(Feedback.session_id == CallSession.id),
    ))).scalars().all()
    sessions = guests = 0
    for i in range(0, len(expired), CHUNK):
        ids = expired[i:i + CHUNK]
        r = await db.execute(delete(GuestInvitation).where(GuestInvitation.session_id.in_(ids))
                             .execution_options(synchronize_session=False))
        guests += int(r.rowcount or 0)  # type: ignore[attr-defined]
        await db.execute(update(CallSession).where(CallSession.transferred_from_id.in_(ids))
                         .values(transferred_from_id=None).execution_options(synchronize_session=False))
        r = await db.execute(delete(CallSession).where(CallSession.id.in_(ids))
                             .execution_options(synchronize_session=False))
        sessions += int(r.rowcount or 0)  # type: ignore[attr-defined]
    a = await db.execute(delete(Appointment).where(  # before the tickets and cases it points at
        Appointment.state.in_(("served", "no_show", "cancelled")), Appointment.starts_at < cutoff,
    ).execution_options(synchronize_session=False))
    r = await db.execute(delete(Ticket).where(
        Ticket.state.in_(FINAL), func.coalesce(Ticket.ended_at, Ticket.created_at) < cutoff,
        ~exists().where(CallSession.ticket_id == Ticket.id), ~exists().where(Appointment.ticket_id == Ticket.id),
    ).execution_options(synchronize_session=False))
    tickets = int(r.rowcount or 0)  # type: ignore[attr-defined]
    c = await db.execute(delete(Case).where(
        Case.created_at < cutoff, ~exists().where(CallSession.case_id == Case.id),
        ~exists().where(Ticket.case_id == Case.id), ~exists().where(Appointment.case_id == Case.id),
    ).execution_options(synchronize_session=False))
    r = await db.execute(delete(BranchCall).where(BranchCall.created_at < cutoff)
                         .execution_options(synchronize_session=False))
    return {"session": sessions, "ticket": tickets, "guest_invitation": guests,
            "resident_case": int(c.rowcount or 0), "branch_call": int(r.rowcount or 0),  # type: ignore[attr-defined]
            "appointment": int(a.rowcount or 0)}  # type: ignore[attr-defined]


async def _refresh_tokens(db: AsyncSession, cutoff: datetime, _now: datetime) -> dict[str, int]:
    """Counted from expiry: a refresh token is useless after it, kept this long only to explain a refusal."""
    r = await db.execute(delete(RefreshToken).where(RefreshToken.expires_at < cutoff))
    return {"refresh_token": int(r.rowcount or 0)}  # type: ignore[attr-defined]


async def _callbacks(db: AsyncSession, cutoff: datetime, _now: datetime) -> dict[str, int]:
    """Counted from when the task closed, or from when it was asked for if it never did: a phone number is never
    kept for ever, not even on a task nobody handled."""
    r = await db.execute(delete(Callback).where(func.coalesce(Callback.closed_at, Callback.created_at) < cutoff)
                         .execution_options(synchronize_session=False))
    return {"callback": int(r.rowcount or 0)}  # type: ignore[attr-defined]


async def _audit(db: AsyncSession, cutoff: datetime, now: datetime) -> dict[str, int]:
    done = await (await db.connection()).run_sync(purge_before, cutoff, now, "retention")
    return {"audit_event": done.rows if done is not None else 0}


# order matters: notes and feedback first, so that a session whose last record expired goes in the same run
RECORD_TYPES: dict[str, RecordType] = {r.name: r for r in (
    RecordType("note", ("note", "attachment", "form_confirmation"), _notes,
               "consultation notes and what is kept with them: document stills, forms the resident confirmed "
               "(要配慮個人情報)"),
    RecordType("feedback", ("feedback",), _feedback, "residents' ratings after a call"),
    RecordType("session", ("call_session", "ticket", "guest_invitation", "resident_case", "branch_call", "appointment"),
               _sessions,
               "call metadata: who served which branch's resident when, needs, quality, participants, guests; "
               "cases (number, name, contact) once none of their sessions is left; calls for branch staff from kiosks; "
               "appointments once closed (served, no-show, cancelled), counted from their time"),
    RecordType("refresh_token", ("refresh_token",), _refresh_tokens,
               "staff sign-ins (hashed refresh tokens, when and whose), counted from their expiry"),
    RecordType("callback", ("callback",), _callbacks,
               "callback requests: the resident's phone number, time band, outcome and note"),
    RecordType("audit", ("audit_event",), _audit, "the audit log (a purged prefix leaves a checkpoint)"),
)}

NOT_PERSONAL: dict[str, str] = {
    "municipality": "organisation", "branch": "organisation", "service": "catalogue", "kiosk": "device",
    "kiosk_health": "device states (one row per kiosk)",
    "staff": "staff accounts: kept while employed, removed by an administrator (disable, then delete)",
    "staff_skill": "staff accounts", "audit_checkpoint": "hashes and counts of purged audit rows only",
    "audit_purge_permit": "empty outside a purge transaction",
}
