"""Honest waits: position and expected wait of every queued ticket, by simulating the routing rules
forward in time (pure: views in, numbers out).

The simulation uses the same eligibility and choice as :mod:`server.queue.routing` — the service
skill, a named colleague, the preference by needs and language among those free (needs never exclude,
so they never lengthen a wait), and the tiers (own municipality first; the shared pool only once a
ticket has waited ``shared_after_s``) — so an Oketo resident whom only a Kitami specialist can serve is
told the wait until the shared pool opens, not "now". Every specialist on duty counts: a free one from
now, one who holds an offer from now (for that ticket, else after its call), one in a call after the rest
of a typical call, one in wrap-up after a typical wrap-up. Declines are ignored (they expire). Priority
orders the simulated queue as it orders routing, so a raised priority moves the estimates at once.

Appointments (issue 12 item 3): a checked-in appointment's ticket starts no sooner than its time and then goes
first (the routing order), held for its specialist until the grace ends when they are on duty; a booked slot not yet
checked in (``reserved``, within ``appointment_horizon_s``) is simulated the same way, so a walk-in is told the wait
that the appointments ahead of them will cause — but a slot is never a place in the queue (positions count tickets).

Position is the order in which tickets of one service are expected to be answered (1 = next).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from server.queue.routing import StaffView, TicketView, choose, could_ever_serve, queue_order, skips_tier

WRAP_UP_S = 60.0
MIN_RESIDUAL = 0.1  # a call already longer than typical still has this share of one left


@dataclass(frozen=True)
class OnDuty:
    staff: StaffView
    status: str  # available | offered | in_call | wrap_up
    busy_since: datetime | None = None  # call start (in_call)
    offered_ticket: int | None = None
    call_handle_s: float | None = None  # typical length of the call they are in (its service)


@dataclass(frozen=True)
class Wait:
    position: int
    wait_s: float | None  # None: nobody on duty can serve it now


def _free_in(d: OnDuty, now: datetime, handle_s: float) -> float:
    if d.status in ("available", "offered"):
        return 0.0
    if d.status == "wrap_up":
        return WRAP_UP_S
    elapsed = (now - d.busy_since).total_seconds() if d.busy_since is not None else 0.0
    return max(handle_s * MIN_RESIDUAL, handle_s - elapsed)


def _opens_in(t: TicketView, s: StaffView, now: datetime, shared_after_s: float,
              on_duty: frozenset[int] = frozenset()) -> float | None:
    """Seconds until ``s`` may take ``t`` by the tier rule (and an appointment's time); None if never."""
    due = max(0.0, (t.due_at - now).total_seconds()) if t.due_at is not None else 0.0
    if t.target_staff_id is not None:
        return due if s.id == t.target_staff_id else None
    if not could_ever_serve(t, s):
        return None
    if t.due_at is not None and t.preferred_staff_id in on_duty and t.prefer_until is not None:
        if s.id == t.preferred_staff_id:
            return due
        due = max(due, (t.prefer_until - now).total_seconds())  # held for its specialist until the grace ends
    if s.municipality_id == t.municipality_id or skips_tier(t, s):
        return due
    return max(due, shared_after_s - (now - t.arrival_at).total_seconds())


def estimate(tickets: list[TicketView], on_duty: list[OnDuty], now: datetime, shared_after_s: float,
             handle_s: dict[int, float], default_handle_s: float,
             booked: list[tuple[TicketView, float]] | None = None) -> dict[int, Wait]:
    """Expected position and wait for each ticket (waiting or offered). ``booked``: appointments not yet checked in
    (views with ``due_at`` and ids that are no ticket's) and their length in seconds, simulated as tickets but
    neither placed nor returned."""
    slots = {t.id: length_s for t, length_s in booked or []}

    def handle(t: TicketView) -> float:
        return slots.get(t.id) or handle_s.get(t.service_id, default_handle_s)

    order = sorted([*tickets, *(t for t, _ in booked or [])], key=queue_order)
    start: dict[int, float] = {}
    free_at: dict[int, float] = {}
    reserved: dict[int, int] = {}  # staff -> the ticket they hold an offer of
    for d in on_duty:
        free_at[d.staff.id] = _free_in(d, now, d.call_handle_s or default_handle_s)
        if d.status == "offered" and d.offered_ticket is not None:
            reserved[d.staff.id] = d.offered_ticket
    staff = {d.staff.id: d.staff for d in on_duty}
    idle_key = {d.staff.id: (d.staff.idle_since or datetime.min.replace(tzinfo=now.tzinfo), d.staff.id)
                for d in on_duty}
    for sid, tid in reserved.items():  # an offer being answered: that ticket is next for that specialist
        t = next((x for x in order if x.id == tid), None)
        if t is not None:
            start[tid] = 0.0
            free_at[sid] = handle(t)
    duty = frozenset(staff)
    opens = {(t.id, s.id): _opens_in(t, s, now, shared_after_s, duty) for t in order for s in staff.values()}
    pending = [t for t in order if t.id not in start]
    clock = 0.0
    while pending:
        free = sorted((s for s in staff if free_at[s] <= clock), key=lambda s: (free_at[s], idle_key[s]))
        snapshot = list(pending)
        for i, t in enumerate(snapshot):
            if not free:
                break
            ready = [staff[sid] for sid in free if (o := opens[(t.id, sid)]) is not None and o <= clock]
            chosen = choose(t, ready, snapshot[i + 1:])
            if chosen is not None:
                start[t.id] = clock
                free_at[chosen.id] = clock + handle(t)
                free.remove(chosen.id)
                pending.remove(t)
        later = [v for v in free_at.values() if v > clock]
        later += [o for t in pending for sid in staff if (o := opens[(t.id, sid)]) is not None and o > clock]
        if not later:
            break
        clock = min(later)
    out: dict[int, Wait] = {}
    by_service: dict[int, list[TicketView]] = {}
    for t in order:
        if t.id not in slots:
            by_service.setdefault(t.service_id, []).append(t)
    for group in by_service.values():
        ranked = sorted(group, key=lambda t: (start.get(t.id, math.inf), queue_order(t)))
        for i, t in enumerate(ranked):
            s = start.get(t.id)
            out[t.id] = Wait(position=i + 1, wait_s=round(s, 1) if s is not None else None)
    return out
