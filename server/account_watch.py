"""Live sockets follow account changes (DESIGN §6): a disabled staff account, a bumped token version (password
reset, role change) or a revoked kiosk closes the socket within ``MADOGUCHI_AUTH_RECHECK_S`` (1 s).

The admin API closes the sockets itself right after its commit, on whichever node holds them
(``Delivery.disconnect`` goes through the cluster); this watch is the backstop every node runs over its own
sockets, for changes made elsewhere (the ``madoguchi admin`` CLI, another node whose forward was lost, SQL).
Each pass reads the staff table (hundreds of rows) and the revoked kiosks only, never one row per socket.

Close codes: 4001 ``REVOKED`` for a disabled account or a revoked kiosk (final), 4003
``CREDENTIALS_CHANGED`` for a token version bump (the client refreshes its token and reconnects with its new
role; after a password reset the refresh is refused and it stops).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from server.context import AppContext
from server.db.models import Kiosk, Staff
from signaling.protocol.errors import CloseCode
from signaling.tasks import every

log = logging.getLogger("madoguchi.auth")


@dataclass(frozen=True)
class Ended:
    peer: str
    code: CloseCode
    reason: str


async def stale_sockets(ctx: AppContext, version_of: dict[str, int]) -> list[Ended]:
    """The sockets on this node whose credentials no longer hold."""
    conns = ctx.hub.connections
    staff_peers = {p: c for p, c in conns.items() if c.principal.kind == "staff"}
    has_kiosks = any(c.principal.kind == "kiosk" for c in conns.values())
    async with ctx.maker() as db:
        rows = (await db.execute(select(Staff.id, Staff.active, Staff.token_version))).all() if staff_peers else []
        revoked = set((await db.execute(select(Kiosk.id).where(
            (Kiosk.revoked_at.is_not(None)) | (Kiosk.credential_hash.is_(None))))).scalars()) if has_kiosks else set()
    accounts = {sid: (active, ver) for sid, active, ver in rows}
    ended: list[Ended] = []
    for peer, conn in staff_peers.items():
        account = accounts.get(conn.principal.principal_id)
        if account is None or not account[0]:
            ended.append(Ended(peer, CloseCode.REVOKED, "account disabled"))
        elif peer in version_of and version_of[peer] != account[1]:
            ended.append(Ended(peer, CloseCode.CREDENTIALS_CHANGED, "account changed: sign in again"))
    ended += [Ended(p, CloseCode.REVOKED, "kiosk revoked") for p, c in conns.items()
              if c.principal.kind == "kiosk" and c.principal.principal_id in revoked]
    return ended


async def sweep(ctx: AppContext, version_of: dict[str, int]) -> list[Ended]:
    """One pass: close what no longer holds. Returns what was closed."""
    ended = await stale_sockets(ctx, version_of)
    for e in ended:
        log.info("closing %s: %s", e.peer, e.reason)
        await ctx.hub.disconnect(e.peer, e.code, e.reason)
    return ended


async def run(ctx: AppContext, version_of: dict[str, int]) -> None:
    await every(ctx.settings.auth_recheck_s, lambda: sweep(ctx, version_of), log, "account watch failed")
