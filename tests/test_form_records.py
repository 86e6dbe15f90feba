"""Confirmed forms kept with the session (issue 11 item 4), against a real server: read over REST by the note's
readers only (IT, admins and partners never; another municipality's staff not unless the note is shared), each
read audited without content; purged with the notes' period, and the session kept while a form is; the form
definitions are checked at start. SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from server.app import create_app
from server.db.models import AuditEvent, CallSession, FormConfirmation, Kiosk, Note
from server.forms.registry import FormDefinitionError, forms_in, load_forms
from server.retention.run import run_retention
from signaling.protocol.forms import FormContent, check_values, content_hash, shown_content
from tests.support import Env, finished_session, make_settings
from tests.test_partner import make_partner

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def confirmed_form(env: Env, sid: int, at: datetime | None = None) -> int:
    """A form of session ``sid`` as the queue stores it once the resident confirmed it (tests/queue/test_forms.py
    drives the queue itself)."""
    form = forms_in("").get("employment_consult")
    assert form is not None
    values = check_values(form, {"topic": "workplace", "details": "上司との面談を相談したい",
                                 "next_date": "2026-12-21"})
    async with env.ctx.maker() as db, db.begin():
        sess = await db.get(CallSession, sid)
        assert sess is not None
        when = at or sess.accepted_at
        row = FormConfirmation(session_id=sid, municipality_id=sess.municipality_id, form_code=form.code,
                               form_version=form.version, revision=1, content={}, content_hash="",
                               sent_by_id=sess.staff_id, created_at=when, sent_at=when, changes=[])
        db.add(row)
        await db.flush()
        doc = FormContent(confirmation_id=row.id, revision=1, session_id=sid, salt="00" * 16,
                          **shown_content(form, values)).model_dump(mode="json")
        row.content, row.content_hash, row.state = doc, content_hash(doc), "confirmed"
        row.answered_at = row.confirmed_at = when
        row.kiosk_id = sess.kiosk_id
        return int(row.id)


async def test_the_notes_readers_read_it_and_nobody_else(env: Env) -> None:
    sid = await finished_session(env, "bihoro", "employment", "takahashi")
    cid = await confirmed_form(env, sid)
    _, partner = await make_partner(env)
    async with httpx.AsyncClient(base_url=env.url) as http:
        async def status(token: str) -> tuple[int, int]:
            return ((await http.get(f"/api/sessions/{sid}/forms/{cid}", headers=bearer(token))).status_code,
                    (await http.get(f"/api/sessions/{sid}/forms", headers=bearer(token))).status_code)

        own = await env.issued_token("takahashi")
        r = await http.get(f"/api/sessions/{sid}/forms/{cid}", headers=bearer(own))
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["state"], body["form_code"], body["form_version"], body["branch_ja"]) == (
            "confirmed", "employment_consult", 1, "美幌町役場 窓口")
        assert body["content_hash"] == content_hash(body["content"])   # what was confirmed, verifiable
        assert [f["shown_ja"] for f in body["content"]["fields"]] == [
            "職場での困りごと", "上司との面談を相談したい", "2026年12月21日（月）"]
        async with env.ctx.maker() as db:
            kiosk = await db.get(Kiosk, body["kiosk_id"])
            assert kiosk is not None and body["kiosk_name"] == kiosk.name
        assert await status(own) == (200, 200)
        for user in ("it", "admin"):   # metadata roles never read consultation content
            assert await status(await env.issued_token(user)) == (403, 403)
        assert await status(partner) == (403, 403)
        assert await status(await env.issued_token("sato")) == (404, 404)     # Kitami: not Bihoro's record
        assert await status(await env.issued_token("tanaka")) == (404, 404)   # Kitami's supervisor neither
        async with env.ctx.maker() as db, db.begin():   # the note shared: readable as the note is
            sess = await db.get(CallSession, sid)
            assert sess is not None
            db.add(Note(session_id=sid, municipality_id=sess.municipality_id, author_id=sess.staff_id,
                        category="就労支援", shared=True))
        assert await status(await env.issued_token("sato")) == (200, 200)
        assert (await http.get(f"/api/sessions/{sid}/forms/{cid + 1000}", headers=bearer(own))).status_code == 404
    async with env.ctx.maker() as db:
        reads = (await db.execute(select(AuditEvent).where(AuditEvent.action == "form.read"))).scalars().all()
    assert reads and all(r.detail == {"forms": [cid]} for r in reads)
    assert "上司" not in json.dumps([r.detail for r in reads], ensure_ascii=False)


async def test_forms_go_with_the_notes_period_and_keep_their_session_until_then(env: Env) -> None:
    old = await finished_session(env, "bihoro", "employment", "takahashi")
    new = await finished_session(env, "bihoro", "employment", "takahashi")
    async with env.ctx.maker() as db, db.begin():   # the old call 100 days ago, the new one 10 days ago
        for sid, days in ((old, 100), (new, 10)):
            sess = await db.get(CallSession, sid)
            assert sess is not None
            sess.accepted_at = sess.ended_at = T0 - timedelta(days=days)
    await confirmed_form(env, old, T0 - timedelta(days=100))
    await confirmed_form(env, new, T0 - timedelta(days=10))
    periods = {"note": 60, "feedback": 30, "session": 90, "refresh_token": 30, "audit": 4000, "callback": 30}

    # sessions outlive their period while a form is kept with them (a longer note period is honoured)
    counts = await run_retention(env.ctx.maker, {**periods, "note": 365}, T0)
    assert counts["form_confirmation"] == 0 and counts["session"] == 0
    counts = await run_retention(env.ctx.maker, periods, T0)
    assert counts["form_confirmation"] == 1 and counts["session"] == 1
    async with env.ctx.maker() as db:
        left = (await db.execute(select(FormConfirmation.session_id))).scalars().all()
        sessions = (await db.execute(select(func.count()).select_from(CallSession))).scalar_one()
        purge = (await db.execute(select(AuditEvent).where(AuditEvent.action == "retention.purged",
                                                           AuditEvent.subject == "note"))).scalars().all()
    assert left == [new] and sessions == 1
    assert purge[-1].detail["form_confirmation"] == 1


def test_a_broken_definition_stops_the_server_at_start_saying_where(tmp_path: Path) -> None:
    good = {"code": "x_form", "version": 1, "title_ja": "相談", "title_en": "Consultation",
            "fields": [{"key": "topic", "label_ja": "内容", "label_en": "Topic", "type": "text"}]}
    cases = {
        "typo": ({"service": "x", "forms": [{**good, "fileds": []}]}, "unknown key(s) ['fileds']"),
        "choice without choices": ({"service": "x", "forms": [{**good, "fields": [
            {"key": "a", "label_ja": "あ", "label_en": "A", "type": "choice"}]}]}, "a choice field needs choices"),
        "unknown type": ({"service": "x", "forms": [{**good, "fields": [
            {"key": "a", "label_ja": "あ", "label_en": "A", "type": "colour"}]}]}, "fields.0.type"),
        "keys repeat": ({"service": "x", "forms": [{**good, "fields": good["fields"] * 2}]}, "field keys repeat"),
        "not its file": ({"service": "y", "forms": [good]}, "is not the file's name"),
        "no label": ({"service": "x", "forms": [{**good, "fields": [
            {"key": "a", "label_ja": "", "label_en": "A", "type": "text"}]}]}, "label_ja"),
    }
    for what, (data, words) in cases.items():
        folder = tmp_path / what.replace(" ", "_")
        folder.mkdir()
        (folder / "x.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
        with pytest.raises(FormDefinitionError, match=words.replace("[", r"\[").replace("]", r"\]").replace(
                "(", r"\(").replace(")", r"\)")):
            load_forms(folder)
        with pytest.raises(FormDefinitionError):   # the server refuses to start with it
            create_app(make_settings(tmp_path, forms_dir=str(folder)))
    twice = tmp_path / "twice"
    twice.mkdir()
    for name in ("x", "z"):
        (twice / f"{name}.json").write_text(json.dumps({"service": name, "forms": [good]}), "utf-8")
    with pytest.raises(FormDefinitionError, match="used more than once"):
        load_forms(twice)
    assert [f.code for f in forms_in("").forms] == ["disability_consult", "employment_consult",
                                                    "guardianship_consult"]
