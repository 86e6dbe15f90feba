"""Confirming what staff wrote (書かない窓口, issue 11 item 4): the specialist fills a form of the call's service
(definitions: server/forms/), the resident's kiosk shows it in large text, and the resident confirms it or asks
for a change. Server signaling, not the data channel: what the resident confirmed is stored with the session in the
same step that acknowledges the tap, with the server's time and the kiosk that answered.

- ``form.list``: the session's specialist reads the forms of the call's service.
- ``form.send``: the values are checked against the form (``invalid_message`` with ``details.problems``); the
  shown content (:class:`signaling.protocol.forms.FormContent`) is stored with its SHA-256 and pushed to the kiosk
  (``form.show``). Sending the same form of the session again makes a new revision (new salt, new hash), pending.
- ``form.answer``: the session's kiosk, while the call is live, names the hash it showed. Another hash (a form
  replaced since) is refused ``conflict`` (``details.reason`` ``stale``, with the current hash); an answered
  revision too (``answered``). A confirmation records ``confirmed_at`` (the step's ``now``) and the kiosk; a change
  request the fields marked and the reason. The specialist who sent it is told (``form.state``).

Audited (``form.send``, ``form.confirm``, ``form.change_request``) with ids, revision, form code and version and the
content hash — never a value. The content is read over REST by the note's readers only (routes/forms.py)."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select

from server.db.models import CallSession, FormConfirmation
from server.forms.registry import forms_in
from server.queue.errors import Conflict, Invalid, NotFound
from server.queue.step import Step
from server.queue.views import kiosk_peer, staff_peer
from signaling.principal import Principal
from signaling.protocol.forms import FormContent, FormValuesInvalid, check_values, content_hash, shown_content
from signaling.protocol.messages import FormAnswer, FormList, FormSend, FormShow, FormState
from signaling.protocol.replies import FormAnswered, FormDefs, FormSent

LOCK: dict[str, Any] = {"of": FormConfirmation}


async def _own_live_session(step: Step, staff: Principal, session_id: int) -> CallSession:
    sess = await step.db.get(CallSession, session_id)
    if sess is None or sess.staff_id != staff.principal_id:
        raise NotFound("no such session of yours")
    if sess.ended_at is not None:
        raise Conflict("the call has ended", {"reason": "ended"})
    return sess


async def list_forms(step: Step, staff: Principal, msg: FormList) -> FormDefs:
    sess = await _own_live_session(step, staff, msg.session_id)
    return FormDefs(forms=forms_in(step.settings.forms_dir).of_service(sess.service.code))


async def send(step: Step, staff: Principal, msg: FormSend) -> FormSent:
    sess = await _own_live_session(step, staff, msg.session_id)
    form = forms_in(step.settings.forms_dir).get(msg.form_code)
    if form is None or form.service != sess.service.code:
        raise NotFound(f"no form {msg.form_code} for this call's service")
    try:
        values = check_values(form, dict(msg.values))
    except FormValuesInvalid as exc:
        raise Invalid(f"the form does not fit: {exc}", {"problems": exc.problems}) from None
    row = (await step.db.execute(select(FormConfirmation).where(
        FormConfirmation.session_id == sess.id, FormConfirmation.form_code == form.code).with_for_update(**LOCK)
    )).scalar_one_or_none()
    if row is None:
        row = FormConfirmation(session_id=sess.id, municipality_id=sess.municipality_id, form_code=form.code,
                               form_version=form.version, revision=0, content={}, content_hash="",
                               sent_by_id=staff.principal_id, created_at=step.now, sent_at=step.now, changes=[])
        step.db.add(row)
        await step.db.flush()
    content = FormContent(confirmation_id=row.id, revision=row.revision + 1, session_id=sess.id,
                          salt=secrets.token_hex(16), **shown_content(form, values))
    doc = content.model_dump(mode="json")
    row.revision, row.form_version = content.revision, form.version
    row.content, row.content_hash = doc, content_hash(doc)
    row.state, row.sent_by_id, row.sent_at = "pending", staff.principal_id, step.now
    row.answered_at = row.confirmed_at = row.kiosk_id = row.change_reason = None
    row.changes = []
    step.audit(staff.peer, "form.send", f"session:{sess.id}", confirmation=row.id, form=form.code,
               version=form.version, revision=row.revision, content_hash=row.content_hash, fields=len(values))
    step.send(kiosk_peer(sess.kiosk_id), show_of(row))
    return FormSent(confirmation_id=row.id, revision=row.revision, content_hash=row.content_hash)


def show_of(row: FormConfirmation) -> FormShow:
    return FormShow(confirmation_id=row.id, session_id=row.session_id, revision=row.revision,
                    content=FormContent.model_validate(row.content), content_hash=row.content_hash)


async def answer(step: Step, kiosk: Principal, msg: FormAnswer) -> FormAnswered:
    row = await step.db.get(FormConfirmation, msg.confirmation_id, with_for_update=LOCK)
    sess = await step.db.get(CallSession, row.session_id) if row is not None else None
    if row is None or sess is None or sess.kiosk_id != kiosk.principal_id:
        raise NotFound("no such form on this kiosk")
    if sess.ended_at is not None:
        raise Conflict("the call has ended", {"reason": "ended"})
    if msg.content_hash != row.content_hash:
        raise Conflict("the form was changed since it was shown: confirm the new one",
                       {"reason": "stale", "content_hash": row.content_hash, "revision": row.revision})
    if row.state != "pending":
        raise Conflict("this form was answered already", {"reason": "answered", "state": row.state})
    shown = {f["key"] for f in row.content.get("fields", [])}
    if msg.answer == "confirm" and (msg.changes or msg.reason is not None):
        raise Invalid("a confirmation names no changes")
    if any(k not in shown for k in msg.changes):
        raise Invalid("changes name a field that is not on the form")
    row.answered_at, row.kiosk_id = step.now, kiosk.principal_id
    if msg.answer == "confirm":
        row.state, row.confirmed_at = "confirmed", step.now
        step.audit(kiosk.peer, "form.confirm", f"session:{sess.id}", confirmation=row.id, form=row.form_code,
                   version=row.form_version, revision=row.revision, content_hash=row.content_hash)
    else:
        row.state, row.changes = "change_requested", list(dict.fromkeys(msg.changes))
        row.change_reason = msg.reason or ("wrong" if msg.changes else "explain")
        step.audit(kiosk.peer, "form.change_request", f"session:{sess.id}", confirmation=row.id,
                   form=row.form_code, revision=row.revision, fields=len(row.changes), reason=row.change_reason)
    step.send(staff_peer(row.sent_by_id), state_of(row))
    return FormAnswered(confirmation_id=row.id, state=row.state, at=step.now)  # type: ignore[arg-type]


def state_of(row: FormConfirmation) -> FormState:
    assert row.answered_at is not None and row.kiosk_id is not None
    return FormState(confirmation_id=row.id, session_id=row.session_id, form_code=row.form_code,
                     revision=row.revision, state=row.state, content_hash=row.content_hash,  # type: ignore[arg-type]
                     at=row.answered_at, kiosk_id=row.kiosk_id, changes=list(row.changes),
                     reason=row.change_reason)  # type: ignore[arg-type]


async def reshow(step: Step, kiosk_peer_name: str, session_id: int) -> None:
    """A kiosk back in a live call (reconnected): the forms still waiting for its answer, shown again."""
    rows = (await step.db.execute(select(FormConfirmation).where(
        FormConfirmation.session_id == session_id, FormConfirmation.state == "pending")
        .order_by(FormConfirmation.sent_at))).scalars().all()
    for row in rows:
        step.send(kiosk_peer_name, show_of(row))

