"""``madoguchi console``: run the staff console window, or a headless specialist."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Annotated

import typer

from staff_console.controller import StaffController
from staff_console.headless import ShiftPlan, run_shift
from staff_console.settings import ConsoleSettings

app = typer.Typer(help="Staff console (the specialist's side).", no_args_is_help=False)


@app.callback(invoke_without_command=True)
def console(
    server: Annotated[str | None, typer.Option(help="Server URL, e.g. http://127.0.0.1:8400")] = None,
    headless: Annotated[bool, typer.Option(help="No window: serve --calls residents and print a summary")] = False,
    user: Annotated[str | None, typer.Option(help="Headless: staff username")] = None,
    password_env: Annotated[str, typer.Option(help="Environment variable holding the password (headless: required; "
                                                   "window: signs in at once when set)")] = (
        "MADOGUCHI_CONSOLE_PASSWORD"),
    calls: Annotated[int, typer.Option(help="Headless: how many residents to serve")] = 1,
    media: Annotated[str | None, typer.Option(help="synthetic | device | none")] = None,
) -> None:
    overrides: dict[str, object] = {}
    if server:
        overrides["server_url"] = server
    if media:
        overrides["media_source"] = media
    settings = ConsoleSettings(**overrides)  # type: ignore[arg-type]
    logging.basicConfig(level=logging.INFO, format="%(levelname)s console %(name)s: %(message)s")
    if not headless:
        from staff_console.app import run_gui  # Qt only when a window is wanted

        raise typer.Exit(run_gui(settings, username=user, password=os.environ.get(password_env)))
    password = os.environ.get(password_env)
    if not user or not password:
        raise typer.BadParameter(f"headless mode needs --user and the password in ${password_env}")

    async def main() -> list[dict[str, object]]:
        ctl = StaffController(settings)
        await ctl.login(user, password)
        try:
            return await run_shift(ctl, ShiftPlan(calls=calls))
        finally:
            await ctl.stop()

    print(json.dumps({"console": asyncio.run(main())}, ensure_ascii=False))
