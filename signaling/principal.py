"""Who is on the other end of a socket, once authenticated (server side; never on the wire)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    kind: str  # "kiosk" | "staff" | "guest" (principal_id: the invitation)
    principal_id: int
    role: str
    display_name: str = ""
    municipality_id: int | None = None

    @property
    def peer(self) -> str:
        return f"{self.kind}:{self.principal_id}"

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"
