"""Pure routing rules: which specialist gets which waiting ticket.

Order: tickets by priority (high first) then original arrival; for each, the
eligible available specialist who has been idle longest. Eligible means: has
the service as a skill, can serve every need, has not declined this ticket
lately (tickets._release_declines forgets declines after a while), and is in
the resident's municipality unless the service is shared and the ticket has
waited past the shared-pool delay. A ticket transferred to a named
colleague goes to that colleague only, whatever their skills (the colleague
who transferred chose them, and ``accept`` lets them take it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass(frozen=True)
class StaffView:
    id: int
    municipality_id: int
    skills: frozenset[int]
    capabilities: frozenset[str]
    idle_since: datetime | None


def queue_order(t: TicketView) -> tuple[int, datetime, int]:
    return (-t.priority, t.arrival_at, t.id)


def tier(t: TicketView, s: StaffView) -> str:
    return "own" if s.municipality_id == t.municipality_id else "shared"


def eligible(t: TicketView, s: StaffView, now: datetime, shared_after_s: float, *, ignore_tier: bool = False) -> bool:
    if s.id in t.declined_by:
        return False
    if t.target_staff_id is not None:
        return s.id == t.target_staff_id
    if t.service_id not in s.skills or not t.needs <= s.capabilities:
        return False
    if s.municipality_id == t.municipality_id or ignore_tier:
        return True
    return t.shared_service and (now - t.arrival_at).total_seconds() >= shared_after_s


def could_ever_serve(t: TicketView, s: StaffView) -> bool:
    """Skill and needs only: used to say 'nobody on duty for this' at once."""
    return t.service_id in s.skills and t.needs <= s.capabilities and (
        s.municipality_id == t.municipality_id or t.shared_service
    )


def assign(
    tickets: list[TicketView], available: list[StaffView], now: datetime, shared_after_s: float
) -> list[tuple[TicketView, StaffView]]:
    """Match waiting tickets to available specialists; each used at most once."""
    free = sorted(available, key=lambda s: (s.idle_since or datetime.min.replace(tzinfo=now.tzinfo), s.id))
    pairs: list[tuple[TicketView, StaffView]] = []
    for t in sorted(tickets, key=queue_order):
        for s in free:
            if eligible(t, s, now, shared_after_s):
                pairs.append((t, s))
                free.remove(s)
                break
        if not free:
            break
    return pairs
