"""The resident shows a paper (issue 11, item 1), with real kiosk and console controllers and real aiortc media:
the call's video carries the document camera, the specialist takes stills at the camera's full resolution over
the data channel (byte-identical to the kiosk's capture), and attaches one to the record, which then has the
note's readers only."""

from __future__ import annotations

import asyncio
import hashlib
import io
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from sqlalchemy import select

from server.db.models import Attachment, AuditEvent
from signaling.observer import wait_for
from signaling.protocol.channel import StillRequest
from tests.integration.calls import kiosk_controller, staff_controller
from tests.support import WAIT_S, Env, eventually

DOC_W, DOC_H, DOC_VIDEO_W = 1600, 1200, 800  # smaller than the 5 MP default: the same code, less CPU in CI


async def in_call(env: Env, tmp_path: Path, **kiosk_over: Any) -> tuple[Any, Any]:
    console = await staff_controller(env, "takahashi")
    kiosk = await kiosk_controller(env, tmp_path, "bihoro", document_camera_width=DOC_W,
                                   document_camera_height=DOC_H, document_video_width=DOC_VIDEO_W, **kiosk_over)
    assert await console.set_available()
    offered = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
    kiosk.begin()
    assert await kiosk.request_service("employment")
    await offered
    connected = asyncio.ensure_future(wait_for(console, "call_status", WAIT_S, lambda d: d["status"] == "connected"))
    assert await console.accept()
    await connected
    await eventually(lambda: kiosk.mesh is not None and kiosk.mesh.primary_alive(), what="kiosk media up")
    for side in (kiosk, console):  # the data channel opens shortly after "connected"
        await side.mesh.link().call.wait_channel_open(WAIT_S)
    return kiosk, console


def remote_width(console: Any) -> int:
    link = console.mesh.link() if console.mesh is not None else None
    frame = link.call.latest_video_frame if link is not None else None
    return int(frame.width) if frame is not None else 0


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_document_still_is_byte_identical_and_kept_only_when_attached(env: Env, tmp_path: Path) -> None:
    kiosk, console = await in_call(env, tmp_path)
    try:
        await eventually(lambda: remote_width(console) == 320, what="the resident's face (320x240) at the console")
        assert console.take_still() is None  # nothing shown yet: nothing to take

        shown = asyncio.ensure_future(wait_for(console, "document", WAIT_S, lambda d: d["showing"]))
        assert await kiosk.show_document()
        assert (await shown)["width"] == DOC_W
        # the same video track now carries the document, scaled for the encoder (no renegotiation)
        await eventually(lambda: remote_width(console) == DOC_VIDEO_W, what="the document video at the console")
        assert kiosk.local_frame() is not None and kiosk.local_frame().width == DOC_VIDEO_W  # the self-view too

        stills = []
        for _ in range(2):
            if stills:  # a new frame from the camera since the first still
                first = kiosk.documents.camera.latest
                await eventually(lambda f=first: kiosk.documents.camera.latest is not f, what="a newer frame")
            got = asyncio.ensure_future(wait_for(console, "still", WAIT_S))
            request_id = console.take_still()
            assert request_id is not None
            entry = (await got)["entry"]
            assert entry.request_id == request_id
            stills.append(entry)
        for entry, sent in zip(stills, kiosk.documents.sent, strict=True):
            # what the kiosk captured (its SHA-256) is exactly what arrived, at the camera's full resolution
            assert hashlib.sha256(entry.data).hexdigest() == entry.sha256 == sent.sha256
            assert len(entry.data) == sent.size
            with Image.open(io.BytesIO(entry.data)) as img:
                assert img.format == "JPEG" and img.size == (DOC_W, DOC_H)
        assert stills[0].sha256 != stills[1].sha256  # two captures of a live camera, not one cached picture

        # back to the face camera
        hidden = asyncio.ensure_future(wait_for(console, "document", WAIT_S, lambda d: not d["showing"]))
        await kiosk.stop_document()
        await hidden
        await eventually(lambda: remote_width(console) == 320, what="the face again at the console")
        assert console.take_still() is None

        # attach the second still only; the first stays in the console's memory until the wrap-up is done
        attached = asyncio.ensure_future(wait_for(console, "still_attached", WAIT_S))
        assert await console.attach_still(stills[1])
        assert (await attached)["entry"].attachment_id == stills[1].attachment_id is not None
        sid = console.call.session_id

        ended = asyncio.ensure_future(wait_for(console, "call_ended", WAIT_S))
        await kiosk.hang_up()
        await ended
        assert await console.save_note("就労支援", "受給者証を確認。")
        assert await console.finish_wrapup()
        assert console.documents.stills == []

        async with env.ctx.maker() as db:
            rows = (await db.execute(select(Attachment))).scalars().all()
            assert [(r.session_id, r.sha256, r.width, r.height) for r in rows] == [
                (sid, stills[1].sha256, DOC_W, DOC_H)]
            actions = (await db.execute(select(AuditEvent.action).where(AuditEvent.action.like("attachment.%"))
                                        )).scalars().all()
            assert list(actions) == ["attachment.save"]

        aid = stills[1].attachment_id
        async with httpx.AsyncClient(base_url=env.url) as http:
            own = bearer(await env.issued_token("takahashi"))
            listed = (await http.get(f"/api/sessions/{sid}/attachments", headers=own)).json()
            assert [a["sha256"] for a in listed] == [stills[1].sha256]
            r = await http.get(f"/api/sessions/{sid}/attachments/{aid}", headers=own)
            assert r.status_code == 200 and r.content == stills[1].data
            assert r.headers["content-type"] == "image/jpeg"
            for user, status in (("it", 403), ("admin", 403), ("sato", 404)):  # sato: Kitami, note not shared
                other = bearer(await env.issued_token(user))
                assert (await http.get(f"/api/sessions/{sid}/attachments/{aid}", headers=other)).status_code == status
                assert (await http.get(f"/api/sessions/{sid}/attachments", headers=other)).status_code == status
    finally:
        await kiosk.stop()
        await console.stop()


async def test_still_requests_the_kiosk_refuses(env: Env, tmp_path: Path) -> None:
    kiosk, console = await in_call(env, tmp_path)
    try:
        # asked while no document is shown: a still.error, no picture
        errors: list[dict[str, Any]] = []
        console.on("still_error", errors.append)
        console.documents._pending[7] = 0.0  # as take_still would (it asks only while a document is shown)
        assert console.mesh.send_message(console.mesh.primary, StillRequest(request_id=7))
        await eventually(lambda: errors, what="still.error not_showing")
        assert errors[0] == {"request_id": 7, "code": "not_showing"}
        assert kiosk.documents.sent == []

        # a still the console never asked for is not kept
        assert await kiosk.show_document()
        await eventually(lambda: console.documents.showing, what="doc.camera at the console")
        kiosk_sent = asyncio.ensure_future(wait_for(kiosk, "still_sent", WAIT_S))
        assert console.mesh.send_message(console.mesh.primary, StillRequest(request_id=99))
        await kiosk_sent
        got = asyncio.ensure_future(wait_for(console, "still", WAIT_S))
        assert console.take_still() is not None
        await got
        assert [e.request_id for e in console.documents.stills] == [1]  # 99 came, unasked: dropped
    finally:
        await kiosk.stop()
        await console.stop()


async def test_no_document_camera_means_no_button_and_no_stills(env: Env, tmp_path: Path) -> None:
    kiosk, console = await in_call(env, tmp_path, document_camera_source="none")
    try:
        assert not kiosk.documents.available
        assert not await kiosk.show_document()
        assert console.take_still() is None
    finally:
        await kiosk.stop()
        await console.stop()


async def test_a_document_shown_before_the_data_channel_opens_still_reaches_the_console(env: Env,
                                                                                         tmp_path: Path) -> None:
    console = await staff_controller(env, "takahashi")
    kiosk = await kiosk_controller(env, tmp_path, "bihoro", document_camera_width=DOC_W,
                                   document_camera_height=DOC_H, document_video_width=DOC_VIDEO_W)
    try:
        assert await console.set_available()
        offered = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        kiosk.begin()
        assert await kiosk.request_service("employment")
        await offered
        started = asyncio.ensure_future(wait_for(kiosk, "call_started", WAIT_S))
        shown = asyncio.ensure_future(wait_for(console, "document", WAIT_S, lambda d: d["showing"]))
        assert await console.accept()
        await started
        assert await kiosk.show_document()  # the resident taps at once: the link is still connecting
        assert (await shown)["width"] == DOC_W  # doc.camera waited for the channel to open
        got = asyncio.ensure_future(wait_for(console, "still", WAIT_S))
        assert console.take_still() is not None
        assert (await got)["entry"].sha256 == kiosk.documents.sent[-1].sha256
    finally:
        await kiosk.stop()
        await console.stop()
