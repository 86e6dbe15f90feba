"""Priority: a specialist (for a ticket of their queue) or a supervisor (any) sets how urgently a waiting
resident is answered. Routing and the estimates order by priority, then arrival (server/queue/routing.py),
so the change reorders the queue and every kiosk's position and wait at once (``outbox.requeue``). Each
change is audited with its old and new value."""

from __future__ import annotations

from server.db.models import Staff, Ticket
from server.queue import states
from server.queue.errors import Conflict, Forbidden, NotFound
from server.queue.routing import could_ever_serve
from server.queue.step import Step
from server.queue.views import CALL_ROLES, LOCK_TICKET, staff_view, ticket_view
from signaling.principal import Principal
from signaling.protocol.messages import TicketPriority
from signaling.protocol.replies import PriorityChanged


async def set_priority(step: Step, staff: Principal, msg: TicketPriority) -> PriorityChanged:
    me = await step.db.get(Staff, staff.principal_id)
    if me is None or me.role not in CALL_ROLES:
        raise Forbidden("only specialists and supervisors set a ticket's priority")
    t = await step.db.get(Ticket, msg.ticket_id, with_for_update=LOCK_TICKET)
    if t is None or (me.role != "supervisor" and not could_ever_serve(ticket_view(t), staff_view(me))):
        raise NotFound("no such ticket in your queue")  # a specialist sees (and sets) only their queue
    if t.state not in states.QUEUED:
        raise Conflict(f"ticket is {t.state}; only a waiting ticket's priority can be set")
    if t.priority != msg.priority:
        step.audit(staff.peer, "ticket.priority", f"ticket:{t.id}", before=t.priority, after=msg.priority)
        t.priority = msg.priority
        step.outbox.requeue = True  # route again, then the consoles' queues and the kiosks' places follow
    return PriorityChanged(ticket_id=t.id, priority=t.priority)
