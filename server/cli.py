"""The ``madoguchi`` command. Server-side commands live here; the kiosk and console register
their own sub-commands through the ``madoguchi.apps`` entry point group (the server never
imports them)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from server.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from server.audit.verify import Verdict

T = TypeVar("T")

app = typer.Typer(help="Madoguchi remote service window.", no_args_is_help=True)
db_app = typer.Typer(help="Database: migrations and demo data.", no_args_is_help=True)
admin_app = typer.Typer(help="Administration: kiosks, enrollment and staff accounts.", no_args_is_help=True)
protocol_app = typer.Typer(help="The signaling protocol.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: verify its hash chain.", no_args_is_help=True)
retention_app = typer.Typer(help="Retention: purge personal records past their period.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(admin_app, name="admin")
app.add_typer(protocol_app, name="protocol")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")


@app.command()
def server(
    host: Annotated[str | None, typer.Option(help="Bind address")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
) -> None:
    """Run the server (migrates the database first)."""
    from server.logging_setup import setup_logging
    from server.run import serve
    from server.signing_key import InsecureSigningKey

    settings = get_settings()
    if host or port:
        settings = settings.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v})
    setup_logging(settings.log_level, settings.log_json, repeat_limit=settings.log_repeat_limit,
                  repeat_window_s=settings.log_repeat_window_s)
    try:
        serve(settings)
    except InsecureSigningKey as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command()
def keygen() -> None:
    """Print a new random signing key for MADOGUCHI_SECRET_KEY (384 bits)."""
    from server.signing_key import new_signing_key

    typer.echo(new_signing_key())


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply Alembic migrations up to head."""
    from server.migrate import upgrade

    upgrade(get_settings().database_url)
    typer.echo("database at head")


@db_app.command("app-role")
def db_app_role(
    role: Annotated[str, typer.Argument(help="the application's role, e.g. madoguchi_app")],
    password_env: Annotated[str, typer.Option(
        help="name of an environment variable holding the role's password (never on the command line)")] = "",
) -> None:
    """PostgreSQL: create/grant the role the server runs as (not the owner): it may not change the audit log or
    run migrations. Run as the owner (MADOGUCHI_DATABASE_URL), again after every `db upgrade`."""
    import os

    from server.db.app_role import AppRoleError, grant_app_role
    from server.db.session import make_engine

    password = os.environ.get(password_env, "") if password_env else ""
    if password_env and not password:
        raise typer.BadParameter(f"{password_env} is not set or empty")

    async def go() -> list[str]:
        engine = make_engine(get_settings().database_url)
        try:
            async with engine.begin() as conn:
                return await grant_app_role(conn, role, password or None)
        finally:
            await engine.dispose()

    try:
        for line in asyncio.run(go()):
            typer.echo(line)
    except AppRoleError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(f"now run the server with MADOGUCHI_DATABASE_URL naming {role}; migrations and the audit log's "
               "retention stay with the owner")


@db_app.command("seed")
def db_seed(
    password: Annotated[str | None, typer.Option(
        help="Password for the seeded staff accounts (at least 12 characters); default: a random one, printed "
             "once", envvar="MADOGUCHI_SEED_PASSWORD", show_envvar=False)] = None,
) -> None:
    """Insert the sample municipalities, branches, services and staff (once). The staff accounts get a random
    password printed once (or --password): never the published demo password outside ``madoguchi demo``."""
    import secrets

    from server.admin_ops import MIN_PASSWORD_LEN
    from server.db.seed import seed_demo
    from server.migrate import upgrade

    if password is not None and len(password) < MIN_PASSWORD_LEN:
        raise typer.BadParameter(f"the password must have at least {MIN_PASSWORD_LEN} characters")
    chosen = password or secrets.token_urlsafe(15)
    upgrade(get_settings().database_url)
    done = _in_transaction(lambda db: seed_demo(db, password=chosen))
    if not done:
        typer.echo("data already present; nothing inserted")
        return
    typer.echo("sample data inserted")
    if password is None:
        typer.echo(f"password of every seeded staff account (shown once; change it): {chosen}")


def _in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run one operation in its own transaction on the configured database (an AdminError becomes a usage
    error on the command line)."""
    from server.admin_ops import AdminError
    from server.db.session import make_engine, make_sessionmaker

    async def go() -> T:
        engine = make_engine(get_settings().database_url)
        try:
            async with make_sessionmaker(engine)() as db, db.begin():
                return await work(db)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except AdminError as exc:
        raise typer.BadParameter(str(exc)) from None


@admin_app.command("enroll-kiosk")
def enroll_kiosk(
    branch: Annotated[str, typer.Option(help="Branch code, e.g. bihoro")],
    name: Annotated[str, typer.Option(help="A name for the device")] = "",
    selfcheck_pin: Annotated[str | None, typer.Option(
        help="The IT self-check PIN (6-12 digits); default: a random one, printed once",
        envvar="MADOGUCHI_SELFCHECK_PIN", show_envvar=False)] = None,
) -> None:
    """Create a kiosk and print its one-time enrollment code (valid 24 h) and its self-check PIN."""
    from server.admin_ops import enroll_kiosk

    e = _in_transaction(lambda db: enroll_kiosk(db, branch, name, "cli", selfcheck_pin))
    typer.echo(f"kiosk id: {e.kiosk_id}\nenrollment code: {e.code}  (valid 24 h, once)")
    if e.selfcheck_pin:
        typer.echo(f"self-check PIN: {e.selfcheck_pin}  (shown once; keep it for IT staff)")


@admin_app.command("revoke-kiosk")
def revoke(kiosk_id: int) -> None:
    """Revoke a kiosk's credential (through the API, a running server also closes its socket)."""
    from server.admin_ops import revoke_kiosk

    _in_transaction(lambda db: revoke_kiosk(db, kiosk_id, "cli"))
    typer.echo(f"kiosk {kiosk_id} revoked")


@admin_app.command("add-staff")
def add_staff(
    username: Annotated[str, typer.Option(help="Login name")],
    display_name: Annotated[str, typer.Option(help="Name shown to colleagues and residents")],
    municipality: Annotated[str, typer.Option(help="Municipality code, e.g. kitami")],
    role: Annotated[str, typer.Option(help="specialist | supervisor | it_monitor | admin | partner")] = "specialist",
    skill: Annotated[list[str] | None, typer.Option(help="Service code this person serves (repeat)")] = None,
    capability: Annotated[list[str] | None, typer.Option(help="Need they can serve, e.g. written (repeat)")] = None,
    language: Annotated[list[str] | None, typer.Option(help="Language spoken, e.g. en (repeat; default ja)")] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                                          envvar="MADOGUCHI_NEW_STAFF_PASSWORD")] = "",
) -> None:
    """Create a staff account (the API does the same: POST /api/admin/staff)."""
    from server.admin_ops import create_staff

    async def work(db: AsyncSession) -> int:
        s = await create_staff(db, username=username, display_name=display_name, municipality_code=municipality,
                               role=role, skills=skill or [], capabilities=capability or [], password=password,
                               actor="cli", languages=language or ["ja"])
        return s.id

    typer.echo(f"staff id: {_in_transaction(work)}")


@admin_app.command("set-staff-active")
def set_staff_active(staff_id: int, active: Annotated[bool, typer.Option("--active/--disabled")]) -> None:
    """Enable or disable a staff account (through the API, a running server also closes its consoles)."""
    from server.admin_ops import update_staff

    _in_transaction(lambda db: update_staff(db, staff_id, "cli", active=active))
    typer.echo(f"staff {staff_id} {'active' if active else 'disabled'}")


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH printed by an earlier verify: must still be there")]
    = None,
) -> None:
    """Walk the audit hash chain; print its head, or the first broken row (exit status 1)."""
    from server.audit.verify import parse_anchor, verify_chain
    from server.db.session import make_engine

    try:
        expect = parse_anchor(anchor) if anchor else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None

    async def go() -> Verdict:
        engine = make_engine(get_settings().database_url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(verify_chain, expect)
        finally:
            await engine.dispose()

    v = asyncio.run(go())
    if v.broken is not None:
        where = f"row seq {v.broken.seq}" + (f" (id {v.broken.row_id})" if v.broken.row_id is not None else "")
        typer.echo(f"audit chain BROKEN at {where}: {v.broken.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit chain intact: {v.rows} rows checked from seq {v.from_seq}; head {v.head_seq}:{v.head_hash}")


@retention_app.command("run")
def retention_run() -> None:
    """Purge every record type's rows older than its period (MADOGUCHI_RETENTION_DAYS) and audit the counts."""
    from datetime import UTC, datetime

    from server.db.session import make_engine, make_sessionmaker
    from server.retention.run import RetentionConfigError, periods, run_retention

    settings = get_settings()
    try:
        table = periods(settings.retention_days)
    except RetentionConfigError as exc:
        raise typer.BadParameter(str(exc)) from None

    async def go() -> dict[str, int]:
        engine = make_engine(settings.database_url)
        try:
            return await run_retention(make_sessionmaker(engine), settings.retention_days, datetime.now(UTC), "cli")
        finally:
            await engine.dispose()

    counts = asyncio.run(go())
    from server.retention.records import RECORD_TYPES

    refused = [p.record_type for p in table if not set(RECORD_TYPES[p.record_type].tables) & counts.keys()]
    for p in table:
        typer.echo(f"{p.record_type}: kept {p.days} days" + (" — NOT PURGED (refused by the database)"
                                                              if p.record_type in refused else ""))
    typer.echo("purged: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if refused:
        raise typer.Exit(1)


@admin_app.command("outside-supervision")
def outside_supervision(
    municipality: Annotated[str, typer.Argument(help="Municipality code, e.g. bihoro")],
    allow: Annotated[bool, typer.Option("--allow/--deny", help="May supervisors of other municipalities listen in "
                                                                "to this municipality's calls")],
) -> None:
    """Whether supervisors of other municipalities may listen in to this municipality's calls (default: deny)."""
    from server.admin_catalog import set_outside_supervision

    _in_transaction(lambda db: set_outside_supervision(db, municipality, allow, "cli"))
    typer.echo(f"{municipality}: supervisors of other municipalities {'may' if allow else 'may not'} listen in")


@protocol_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of every client and server message, and of each request's reply (``ack.data``)."""
    from signaling.protocol.messages import client_adapter, server_adapter
    from signaling.protocol.replies import reply_schemas
    from signaling.protocol.version import PROTOCOL_VERSION, SUBPROTOCOL

    out = {"protocol_version": PROTOCOL_VERSION, "subprotocol": SUBPROTOCOL,
           "client_to_server": client_adapter.json_schema(), "server_to_client": server_adapter.json_schema(),
           "replies": reply_schemas()}
    typer.echo(json.dumps(out, indent=2, ensure_ascii=False))


@app.command()
def demo(
    headless: Annotated[bool, typer.Option(help="No windows: one call with real media, then the log")] = False,
    seconds: Annotated[float, typer.Option(help="How long the demo call lasts")] = 5.0,
    seed_history: Annotated[int, typer.Option(help="Also insert N realistic past sessions")] = 0,
    var_dir: Annotated[Path, typer.Option(help="Where the demo database and kiosk credential go")] = Path("var"),
) -> None:
    """Server + one kiosk + one console on a local SQLite database."""
    from server.demo import run_demo

    raise typer.Exit(run_demo(headless=headless, seconds=seconds, var_dir=var_dir, history=seed_history))


def _register_report() -> None:
    from server.reports.cli import report_command

    app.command("report", help="The introduction-effect report (導入効果) as html, csv or json.")(report_command)


def _register_apps() -> None:
    for ep in entry_points(group="madoguchi.apps"):
        try:
            app.add_typer(ep.load(), name=ep.name)
        except ImportError as exc:  # a part not installed on this machine
            @app.command(ep.name, help=f"(unavailable: {exc})")
            def _missing(exc: ImportError = exc) -> None:
                typer.echo(f"this part is not installed: {exc}", err=True)
                raise typer.Exit(1)


def main() -> None:
    _register_report()
    _register_apps()
    app()


if __name__ == "__main__":
    main()
