"""The specialist's side of guests by link (issue 11, item 5): invite, the lobby, admit or refuse.

No widgets, no sockets of its own: the :class:`~staff_console.controller.StaffController` owns one desk and
hands it its requests and the server's guest messages. Events (through the controller's emitter):
``guest_invited`` (``entry``), ``guest_lobby`` (``entries``: everyone waiting, in arrival order),
``guest_state`` (``entry``). The link is the server's ``url`` when it knows its public address, else this
console's server address + ``path``; the QR code is made from it (:func:`qr_png`).
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import segno

from signaling.protocol.messages import GuestAdmit, GuestInvite, GuestLobby, GuestStateUpdate, ServerMessage
from signaling.protocol.models import GuestRole
from signaling.protocol.replies import GuestDecided, GuestInvited, Reply

GUEST_ROLES: tuple[GuestRole, ...] = ("family", "supporter", "guardian", "sign_interpreter", "interpreter")


@dataclass
class GuestEntry:
    invitation_id: int
    session_id: int
    display_name: str
    role: str
    state: str = "invited"
    link: str = ""
    expires_at: str = ""
    expires_in_s: float = 0.0
    refused_by: str | None = None


def qr_png(link: str, scale: int = 6) -> bytes:
    """The link as a QR code (PNG), for the invite dialog and for printing."""
    out = io.BytesIO()
    segno.make(link, error="m").save(out, kind="png", scale=scale, border=2)
    return out.getvalue()


class GuestDesk:
    def __init__(self, request: Callable[[Any], Awaitable[Reply | None]], emit: Callable[[str, dict[str, Any]], None],
                 base_url: Callable[[], str]) -> None:
        self._request = request
        self._emit = emit
        self._base_url = base_url
        self.entries: dict[int, GuestEntry] = {}

    def lobby(self) -> list[GuestEntry]:
        return [e for e in self.entries.values() if e.state == "lobby"]

    def clear(self) -> None:
        self.entries.clear()
        self._emit("guest_lobby", {"entries": []})

    async def invite(self, session_id: int, role: GuestRole, display_name: str) -> GuestEntry | None:
        name = display_name.strip()
        if not name:
            self._emit("error", {"code": "invalid_message", "message": "name required", "request": "guest.invite"})
            return None
        reply = await self._request(GuestInvite(session_id=session_id, role=role, display_name=name))
        if not isinstance(reply, GuestInvited):
            return None
        link = reply.url or self._base_url().rstrip("/") + reply.path
        entry = GuestEntry(reply.invitation_id, session_id, name, role, link=link, expires_at=reply.expires_at,
                           expires_in_s=reply.expires_in_s)
        self.entries[entry.invitation_id] = entry
        self._emit("guest_invited", {"entry": entry})
        return entry

    async def admit(self, invitation_id: int, admit: bool) -> bool:
        reply = await self._request(GuestAdmit(invitation_id=invitation_id, admit=admit))
        if not isinstance(reply, GuestDecided):
            return False
        entry = self.entries.get(invitation_id)
        if entry is not None:
            entry.state = reply.state
            if reply.state == "refused":
                entry.refused_by = "staff"
            self._emit("guest_state", {"entry": entry})
        self._emit("guest_lobby", {"entries": self.lobby()})
        return True

    def on_message(self, msg: ServerMessage) -> bool:
        """Take a guest message from the server; False if it is not one."""
        if isinstance(msg, GuestLobby):
            entry = self.entries.get(msg.invitation_id) or GuestEntry(
                msg.invitation_id, msg.session_id, msg.display_name, msg.role)
            entry.state = "lobby"
            self.entries[msg.invitation_id] = entry
            self._emit("guest_lobby", {"entries": self.lobby()})
            return True
        if isinstance(msg, GuestStateUpdate):
            entry = self.entries.get(msg.invitation_id) or GuestEntry(
                msg.invitation_id, msg.session_id, msg.display_name, msg.role or "")
            entry.state, entry.refused_by = msg.state, msg.by
            self.entries[msg.invitation_id] = entry
            self._emit("guest_state", {"entry": entry})
            self._emit("guest_lobby", {"entries": self.lobby()})
            return True
        return False
