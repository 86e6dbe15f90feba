"""Notes stay with the resident's municipality: a specialist of town A (Kitami) cannot read the record of a
town-B (Bihoro) resident through any API call, however it asks; the server enforces it, not the console."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from signaling.observer import wait_for
from staff_console.services.server_api import ApiError
from tests.console.conftest import scene
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, eventually

SECRET = "秘密: 美幌町の方の相談内容 4711"


def get_routes(routes: list[Any]) -> list[str]:
    """Every GET path the server serves (routers included in routers too)."""
    out: list[str] = []
    for r in routes:
        if hasattr(r, "original_router"):
            out += get_routes(r.original_router.routes)
        elif "GET" in (getattr(r, "methods", None) or ()):
            out.append(r.path)
    return out


async def test_other_municipality_cannot_read_notes(tmp_path: Path) -> None:
    async with scene(tmp_path) as (env, windows):
        takahashi = await staff_controller(env, "takahashi", media_source="none")  # Bihoro
        sato = await staff_controller(env, "sato", media_source="none")  # Kitami specialist
        tanaka = await staff_controller(env, "tanaka", media_source="none")  # Kitami supervisor
        kiosk = await kiosk_controller(env, tmp_path, "bihoro", media_source="none")
        windows.track(kiosk, takahashi, sato, tanaka)

        # a Bihoro resident's consultation, recorded by the Bihoro specialist
        assert await takahashi.set_available()
        offer = asyncio.ensure_future(wait_for(takahashi, "offer", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment", [])
        await offer
        started = asyncio.ensure_future(wait_for(takahashi, "call_started", WAIT_S))
        assert await takahashi.accept()
        sid = (await started)["session_id"]
        assert await takahashi.hang_up()
        await eventually(lambda: takahashi.wrapup is not None, what="wrap-up")
        takahashi.update_note(category="consultation", summary=SECRET, follow_up=True, follow_up_by="高橋")
        assert await takahashi.complete_wrapup()

        # the author reads it, in the note route and in the history
        assert (await takahashi.api.read_note(sid))["summary"] == SECRET
        assert [r["note"]["summary"] for r in await takahashi.search_history()] == [SECRET]

        # a Kitami specialist: not by id, not in the history (not even asking for takahashi's), not by writing
        with pytest.raises(ApiError) as err:
            await sato.api.read_note(sid)
        assert err.value.status == 404  # 404, not 403: it does not even say the note exists
        assert await sato.search_history() == []
        assert await sato.api.history(staff_id=takahashi.me["id"]) == []
        with pytest.raises(ApiError) as err:
            await sato.api.save_note(sid, {"category": "other", "summary": "", "shared": True})
        assert err.value.status == 404
        assert (await takahashi.api.read_note(sid))["shared"] is False  # nobody could flip it to shared

        # a Kitami supervisor sees that the session happened, never what was said
        rows = await tanaka.search_history(staff_id=takahashi.me["id"])
        assert [(r["id"], r["note"]) for r in rows] == [(sid, None)]
        with pytest.raises(ApiError):
            await tanaka.api.read_note(sid)

        # every GET route of the server, with every path parameter set to this session, as the Kitami users
        # (and the IT monitor): the text never comes back
        paths = [re.sub(r"\{[^}]+\}", str(sid), p) for p in get_routes(env.app.routes)]
        assert f"/api/sessions/{sid}/note" in paths and "/api/sessions" in paths
        async with httpx.AsyncClient(base_url=env.url) as http:
            it = await http.post("/api/auth/login", json={"username": "it", "password": "madoguchi-demo"})
            tokens = {"sato": sato.api.token, "tanaka": tanaka.api.token, "it": it.json()["access_token"]}
            for who, token in tokens.items():
                for path in paths:
                    for params in ({}, {"staff_id": takahashi.me["id"]}, {"limit": 500}):
                        r = await http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
                        assert SECRET not in r.text, f"{who} read the note through GET {path} {params}"
        assert "秘密" not in repr([m for m in kiosk.visit.chat])
