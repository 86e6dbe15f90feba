"""Prints at the branch recorded with the session (server/api/routes/prints.py): the session's own specialist
records metadata and the result; anything else is refused, and nothing but metadata is kept (audit log)."""

from __future__ import annotations

import hashlib

import httpx
from sqlalchemy import select

from server.db.models import AuditEvent
from tests.support import Env, finished_session


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


RECORD = {"name": "利用申請書", "pages": 3, "size": 24576, "sha256": hashlib.sha256(b"pdf").hexdigest(),
          "result": "paper_out", "reason": "media-empty-error"}


async def test_a_print_is_recorded_by_the_sessions_specialist_only(env: Env) -> None:
    sid = await finished_session(env, "bihoro", "employment", "takahashi")
    async with httpx.AsyncClient(base_url=env.url) as http:
        own = bearer(await env.staff_token("takahashi"))
        r = await http.post(f"/api/sessions/{sid}/prints", json=RECORD, headers=own)
        assert r.status_code == 201, r.text
        assert r.json() == {"session_id": sid, "result": "paper_out"}
        other = bearer(await env.staff_token("sato"))  # another specialist
        assert (await http.post(f"/api/sessions/{sid}/prints", json=RECORD, headers=other)).status_code == 404
        it = bearer(await env.staff_token("it"))  # the IT monitor has no business here
        assert (await http.post(f"/api/sessions/{sid}/prints", json=RECORD, headers=it)).status_code == 403
        assert (await http.post(f"/api/sessions/{sid}/prints", json=RECORD)).status_code == 401
        for bad in ({"result": "maybe"}, {"sha256": "xyz"}, {"size": 0}, {"pages": 0}, {"reason": "has space"},
                    {"content": "JVBERi0="}):  # unknown fields too: the content is never accepted
            r = await http.post(f"/api/sessions/{sid}/prints", json={**RECORD, **bad}, headers=own)
            assert r.status_code == 422, bad
    async with env.ctx.maker() as db:
        rows = (await db.execute(select(AuditEvent.actor, AuditEvent.subject, AuditEvent.detail)
                                 .where(AuditEvent.action == "print.branch"))).all()
    assert len(rows) == 1
    actor, subject, detail = rows[0]
    assert subject == f"session:{sid}" and actor.startswith("staff:")
    assert {k: detail[k] for k in RECORD} == RECORD
