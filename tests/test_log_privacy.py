"""No note text, chat, SDP, password, password hash or token in the server's log at any level (issue 10, hole 6).

A real server process runs at DEBUG as an operator would start it (``madoguchi server``), a kiosk and a console
(real controllers, real aiortc media) go through a call with chat both ways, the specialist writes a note
with planted canaries, and the captured log is scanned for every one of them.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx

from server.admin_ops import create_enrollment
from server.db.seed import DEMO_PASSWORD
from server.db.session import make_engine, make_sessionmaker
from signaling.observer import wait_for
from tests.cluster_support import seeded_settings
from tests.integration.calls import kiosk_controller, staff_controller
from tests.server_process import ServerProcess
from tests.support import WAIT_S, eventually

NOTE = "障害年金の申請について相談 NOTE-CANARY-5521"
REFERRAL = "北見市障害者相談支援センター REFERRAL-CANARY-88"
CHAT_STAFF = "聞こえますか CHAT-CANARY-STAFF-13"
CHAT_RESIDENT = "はい、聞こえます CHAT-CANARY-KIOSK-29"
SDP = ("a=fingerprint", "a=ice-ufrag", "a=ice-pwd", "m=audio", "m=video", "v=0\\r\\n")
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


class ProcessEnv:
    """What tests.integration.calls needs of a server: its URL, kiosk enrollment and the parts to stop."""

    def __init__(self, srv: ServerProcess, database_url: str) -> None:
        self.url = srv.url
        self.database_url = database_url
        self.parts: list[Any] = []

    def track(self, part: Any) -> None:
        self.parts.append(part)

    async def enroll_kiosk(self, branch: str = "bihoro") -> tuple[int, str]:
        engine = make_engine(self.database_url)
        try:
            async with make_sessionmaker(engine)() as db, db.begin():
                kid, code = await create_enrollment(db, branch, "", "test")
        finally:
            await engine.dispose()
        async with httpx.AsyncClient(base_url=self.url) as http:
            r = await http.post("/api/kiosk/enroll", json={"kiosk_id": kid, "code": code})
            r.raise_for_status()
            return kid, str(r.json()["secret"])


async def test_debug_log_carries_no_content_or_secret(tmp_path: Path) -> None:
    settings = await seeded_settings(tmp_path)
    with ServerProcess(settings, tmp_path, MADOGUCHI_LOG_LEVEL="DEBUG") as srv:
        await srv.ready()
        env = ProcessEnv(srv, settings.database_url)
        try:
            console = await staff_controller(env, "takahashi")  # type: ignore[arg-type]
            kiosk = await kiosk_controller(env, tmp_path, "bihoro")  # type: ignore[arg-type]
            assert await console.set_available()
            offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
            kiosk.begin()
            assert await kiosk.request_service("employment", ["written"])
            await offer
            started = asyncio.ensure_future(wait_for(kiosk, "call_started", WAIT_S))
            connected = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S,
                                                       lambda d: d["status"] == "connected"))
            assert await console.accept()
            await started
            await connected
            await eventually(lambda: kiosk.mesh is not None and kiosk.mesh.link() is not None
                             and kiosk.mesh.link().call.video_frames_received > 5,  # type: ignore[union-attr]
                             what="media at the kiosk")
            k_chat = asyncio.ensure_future(wait_for(kiosk, "chat", WAIT_S, lambda d: d["who"] != "me"))
            c_chat = asyncio.ensure_future(wait_for(console, "chat", WAIT_S, lambda d: d["who"] != "me"))
            assert console.send_chat(CHAT_STAFF) and kiosk.send_chat(CHAT_RESIDENT)
            await k_chat
            await c_chat
            ended = asyncio.ensure_future(wait_for(console, "call_ended", WAIT_S))
            await kiosk.hang_up()
            await ended
            assert await console.save_note("就労支援", NOTE, follow_up=True, follow_up_by="高橋",
                                           referral_org=REFERRAL)
            assert await console.finish_wrapup()
            assert await kiosk.submit_feedback(5, True)
            secrets = [NOTE, "NOTE-CANARY", REFERRAL, "REFERRAL-CANARY", CHAT_STAFF, CHAT_RESIDENT, "CHAT-CANARY",
                       DEMO_PASSWORD, "$argon2", kiosk.credential.secret, str(console.api.token)]
            for client in (kiosk.client, console.client):
                assert client is not None and client.welcome is not None
                secrets.append(client.welcome.resume_token)
        finally:
            for part in reversed(env.parts):  # the kiosk, then the console
                await part.stop()
        log = srv.log_text()
    assert '"level": "DEBUG"' in log  # it really ran at DEBUG
    assert "sqlalchemy" in log.lower() or "SELECT" in log  # and its SQL logging was on (parameters hidden)
    leaks = [s for s in (*secrets, *SDP) if s and s in log]
    assert not leaks, leaks
    assert not JWT.search(log), JWT.search(log)
