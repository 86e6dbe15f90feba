"""What a queue operation wants to happen on the wire, in order. The queue only decides; the delivery
module (server/delivery.py) carries it out, after the reply to the request that caused it."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel


@dataclass(frozen=True)
class Send:
    peer: str
    msg: BaseModel


@dataclass(frozen=True)
class JoinRoom:
    """The peer may relay SDP to the other members of this call."""

    session_id: int
    peer: str


@dataclass(frozen=True)
class LeaveRoom:
    session_id: int
    peer: str


@dataclass(frozen=True)
class CloseRoom:
    session_id: int


Action = Send | JoinRoom | LeaveRoom | CloseRoom


@dataclass
class Outbox:
    actions: list[Action] = field(default_factory=list)
    requeue: bool = False  # the queue changed: route again, then tell kiosks and consoles

    def send(self, peer: str, msg: BaseModel) -> None:
        self.actions.append(Send(peer, msg))

    def join(self, session_id: int, peer: str) -> None:
        self.actions.append(JoinRoom(session_id, peer))

    def leave(self, session_id: int, peer: str) -> None:
        self.actions.append(LeaveRoom(session_id, peer))

    def close_room(self, session_id: int) -> None:
        self.actions.append(CloseRoom(session_id))

    def sent(self) -> list[tuple[str, BaseModel]]:
        """(peer, message) of every Send, in order (for tests and logs)."""
        return [(a.peer, a.msg) for a in self.actions if isinstance(a, Send)]
