"""The case card end to end (issue 12 item 2): in a real call, the specialist opens a case for the resident and
prints its card at the branch (real CUPS, cups-pdf, tests/cups.py); the printed page is read back — the number
in its text, nothing else of the case — rendered to a picture (pdftoppm) and held to a kiosk camera: the kiosk's
card reader (zxing-cpp) reads the number back from the paper."""

from __future__ import annotations

import asyncio
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from kiosk.card_scan import CardScan
from signaling.media import PictureTrack
from signaling.observer import wait_for
from tests.cups import Cups, pdf_pages_text
from tests.integration.test_document_camera import in_call
from tests.support import WAIT_S, Env


def final(d: dict[str, Any]) -> bool:
    return d["state"] in ("done", "paper_out", "no_printer", "failed")


def page_picture(pdf: Path, tmp: Path) -> np.ndarray:
    """The printed page as a camera would see it: rendered grey at 150 dpi (poppler's pdftoppm)."""
    subprocess.run(["pdftoppm", "-r", "150", "-gray", "-png", "-singlefile", str(pdf), str(tmp / "page")],
                   check=True, timeout=60)
    return np.asarray(Image.open(tmp / "page.png").convert("L"))[:900, :1100]  # the card's corner of the A4 page


async def test_a_printed_case_card_is_read_by_the_kiosk_camera(env: Env, tmp_path: Path, cups: Cups,
                                                               qapp: Any) -> None:
    kiosk, console = await in_call(env, tmp_path, printer="pdf", cups_server=cups.server)
    try:
        assert await console.print_case_card() is None  # no case yet: nothing to print
        linked = asyncio.ensure_future(wait_for(console, "case_linked", WAIT_S))
        assert await console.new_case("美幌 花子", "090-1234-5678")
        number = str((await linked)["case"]["number"])
        done = asyncio.ensure_future(wait_for(console, "print", WAIT_S, final))
        assert await console.print_case_card() is not None
        result = await done
        assert result["state"] == "done", (result, cups.log())
    finally:
        await kiosk.stop()
        await console.stop()
    printed = cups.printed(1)
    (text,) = [unicodedata.normalize("NFKC", t) for t in pdf_pages_text(printed)]
    assert number in text and "相談番号カード" in text and "Case card" in text
    assert "美幌 花子" not in text and "090-1234-5678" not in text  # the card tells a finder nothing of the case

    found: list[str] = []
    read = asyncio.Event()

    def heard(name: str, data: dict[str, Any]) -> None:
        if name == "card_scanned":
            found.append(data["number"])
            read.set()

    scan = CardScan(lambda: PictureTrack(page_picture(printed, tmp_path)), heard)
    scan.start()
    try:
        await asyncio.wait_for(read.wait(), WAIT_S)
    finally:
        await scan.stop()
    assert found == [number]
