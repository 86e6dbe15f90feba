"""The session log as people read it: one line per call with every phase and the media figures."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import CallSession


def _secs(a: Any, b: Any) -> float | None:
    return round((b - a).total_seconds(), 2) if a is not None and b is not None else None


async def session_rows(db: AsyncSession, limit: int = 20) -> list[dict[str, Any]]:
    rows = (await db.execute(select(CallSession).order_by(CallSession.id.desc()).limit(limit))).scalars().unique()
    out = []
    for s in rows:
        q = s.quality or {}
        out.append({
            "session": s.id, "branch": s.branch.name_ja, "municipality": s.branch.municipality.name_ja,
            "service": s.service.code, "specialist": s.staff.display_name,
            "wait_s": _secs(s.ticket_created_at, s.accepted_at), "setup_ms": s.setup_ms,
            "talk_s": _secs(s.accepted_at, s.ended_at), "end_reason": s.end_reason,
            "frames_at_kiosk": q.get("kiosk", {}).get("frames_received"),
            "frames_at_console": q.get("staff", {}).get("frames_received"),
            "phases": {k: v.isoformat() if v else None for k, v in (
                ("ticket_created", s.ticket_created_at), ("offered", s.offered_at), ("accepted", s.accepted_at),
                ("media_connected", s.media_connected_at), ("ended", s.ended_at), ("wrapped_up", s.wrapup_done_at))},
        })
    return out


def _pad(text: str, width: int) -> str:
    """Left-justify by display width (Japanese characters take two columns)."""
    used = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - used)


def format_rows(rows: list[dict[str, Any]]) -> str:
    head = f"{'#':>4}  {'branch':<18} {'service':<13} {'specialist':<10} {'wait s':>7} {'setup ms':>9} " \
           f"{'talk s':>7} {'end':<16} {'frames kiosk/console':>21}"
    lines = [head, "-" * len(head)]
    for r in rows:
        frames = f"{r['frames_at_kiosk']}/{r['frames_at_console']}"
        lines.append(f"{r['session']:>4}  {_pad(r['branch'], 18)} {r['service']:<13} {_pad(r['specialist'], 10)} "
                     f"{r['wait_s'] or 0:>7.1f} {r['setup_ms'] or 0:>9.0f} {r['talk_s'] or 0:>7.1f} "
                     f"{r['end_reason'] or '-':<16} {frames:>21}")
    return "\n".join(lines)
