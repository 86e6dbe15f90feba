"""Confirming what staff wrote (issue 11 item 4) — the queue alone on the manual clock: the specialist's form is
checked, stored with its hash and shown on the session's kiosk; the resident's confirmation is stored with the
server's time and the kiosk in the step that acknowledges it; a change request names the fields; a tap on a
replaced form is refused; audited without content. Whole outboxes asserted, reply first. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db.models import AuditEvent, FormConfirmation
from server.queue import calls, forms, tickets
from server.queue.errors import Conflict, Invalid, NotFound
from signaling.principal import Principal
from signaling.protocol.forms import FormContent, canonical_json, content_hash
from signaling.protocol.messages import (
    FormAnswer,
    FormList,
    FormSend,
    FormShow,
    FormState,
    SessionEnd,
    TicketCreate,
)
from signaling.protocol.replies import FormAnswered, FormDefs, FormSent
from tests.queue.test_engine import SETTINGS
from tests.queue.world import T0, World, world

FILLED = {"topic": "job_search", "hours": "２０", "documents": ["hellowork", "resume"],
          "next_date": "2026-12-14", "contact": "0152-72-1111", "details": "週3日、午前中を希望"}


@pytest.fixture
async def w(tmp_path: Path, backend: str):  # type: ignore[no-untyped-def]
    async with world(tmp_path, backend, **SETTINGS) as w:
        yield w


async def in_call(w: World) -> tuple[Principal, Principal, int]:
    """Takahashi (Bihoro, employment) in a call with a resident at a Bihoro kiosk: (staff, kiosk, session id)."""
    takahashi = await w.staff("takahashi", available=True)
    kiosk = await w.kiosk("bihoro")
    created = await w.run(tickets.create_ticket, kiosk, TicketCreate(service_code="employment"))
    accepted = await w.run(tickets.accept, takahashi, created.ticket_id)
    w.take()
    return takahashi, kiosk, accepted.session_id


async def rows(w: World) -> list[FormConfirmation]:
    async with w.engine.maker() as db:
        return list((await db.execute(select(FormConfirmation))).scalars().all())


async def audit_rows(w: World) -> list[AuditEvent]:
    async with w.engine.maker() as db:
        return list((await db.execute(select(AuditEvent).where(AuditEvent.action.like("form.%"))
                                      .order_by(AuditEvent.seq))).scalars().all())


async def test_the_resident_confirms_what_was_shown_and_it_is_stored_with_time_and_kiosk(w: World) -> None:
    takahashi, kiosk, sid = await in_call(w)
    defs = await w.run(forms.list_forms, takahashi, FormList(session_id=sid))
    assert isinstance(defs, FormDefs) and [f.code for f in defs.forms] == ["employment_consult"]
    w.take()

    sent = await w.run(forms.send, takahashi, FormSend(session_id=sid, form_code="employment_consult",
                                                      values=FILLED))
    assert isinstance(sent, FormSent) and sent.revision == 1
    msgs = w.take_msgs()
    assert [(p, type(m).__name__) for p, m in msgs] == [(takahashi.peer, "FormSent"), (kiosk.peer, "FormShow")]
    show = msgs[1][1]
    assert isinstance(show, FormShow)
    assert (show.confirmation_id, show.session_id, show.content_hash) == (sent.confirmation_id, sid, sent.content_hash)
    shown = {f.key: (f.label_ja, f.shown_ja, f.shown_en) for f in show.content.fields}
    assert shown == {
        "topic": ("相談の内容", "仕事さがし", "Finding a job"),
        "hours": ("希望する勤務時間（週）", "20時間", "20 hours"),
        "details": ("くわしい内容", "週3日、午前中を希望", "週3日、午前中を希望"),
        "documents": ("必要な書類", "履歴書、ハローワークカード", "CV (rirekisho), Hello Work card"),
        "next_date": ("次回の予定日", "2026年12月14日（月）", "Mon 14 Dec 2026"),
        "contact": ("連絡先", "0152-72-1111", "0152-72-1111"),
    }
    # the hash is the SHA-256 of the canonical JSON of exactly what the kiosk shows (and what is stored)
    doc = show.content.model_dump(mode="json")
    assert show.content_hash == content_hash(doc)
    (row,) = await rows(w)
    assert row.content == doc and row.content_hash == show.content_hash and row.state == "pending"
    assert json.loads(canonical_json(row.content)) == doc

    w.clock.advance(42)
    answered = await w.run(forms.answer, kiosk, FormAnswer(confirmation_id=sent.confirmation_id,
                                                          content_hash=show.content_hash, answer="confirm"))
    assert answered == FormAnswered(confirmation_id=sent.confirmation_id, state="confirmed",
                                    at=T0.replace(second=42))
    msgs = w.take_msgs()
    assert [(p, type(m).__name__) for p, m in msgs] == [(kiosk.peer, "FormAnswered"), (takahashi.peer, "FormState")]
    state = msgs[1][1]
    assert isinstance(state, FormState)
    assert (state.state, state.kiosk_id, state.at, state.content_hash, state.revision) == (
        "confirmed", kiosk.principal_id, T0.replace(second=42), show.content_hash, 1)
    (row,) = await rows(w)
    assert (row.state, row.confirmed_at, row.kiosk_id, row.form_version) == (
        "confirmed", T0.replace(second=42), kiosk.principal_id, 1)

    with pytest.raises(Conflict) as again:   # one answer per revision
        await w.run(forms.answer, kiosk, FormAnswer(confirmation_id=sent.confirmation_id,
                                                   content_hash=show.content_hash, answer="confirm"))
    assert again.value.details["reason"] == "answered"

    # audited with ids, form, revision and hash: no value of the form, in any row
    events = await audit_rows(w)
    assert [(e.actor, e.action, e.subject) for e in events] == [
        (takahashi.peer, "form.send", f"session:{sid}"), (kiosk.peer, "form.confirm", f"session:{sid}")]
    assert events[1].detail == {"confirmation": sent.confirmation_id, "form": "employment_consult", "version": 1,
                                "revision": 1, "content_hash": show.content_hash}
    # (the hash is hex and may hold "20" by chance: everything but the hash is checked)
    dumped = json.dumps([{k: v for k, v in e.detail.items() if k != "content_hash"} for e in events],
                        ensure_ascii=False)
    for f in show.content.fields:
        assert f.shown_ja not in dumped and json.dumps(f.value, ensure_ascii=False).strip('"') not in dumped


async def test_a_change_request_names_the_fields_and_an_edit_makes_the_old_tap_stale(w: World) -> None:
    takahashi, kiosk, sid = await in_call(w)
    first = await w.run(forms.send, takahashi, FormSend(session_id=sid, form_code="employment_consult",
                                                       values=FILLED))
    w.take()
    with pytest.raises(Invalid):   # only fields on the form may be marked
        await w.run(forms.answer, kiosk, FormAnswer(confirmation_id=first.confirmation_id,
                                                   content_hash=first.content_hash, answer="change",
                                                   changes=["nope"]))
    change = await w.run(forms.answer, kiosk, FormAnswer(
        confirmation_id=first.confirmation_id, content_hash=first.content_hash, answer="change",
        changes=["next_date", "hours"], reason="wrong"))
    assert change.state == "change_requested"
    msgs = w.take_msgs()
    state = msgs[1][1]
    assert isinstance(state, FormState)
    assert (state.state, state.changes, state.reason) == ("change_requested", ["next_date", "hours"], "wrong")

    # the specialist corrects the date and sends again: a new revision, a new hash, pending again
    second = await w.run(forms.send, takahashi, FormSend(session_id=sid, form_code="employment_consult",
                                                        values={**FILLED, "next_date": "2026-12-21",
                                                                "hours": "15"}))
    assert (second.confirmation_id, second.revision) == (first.confirmation_id, 2)
    assert second.content_hash != first.content_hash
    show = w.take_msgs()[1][1]
    assert isinstance(show, FormShow) and show.revision == 2
    (row,) = await rows(w)
    assert (row.state, row.changes, row.change_reason, row.answered_at) == ("pending", [], None, None)

    # a tap on what was shown before the edit cannot confirm the new content
    with pytest.raises(Conflict) as stale:
        await w.run(forms.answer, kiosk, FormAnswer(confirmation_id=first.confirmation_id,
                                                   content_hash=first.content_hash, answer="confirm"))
    assert stale.value.details == {"reason": "stale", "content_hash": second.content_hash, "revision": 2}
    assert w.take() == []
    (row,) = await rows(w)
    assert row.state == "pending" and row.confirmed_at is None

    ok = await w.run(forms.answer, kiosk, FormAnswer(confirmation_id=first.confirmation_id,
                                                    content_hash=second.content_hash, answer="confirm"))
    assert ok.state == "confirmed"
    events = await audit_rows(w)
    assert [e.action for e in events] == ["form.send", "form.change_request", "form.send", "form.confirm"]
    assert events[1].detail == {"confirmation": first.confirmation_id, "form": "employment_consult", "revision": 1,
                                "fields": 2, "reason": "wrong"}


async def test_only_the_calls_specialist_sends_and_only_its_kiosk_answers_while_it_lasts(w: World) -> None:
    takahashi, kiosk, sid = await in_call(w)
    sato = await w.staff("sato")
    other_kiosk = await w.kiosk("bihoro")
    with pytest.raises(NotFound):
        await w.run(forms.send, sato, FormSend(session_id=sid, form_code="employment_consult", values=FILLED))
    with pytest.raises(NotFound):   # another service's form
        await w.run(forms.send, takahashi, FormSend(session_id=sid, form_code="disability_consult",
                                                   values={"topic": "other"}))
    with pytest.raises(Invalid) as bad:   # every problem at once, as codes per field
        await w.run(forms.send, takahashi, FormSend(session_id=sid, form_code="employment_consult", values={
            "hours": "99", "next_date": "2026-02-30", "contact": "123", "documents": ["passport"], "extra": "x"}))
    assert bad.value.details["problems"] == {"extra": "unknown_field", "topic": "required", "hours": "too_large",
                                             "documents": "not_a_choice", "next_date": "not_a_date",
                                             "contact": "not_a_phone"}
    assert await rows(w) == []
    sent = await w.run(forms.send, takahashi, FormSend(session_id=sid, form_code="employment_consult",
                                                      values=FILLED))
    w.take()
    with pytest.raises(NotFound):
        await w.run(forms.answer, other_kiosk, FormAnswer(confirmation_id=sent.confirmation_id,
                                                         content_hash=sent.content_hash, answer="confirm"))
    with pytest.raises(Invalid):
        await w.run(forms.answer, kiosk, FormAnswer(confirmation_id=sent.confirmation_id,
                                                   content_hash=sent.content_hash, answer="confirm",
                                                   changes=["hours"]))
    await w.run(calls.end_session, takahashi, SessionEnd(session_id=sid))
    with pytest.raises(Conflict) as ended:
        await w.run(forms.answer, kiosk, FormAnswer(confirmation_id=sent.confirmation_id,
                                                   content_hash=sent.content_hash, answer="confirm"))
    assert ended.value.details["reason"] == "ended"
    with pytest.raises(Conflict):
        await w.run(forms.send, takahashi, FormSend(session_id=sid, form_code="employment_consult", values=FILLED))


async def test_a_kiosk_back_in_the_call_is_shown_the_form_still_waiting(w: World) -> None:
    takahashi, kiosk, sid = await in_call(w)
    sent = await w.run(forms.send, takahashi, FormSend(session_id=sid, form_code="employment_consult",
                                                      values=FILLED))
    w.take()
    await w.disconnect(kiosk)
    await w.connect(kiosk, resumed=True)
    msgs = [(p, m) for p, m in w.take_msgs() if p == kiosk.peer]
    assert [type(m).__name__ for _, m in msgs][-2:] == ["SessionStart", "FormShow"]
    show = msgs[-1][1]
    assert isinstance(show, FormShow) and show.content_hash == sent.content_hash
    assert isinstance(show.content, FormContent)
