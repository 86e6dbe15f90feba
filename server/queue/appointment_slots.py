"""Appointments as the queue sees them before anyone checks in (issue 12 item 3): each booked slot that starts within
``appointment_horizon_s`` (or started less than ``appointment_no_show_s`` ago) holds its specialist — or one who
could serve it — in the wait estimates of walk-ins (server/queue/waits.py, ``booked``). Read-only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from server.db.models import Appointment
from server.queue.routing import TicketView
from server.queue.step import Step


async def booked_slots(step: Step) -> list[tuple[TicketView, float]]:
    """Views of the booked (not yet checked-in) appointments near ``now``, with negative ids (never a ticket's),
    and their lengths in seconds."""
    s, now = step.settings, step.now
    rows = (await step.db.execute(select(Appointment).where(
        Appointment.state == "booked",
        Appointment.starts_at > now - timedelta(seconds=s.appointment_no_show_s),
        Appointment.starts_at <= now + timedelta(seconds=s.appointment_horizon_s),
    ))).scalars().unique().all()
    return [(TicketView(id=-a.id, service_id=a.service_id, municipality_id=a.municipality_id, needs=frozenset(),
                        priority=0, arrival_at=a.starts_at, shared_service=a.service.shared,
                        preferred_staff_id=a.staff_id,
                        prefer_until=a.starts_at + timedelta(seconds=s.appointment_grace_s), due_at=a.starts_at),
             a.duration_min * 60.0) for a in rows]
