"""``madoguchi kiosk``: run the kiosk window, or one headless visit."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from kiosk.controller import KioskController
from kiosk.headless import VisitPlan, ensure_credential, run_visit
from kiosk.settings import KioskSettings

app = typer.Typer(help="Kiosk at a branch office (the resident's side).", no_args_is_help=False)


@app.callback(invoke_without_command=True)
def kiosk(
    server: Annotated[str | None, typer.Option(help="Server URL, e.g. http://127.0.0.1:8400")] = None,
    headless: Annotated[bool, typer.Option(help="No window: run one visit and print a summary")] = False,
    credential_file: Annotated[Path | None, typer.Option(help="Where the device credential is kept (0600)")] = None,
    kiosk_id: Annotated[int | None, typer.Option(help="Kiosk id given with the enrollment code")] = None,
    enroll_code: Annotated[str | None, typer.Option(help="One-time enrollment code from an administrator")] = None,
    service: Annotated[str, typer.Option(help="Headless: service code to ask for")] = "disability",
    call_seconds: Annotated[float, typer.Option(help="Headless: how long to talk")] = 5.0,
    media: Annotated[str | None, typer.Option(help="synthetic | device | none")] = None,
    windowed: Annotated[bool, typer.Option(help="Window with decorations instead of full screen")] = False,
) -> None:
    overrides: dict[str, object] = {}
    if server:
        overrides["server_url"] = server
    if credential_file:
        overrides["credential_file"] = credential_file
    if media:
        overrides["media_source"] = media
    if windowed:
        overrides["fullscreen"] = False
    settings = KioskSettings(**overrides)  # type: ignore[arg-type]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s kiosk %(name)s: %(message)s")
    if not headless:
        from kiosk.app import run_gui  # Qt only when a window is wanted

        raise typer.Exit(run_gui(settings, kiosk_id=kiosk_id, enroll_code=enroll_code))

    async def main() -> dict[str, object]:
        cred = await ensure_credential(settings, kiosk_id, enroll_code)
        ctl = KioskController(settings, cred)
        await ctl.start()
        try:
            return await run_visit(ctl, VisitPlan(service=service, call_seconds=call_seconds))
        finally:
            await ctl.stop()

    print(json.dumps({"kiosk": asyncio.run(main())}, ensure_ascii=False))
