"""「支所の職員を呼ぶ」 (issue 12 item 6): a resident at a kiosk calls a person at the branch — someone to help with the
screen, a form, a ride home — without leaving the queue at headquarters (no ticket is touched).

Who is told: the staff of the municipality that owns the branch — specialists and supervisors — who are connected
now (their console is open). The first to answer ``branch.ack`` ("I am coming") is recorded and the kiosk shows
「職員が来ます」; the others' notices are put away. Nobody connected: the kiosk is told that nobody could be
reached (``recipients: 0``) and asks the resident to speak to the counter.

No spamming: pressing again while the kiosk's last call is open and younger than ``branch_call_min_interval_s``
tells nobody again (``repeated``); an answered call may be followed by a new one only after that interval
(``conflict`` with ``retry_after_s``); an open call older than it may be rung again. Calls and answers are audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.db.models import BranchCall as BranchCallRow
from server.db.models import Kiosk, Staff
from server.queue.errors import Conflict, Forbidden, NotFound
from server.queue.step import Step
from server.queue.views import CALL_ROLES, kiosk_peer, staff_peer
from signaling.principal import Principal
from signaling.protocol.messages import BranchAck, BranchCall, BranchCalled, BranchCallState
from signaling.protocol.replies import BranchCallAcked, BranchCallPlaced

LOCK: dict[str, Any] = {"of": BranchCallRow}


async def call(step: Step, kiosk: Principal, msg: BranchCall) -> BranchCallPlaced:
    db, now, gap = step.db, step.now, step.settings.branch_call_min_interval_s
    last = (await db.execute(select(BranchCallRow).where(BranchCallRow.kiosk_id == kiosk.principal_id)
                             .order_by(BranchCallRow.id.desc()).limit(1).with_for_update(of=BranchCallRow))).scalar_one_or_none()
    since = (now - last.created_at).total_seconds() if last is not None else None
    if last is not None and since is not None and since < gap:
        if last.acked_at is None:
            return BranchCallPlaced(call_id=last.id, recipients=len(last.recipients), repeated=True)
        raise Conflict("staff are already on their way; call again a little later",
                       {"retry_after_s": round(gap - since, 1)})
    k = await db.get(Kiosk, kiosk.principal_id)
    assert k is not None
    municipality_id = k.branch.municipality_id
    staff = (await db.execute(select(Staff).where(
        Staff.municipality_id == municipality_id, Staff.active, Staff.role.in_(CALL_ROLES)).order_by(Staff.id)
    )).scalars().unique().all()
    told = [s.id for s in staff if step.presence.is_connected(staff_peer(s.id))]
    row = BranchCallRow(kiosk_id=k.id, branch_id=k.branch_id, municipality_id=municipality_id, created_at=now,
                        recipients=told)
    db.add(row)
    await db.flush()
    step.audit(kiosk.peer, "branch.call", f"branch_call:{row.id}", recipients=len(told))
    for sid in told:
        step.send(staff_peer(sid), BranchCalled(call_id=row.id, kiosk_id=k.id, branch=k.branch.name_ja,
                                                municipality=k.branch.municipality.name_ja, at=now))
    return BranchCallPlaced(call_id=row.id, recipients=len(told))


async def ack(step: Step, staff: Principal, msg: BranchAck) -> BranchCallAcked:
    me = await step.db.get(Staff, staff.principal_id)
    if me is None or me.role not in CALL_ROLES:
        raise Forbidden("only specialists and supervisors answer a branch call")
    row = await step.db.get(BranchCallRow, msg.call_id, with_for_update=LOCK)
    if row is None or row.municipality_id != me.municipality_id:
        raise NotFound("no such call from a branch of your municipality")
    if row.acked_at is not None:
        raise Conflict("a colleague already answered this call")
    row.acked_at, row.acked_by_id = step.now, me.id
    step.audit(staff.peer, "branch.ack", f"branch_call:{row.id}")
    done = BranchCallState(call_id=row.id)
    step.send(kiosk_peer(row.kiosk_id), done)
    for sid in row.recipients:
        if sid != me.id:
            step.send(staff_peer(sid), done)
    return BranchCallAcked(call_id=row.id)
