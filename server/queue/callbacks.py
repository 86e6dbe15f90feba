"""Callbacks (折り返し電話, issue 12 item 4): a resident who would wait too long, or finds nobody on duty, leaves a
phone number and a time band at the kiosk; it becomes a task that the specialists of the service in the
resident's municipality see, claim (one winner) and close with an outcome. ``no_answer`` puts the task back in
the list until ``callback_max_attempts``.

The number is personal data of the resident's municipality: a task is shown (with its number) only to
specialists and supervisors of that municipality — specialists for their services, supervisors for all — never
to another municipality (the wide-area pool does not apply), the IT monitor (counts only) or partners. Claims and
outcomes are audited without the number or the note."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update

from server.db.models import Callback, Kiosk, Service, Staff
from server.languages import check_language
from server.queue.callback_bands import band_at, find_band, offered_bands
from server.queue.errors import Conflict, Forbidden, Invalid, NotFound
from server.queue.step import Step
from server.queue.tickets import cancel_ticket
from server.queue.views import CALL_ROLES, staff_peer
from signaling.principal import Principal
from signaling.protocol.messages import (
    CallbackBands,
    CallbackClaim,
    CallbackCreate,
    CallbackOutcomeSet,
    CallbackSnapshot,
)
from signaling.protocol.models import JST, CallbackItem
from signaling.protocol.replies import CallbackBandList, CallbackCreated, CallbackTask, CallbackTasks

OPEN_STATES = ("open", "claimed")
LOCK_CALLBACK = {"of": Callback}


async def bands(step: Step, kiosk: Principal, msg: CallbackBands) -> CallbackBandList:
    await _service(step, msg.service_code)
    return CallbackBandList(bands=offered_bands(step.settings, step.now))


async def create(step: Step, kiosk: Principal, msg: CallbackCreate) -> CallbackCreated:
    db, now = step.db, step.now
    check_language(step.settings, msg.language)
    service = await _service(step, msg.service_code)
    band = find_band(step.settings, now, msg.band)
    if band is None:
        raise Invalid("that time band is not offered now: ask for the bands again",
                      {"bands": [b.model_dump(mode="json") for b in offered_bands(step.settings, now)]})
    cancelled = None
    if msg.ticket_id is not None:  # in this step: the resident leaves the queue only if the callback is recorded
        cancelled = (await cancel_ticket(step, kiosk, msg.ticket_id)).ticket_id
    k = await db.get(Kiosk, kiosk.principal_id)
    assert k is not None
    cb = Callback(kiosk_id=k.id, branch_id=k.branch_id, municipality_id=k.branch.municipality_id,
                  service_id=service.id, service=service, phone=msg.phone, language=msg.language,
                  band_part=band.part, band_starts_at=band.starts_at, band_ends_at=band.ends_at,
                  state="open", attempts=0, note="", created_at=now)
    db.add(cb)
    await db.flush()
    step.audit(kiosk.peer, "callback.create", f"callback:{cb.id}", service=service.code,
               band=f"{band.day.isoformat()} {band.part}", ticket_cancelled=cancelled)
    await push_callbacks(step, cb.municipality_id)
    return CallbackCreated(callback_id=cb.id, band=band, ticket_cancelled=cancelled)


async def list_tasks(step: Step, staff: Principal) -> CallbackTasks:
    me = await _handler(step, staff)
    return CallbackTasks(items=[item_of(cb, step) for cb in await _visible(step, me)])


async def claim(step: Step, staff: Principal, msg: CallbackClaim) -> CallbackTask:
    me = await _handler(step, staff)
    cb = await _task(step, me, msg.callback_id)
    result = await step.db.execute(
        update(Callback).where(Callback.id == cb.id, Callback.state == "open")
        .values(state="claimed", claimed_by_id=me.id, claimed_at=step.now)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("this callback was already claimed or closed")
    await step.db.refresh(cb)
    step.audit(staff.peer, "callback.claim", f"callback:{cb.id}", attempts=cb.attempts)
    await push_callbacks(step, cb.municipality_id)
    return CallbackTask(item=item_of(cb, step))


async def record_outcome(step: Step, staff: Principal, msg: CallbackOutcomeSet) -> CallbackTask:
    me = await _handler(step, staff)
    cb = await _task(step, me, msg.callback_id, lock=True)
    if cb.state != "claimed" or cb.claimed_by_id != me.id:
        raise Conflict("claim this callback first" if cb.state == "open" else
                       f"this callback is {cb.state} by someone else" if cb.state == "claimed" else "already closed")
    cb.outcome, cb.note = msg.outcome, msg.note
    if msg.outcome == "no_answer":
        cb.attempts += 1
    if msg.outcome == "no_answer" and cb.attempts < step.settings.callback_max_attempts:
        cb.state, cb.claimed_by_id, cb.claimed_by, cb.claimed_at = "open", None, None, None  # another try
    else:
        cb.state, cb.closed_at = "done", step.now
    step.audit(staff.peer, "callback.outcome", f"callback:{cb.id}", outcome=msg.outcome, attempts=cb.attempts,
               state=cb.state)
    await step.db.flush()
    await push_callbacks(step, cb.municipality_id)
    return CallbackTask(item=item_of(cb, step))


# ------------------------------------------------------------ who sees what
def may_handle(cb: Callback, s: Staff) -> bool:
    """Staff of the resident's municipality: specialists with the service, supervisors with any."""
    return (s.active and s.role in CALL_ROLES and s.municipality_id == cb.municipality_id
            and (s.role == "supervisor" or any(sk.id == cb.service_id for sk in s.skills)))


async def push_callbacks(step: Step, municipality_id: int) -> None:
    """Each connected specialist or supervisor of the municipality: the tasks they may handle, after a change."""
    staff = (await step.db.execute(select(Staff).where(
        Staff.municipality_id == municipality_id, Staff.active, Staff.role.in_(CALL_ROLES)).order_by(Staff.id)
    )).scalars().unique().all()
    tasks = await _open(step, municipality_id)
    for s in staff:
        if step.presence.is_connected(staff_peer(s.id)):
            items = [item_of(cb, step) for cb in tasks if may_handle(cb, s)]
            step.send(staff_peer(s.id), CallbackSnapshot(items=items))


def item_of(cb: Callback, step: Step) -> CallbackItem:
    band = band_at(cb.band_starts_at.astimezone(JST).date(), cb.band_part, step.settings, step.now)  # type: ignore[arg-type]
    band = band.model_copy(update={"starts_at": cb.band_starts_at, "ends_at": cb.band_ends_at})  # as recorded
    return CallbackItem(
        callback_id=cb.id, service_code=cb.service.code, branch=cb.branch.name_ja,
        municipality=cb.branch.municipality.name_ja, phone=cb.phone, language=cb.language, band=band,
        state=cb.state,  # type: ignore[arg-type]
        attempts=cb.attempts, claimed_by=cb.claimed_by_id,
        claimed_by_name=cb.claimed_by.display_name if cb.claimed_by is not None else "",
        outcome=cb.outcome, note=cb.note, created_at=cb.created_at)  # type: ignore[arg-type]


async def _service(step: Step, code: str) -> Service:
    service = (await step.db.execute(select(Service).where(Service.code == code))).scalar_one_or_none()
    if service is None:
        raise NotFound(f"unknown service {code!r}")
    return service


async def _handler(step: Step, staff: Principal) -> Staff:
    me = await step.db.get(Staff, staff.principal_id)
    if me is None or me.role not in CALL_ROLES:
        raise Forbidden("only specialists and supervisors handle callbacks")
    return me


async def _task(step: Step, me: Staff, callback_id: int, lock: bool = False) -> Callback:
    cb = await step.db.get(Callback, callback_id, with_for_update=LOCK_CALLBACK if lock else None)
    if cb is None or not may_handle(cb, me):
        raise NotFound("no such callback task in your list")  # another municipality's number is not even named
    return cb


async def _open(step: Step, municipality_id: int) -> Sequence[Callback]:
    return (await step.db.execute(
        select(Callback).where(Callback.municipality_id == municipality_id, Callback.state.in_(OPEN_STATES))
        .order_by(Callback.band_starts_at, Callback.created_at, Callback.id))).scalars().unique().all()


async def _visible(step: Step, me: Staff) -> list[Callback]:
    return [cb for cb in await _open(step, me.municipality_id) if may_handle(cb, me)]
