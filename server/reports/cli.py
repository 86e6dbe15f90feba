"""``madoguchi report``: the introduction-effect report from the command line (registered in server/cli.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer


def report_command(
    date_from: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (Japan time)")],
    date_to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (included)")],
    fmt: Annotated[str, typer.Option("--format", help="html | csv | json | pdf")] = "html",
    municipality: Annotated[str | None, typer.Option(help="Municipality code, e.g. bihoro (default: all)")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of standard output")] = None,
) -> None:
    """Introduction-effect report (導入効果): consultations, waits, satisfaction, travel avoided, cost sharing."""
    from server.db.session import make_engine, make_sessionmaker
    from server.reports.build import FORMATS, ReportError, ReportUnavailable, build_report
    from server.settings import get_settings

    if fmt not in FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(FORMATS)}", param_hint="--format")
    settings = get_settings()

    async def go() -> bytes | str:
        engine = make_engine(settings.database_url)
        try:
            return await build_report(make_sessionmaker(engine), settings, date_from, date_to, municipality, fmt)
        finally:
            await engine.dispose()

    try:
        body = asyncio.run(go())
    except ReportUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(3) from None
    except ReportError as exc:
        raise typer.BadParameter(str(exc)) from None
    data = body.encode("utf-8") if isinstance(body, str) else body
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        typer.echo(f"report written to {out} ({len(data):,} bytes)", err=True)
