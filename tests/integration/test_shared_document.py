"""The specialist shows a PDF on the kiosk (issue 11, item 2), with real kiosk and console controllers and real
aiortc peers: the PDF goes over the data channel (checked by size and SHA-256), the kiosk reads it with QtPdf,
turns to the page the console turns to and shows the console's pointer; a PDF refused (too large, not a PDF,
unreadable) says so on the console and nothing else changes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kiosk.services.pdf_pages import page_count
from signaling.observer import wait_for
from signaling.protocol.channel import MAX_DOCUMENT_BYTES
from tests.integration.calls import kiosk_controller, staff_controller
from tests.integration.test_document_camera import in_call
from tests.pdfs import make_pdf
from tests.support import WAIT_S, Env, eventually


async def test_the_kiosk_follows_pages_and_pointer_and_refusals_are_clear(env: Env, tmp_path: Path,
                                                                          qapp: Any) -> None:
    kiosk, console = await in_call(env, tmp_path)
    kiosk.shared.loader = page_count  # what the kiosk window sets (QtPdf)
    try:
        pdf = make_pdf(3)
        opened = asyncio.ensure_future(wait_for(kiosk, "shared_doc", WAIT_S, lambda d: d["open"]))
        shown = asyncio.ensure_future(wait_for(console, "shared_doc", WAIT_S, lambda d: d["state"] == "shown"))
        assert await console.share_pdf(pdf, "利用申請書")
        assert (await opened) == {"open": True, "name": "利用申請書", "pages": 3, "page": 0}
        assert (await shown)["pages"] == 3
        assert kiosk.shared.data == pdf  # byte-identical

        # the console turns to page 2: the kiosk shows page 2
        turned = asyncio.ensure_future(wait_for(kiosk, "shared_doc", WAIT_S, lambda d: d["page"] == 1))
        assert console.turn_page(1)
        await turned
        assert kiosk.shared.page == 1
        assert not console.turn_page(3)  # no fourth page: nothing sent

        # the pointer
        pointed = asyncio.ensure_future(wait_for(kiosk, "shared_doc_pointer", WAIT_S))
        assert console.point(0.25, 0.5, force=True)
        assert await pointed == {"page": 1, "x": 0.25, "y": 0.5}
        assert kiosk.shared.pointer == (0.25, 0.5)
        hidden = asyncio.ensure_future(wait_for(kiosk, "shared_doc_pointer", WAIT_S))
        assert console.point(None, None)
        assert (await hidden)["x"] is None and kiosk.shared.pointer is None

        # refused on the console before anything is sent
        errors: list[dict[str, Any]] = []
        console.on("shared_doc", lambda d: errors.append(d) if d["state"] == "error" else None)
        assert not await console.share_pdf(b"%PDF-1.7\n" + bytes(MAX_DOCUMENT_BYTES), "大きすぎる")
        assert not await console.share_pdf("こんにちは".encode() * 100, "テキスト")
        assert [e["code"] for e in errors] == ["too_large", "not_pdf"]
        # refused by the kiosk: looks like a PDF, QtPdf cannot read it
        assert await console.share_pdf(b"%PDF-1.4\n" + b"\x00garbage" * 500, "壊れた")
        await eventually(lambda: len(errors) == 3, what="the kiosk's refusal")
        assert errors[2]["code"] == "unreadable"
        assert kiosk.shared.page == 1 and kiosk.shared.data == pdf  # still the form, on page 2

        # the call goes on: chat both ways, then the specialist closes the document
        k_chat = asyncio.ensure_future(wait_for(kiosk, "chat", WAIT_S, lambda d: d["who"] != "me"))
        assert console.send_chat("2ページ目をご覧ください")
        assert (await k_chat)["text"] == "2ページ目をご覧ください"
        closed = asyncio.ensure_future(wait_for(kiosk, "shared_doc", WAIT_S, lambda d: not d["open"]))
        console.stop_sharing()
        await closed
        assert kiosk.shared.data is None
    finally:
        await kiosk.stop()
        await console.stop()


async def test_a_headless_kiosk_says_it_cannot_show_documents(env: Env, tmp_path: Path) -> None:
    console = await staff_controller(env, "takahashi")
    kiosk = await kiosk_controller(env, tmp_path, "bihoro")
    try:
        kiosk, console = await _call(env, kiosk, console)
        refused = asyncio.ensure_future(wait_for(console, "shared_doc", WAIT_S, lambda d: d["state"] == "error"))
        assert await console.share_pdf(b"%PDF-1.4\n%%EOF\n", "申請書")
        assert (await refused)["code"] == "unsupported"  # no QtPdf loader in a headless kiosk
    finally:
        await kiosk.stop()
        await console.stop()


async def _call(env: Env, kiosk: Any, console: Any) -> tuple[Any, Any]:
    assert await console.set_available()
    offered = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
    kiosk.begin()
    assert await kiosk.request_service("employment")
    await offered
    assert await console.accept()
    await eventually(lambda: kiosk.mesh is not None and kiosk.mesh.primary_alive(), what="kiosk media up")
    for side in (kiosk, console):
        await side.mesh.link().call.wait_channel_open(WAIT_S)
    return kiosk, console
