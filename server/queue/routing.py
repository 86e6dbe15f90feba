"""Pure routing rules: which specialist gets which waiting ticket.

Order: tickets by priority (high first) then original arrival; for each, the best-matched eligible
specialist free now. Eligible means: has the service as a skill, has not declined this ticket lately
(tickets._release_declines forgets declines after a while), and is in the resident's municipality unless
the service is shared and the ticket has waited past the shared-pool delay (the tiers). A ticket
transferred to a named colleague goes to that colleague only, whatever their skills (the colleague who
transferred chose them, and ``accept`` lets them take it).

Needs inform, never exclude (DESIGN §4). A declared need (sign language, written conversation, large
text, a supporter present) and the resident's language never make a specialist ineligible; among the
eligible specialists *free at this moment* they choose who gets the ticket (:func:`match`): first one
who has the needs that truly require a skill (:data:`REQUIRED_SKILL_NEEDS`: sign language), then one
who speaks the resident's language, then the one who covers most of the other needs, then — as before —
the one idle longest. The tiers still decide who is eligible (own municipality first, the shared pool
after ``shared_pool_after_s``), with one exception: a shared-pool specialist who has a required skill
the resident needs is eligible at once (:func:`skips_tier`).

Routing never holds a ticket back for a better-matched specialist who is busy: whoever is free and
eligible now answers, so a need never lengthens a wait and the estimate stays the tiered simulation of
:mod:`server.queue.waits`. Among equal matches, a specialist with a skill that a later waiting resident
needs is kept for them (:func:`kept_for`). A ticket whose required need the answering specialist lacks
opens as a written-conversation call (筆談; :func:`unmet_needs`, :func:`starts_written`: the ``written``
flag of ``offer`` and ``session.start``), and the specialist is told to invite an interpreter.

Continuity (issue 12 item 2): a ticket whose resident presented a case number may name the case's last
specialist (``preferred_staff_id``, set at creation when that specialist is on duty and could serve it). Until
``prefer_until`` (``MADOGUCHI_CASE_PREFER_WAIT_S`` after arrival) only they are eligible — at once when free,
whatever the tier and however long others have been idle; after it, or once they declined it, anyone eligible
(:func:`waiting_for`). This is the one rule that holds a ticket back, and only for that bounded wait.

Appointments (issue 12 item 3): an appointment's ticket (``due_at``, its start) is never offered before its time
and, from then on, ahead of every walk-in, whatever their priority (:func:`queue_order`). Its specialist, when one
was booked and is on duty, is preferred as a case's last specialist is, until ``appointment_grace_s`` after its
start (server/queue/appointments.py sets and, when they are not on duty at its time, clears the preference).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

REQUIRED_SKILL_NEEDS = frozenset({"sign_language"})  # without the skill the call needs another path (筆談)
WRITTEN_NEEDS = frozenset({"written"})


@dataclass(frozen=True)
class TicketView:
    id: int
    service_id: int
    municipality_id: int
    needs: frozenset[str]
    priority: int
    arrival_at: datetime
    shared_service: bool
    target_staff_id: int | None = None
    declined_by: frozenset[int] = field(default_factory=frozenset)
    language: str = "ja"
    preferred_staff_id: int | None = None  # the case's last specialist (continuity), or the appointment's
    prefer_until: datetime | None = None
    due_at: datetime | None = None  # an appointment's ticket: not before this, then ahead of walk-ins


@dataclass(frozen=True)
class StaffView:
    id: int
    municipality_id: int
    skills: frozenset[int]
    capabilities: frozenset[str]
    idle_since: datetime | None
    languages: frozenset[str] = frozenset({"ja"})


def queue_order(t: TicketView) -> tuple[int, int, datetime, int]:
    """Appointments first, in the order of their time; then walk-ins by priority and arrival."""
    if t.due_at is not None:
        return (0, 0, t.due_at, t.id)
    return (1, -t.priority, t.arrival_at, t.id)


def tier(t: TicketView, s: StaffView) -> str:
    return "own" if s.municipality_id == t.municipality_id else "shared"


def eligible(t: TicketView, s: StaffView, now: datetime, shared_after_s: float, *, ignore_tier: bool = False) -> bool:
    if t.due_at is not None and now < t.due_at:
        return False  # an appointment is served at its time, not before
    if s.id in t.declined_by:
        return False
    if t.target_staff_id is not None:
        return s.id == t.target_staff_id
    preferred = waiting_for(t, now)
    if preferred is not None:
        if s.id != preferred:
            return False
        ignore_tier = True  # the case's own specialist answers again, from whichever municipality
    if t.service_id not in s.skills:
        return False
    if s.municipality_id == t.municipality_id or ignore_tier:
        return True
    return t.shared_service and (skips_tier(t, s) or (now - t.arrival_at).total_seconds() >= shared_after_s)


def waiting_for(t: TicketView, now: datetime) -> int | None:
    """The case's last specialist while ``t`` still waits for them alone; None when anyone eligible may answer."""
    if t.preferred_staff_id is None or t.prefer_until is None or now >= t.prefer_until:
        return None
    return None if t.preferred_staff_id in t.declined_by else t.preferred_staff_id


def skips_tier(t: TicketView, s: StaffView) -> bool:
    """A specialist of the shared pool who has a skill the resident truly needs (sign language) may answer
    at once, without the shared-pool wait: a signing specialist of another town comes before a
    written conversation at home."""
    return bool(t.needs & REQUIRED_SKILL_NEEDS & s.capabilities)


def could_ever_serve(t: TicketView, s: StaffView) -> bool:
    """Service skill and municipality (or the shared pool) only — never the needs: used to say 'nobody on
    duty for this service' at once, to let a specialist claim a ticket, and to show it in their queue."""
    return t.service_id in s.skills and (s.municipality_id == t.municipality_id or t.shared_service)


def match(t: TicketView, s: StaffView) -> tuple[int, int, int]:
    """How well ``s`` fits ``t``'s needs and language (higher is better; compared as a tuple): the required
    skills covered, the language spoken, the other needs covered."""
    return (len(t.needs & REQUIRED_SKILL_NEEDS & s.capabilities), int(t.language in s.languages),
            len((t.needs - REQUIRED_SKILL_NEEDS) & s.capabilities))


def unmet_needs(t: TicketView, s: StaffView) -> list[str]:
    """The required-skill needs of ``t`` that ``s`` lacks (sorted): the call takes another path for them."""
    return sorted((t.needs & REQUIRED_SKILL_NEEDS) - s.capabilities)


def starts_written(t: TicketView, s: StaffView) -> bool:
    """The call opens in written-conversation mode (筆談): asked for, or a required skill is missing."""
    return bool(t.needs & WRITTEN_NEEDS) or bool(unmet_needs(t, s))


def kept_for(later: Iterable[TicketView], s: StaffView) -> int:
    """1 if ``s`` has a need-skill, or a language other than Japanese, that one of the ``later`` tickets of
    their service asks for: the tie-break that keeps a sign-language specialist for the sign-language
    resident behind a resident without needs (when everyone has it, it decides nothing)."""
    for t in later:
        foreign = t.language != "ja" and t.language in s.languages
        if t.service_id in s.skills and (t.needs & s.capabilities or foreign):
            return 1
    return 0


def choose(t: TicketView, candidates: list[StaffView], later: list[TicketView]) -> StaffView | None:
    """The best of ``candidates`` (already eligible, in idle-longest order) for ``t``: the best match; among
    equal matches one not needed by a later ticket; then the first (idle longest)."""
    if not candidates:
        return None
    best = max(match(t, s) for s in candidates)
    top = [s for s in candidates if match(t, s) == best]
    return min(top, key=lambda s: kept_for(later, s))  # min is stable: idle order within a tie


def assign(
    tickets: list[TicketView], available: list[StaffView], now: datetime, shared_after_s: float
) -> list[tuple[TicketView, StaffView]]:
    """Match waiting tickets to available specialists; each used at most once."""
    free = sorted(available, key=lambda s: (s.idle_since or datetime.min.replace(tzinfo=now.tzinfo), s.id))
    pairs: list[tuple[TicketView, StaffView]] = []
    order = sorted(tickets, key=queue_order)
    for i, t in enumerate(order):
        s = choose(t, [s for s in free if eligible(t, s, now, shared_after_s)], order[i + 1:])
        if s is not None:
            pairs.append((t, s))
            free.remove(s)
        if not free:
            break
    return pairs
