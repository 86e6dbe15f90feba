"""``madoguchi kiosk``: run the kiosk window, or one headless visit."""

from __future__ import annotations

import asyncio
import dataclasses
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
    ctx: typer.Context,
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
    if ctx.invoked_subcommand is not None:
        return
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


@app.command("enroll")
def enroll_command(
    server: Annotated[str, typer.Option(help="Server URL (several nodes: comma-separated)")],
    kiosk_id: Annotated[int, typer.Option(help="Kiosk id given with the enrollment code")],
    code: Annotated[str, typer.Option(help="One-time enrollment code from an administrator")],
    credential_file: Annotated[Path | None, typer.Option(help="Where to keep the device credential (0600)")] = None,
    ca_file: Annotated[Path | None, typer.Option(help="CA of the server's certificate (a private CA)")] = None,
    env_file: Annotated[Path | None, typer.Option(
        help="Environment file of the systemd unit (default ~/.config/madoguchi/kiosk.env)")] = None,
    replace: Annotated[bool, typer.Option(help="Re-enroll a PC that already holds a credential")] = False,
) -> None:
    """Enroll this PC once (IT, at the branch): keeps the credential and writes the server URL for the unit."""
    from kiosk.install import AlreadyEnrolled, default_env_file, enroll_pc
    from kiosk.services.credentials import CredentialError
    from kiosk.services.server_api import EnrollmentFailed

    overrides: dict[str, object] = {"server_url": server}
    if credential_file:
        overrides["credential_file"] = credential_file
    if ca_file:
        overrides["ca_file"] = ca_file
    settings = KioskSettings(**overrides)  # type: ignore[arg-type]
    target = env_file or default_env_file()
    try:
        cred = asyncio.run(enroll_pc(settings, kiosk_id, code, target, replace=replace))
    except (AlreadyEnrolled, CredentialError, EnrollmentFailed) as exc:  # CredentialError: a damaged file
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except Exception as exc:  # the server unreachable, its certificate not trusted
        typer.echo(f"error: cannot reach {server}: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"enrolled as kiosk {cred.kiosk_id} ({cred.branch}); credential {settings.credential_file}, "
               f"settings {target}")


@app.command("set-pin")
def set_pin_command(
    credential_file: Annotated[Path | None, typer.Option(help="The device credential (default from settings)")] = None,
    replace: Annotated[bool, typer.Option(help="Change a PIN this kiosk already has")] = False,
) -> None:
    """Set the IT self-check PIN on this PC (IT, at the branch) — for a kiosk enrolled before PINs were set at
    enrollment, whose self-check is locked until then. Asks twice, hidden; keeps only its argon2 hash."""
    from argon2 import PasswordHasher

    from kiosk.services.credentials import CredentialError, load, save
    from signaling.selfcheck_pin import MAX_PIN_LEN, MIN_PIN_LEN, pin_problem

    settings = KioskSettings(**({"credential_file": credential_file} if credential_file else {}))  # type: ignore[arg-type]
    path = settings.credential_file
    try:
        cred = load(path)
    except CredentialError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if cred is None:
        typer.echo(f"error: no credential at {path}: enroll this PC first (madoguchi-kiosk enroll)", err=True)
        raise typer.Exit(1)
    if cred.selfcheck_pin_hash and not replace:
        typer.echo("error: this kiosk already has a self-check PIN; use --replace to change it", err=True)
        raise typer.Exit(1)
    pin = typer.prompt(f"new self-check PIN ({MIN_PIN_LEN}-{MAX_PIN_LEN} digits)", hide_input=True,
                       confirmation_prompt=True)
    problem = pin_problem(pin)
    if problem is not None:
        why = (f"the PIN must have {MIN_PIN_LEN} to {MAX_PIN_LEN} digits" if problem == "pin_length" else
               "the PIN must not be one repeated digit or a run such as 123456")
        typer.echo(f"error: {why}", err=True)
        raise typer.Exit(2)
    save(path, dataclasses.replace(cred, selfcheck_pin_hash=PasswordHasher().hash(pin)))
    typer.echo(f"self-check PIN set for kiosk {cred.kiosk_id} ({path})")
