"""The ticket state machine. Every change goes through :func:`check`."""

from __future__ import annotations

ACTIVE = ("waiting", "offered", "in_call", "wrap_up")
# what occupies a kiosk: once the call has ended (wrap_up) the next resident may take a ticket
AT_KIOSK = ("waiting", "offered", "in_call")
QUEUED = ("waiting", "offered")
FINAL = ("done", "cancelled", "abandoned", "no_specialist")

TRANSITIONS: dict[str, frozenset[str]] = {
    "waiting": frozenset({"offered", "in_call", "cancelled", "abandoned"}),
    "offered": frozenset({"waiting", "in_call", "cancelled", "abandoned"}),
    "in_call": frozenset({"wrap_up", "waiting"}),  # waiting = transferred
    "wrap_up": frozenset({"done", "waiting"}),
    "done": frozenset(),
    "cancelled": frozenset(),
    "abandoned": frozenset(),
    "no_specialist": frozenset(),
}


class IllegalTransition(Exception):
    pass


def check(current: str, new: str) -> None:
    if new not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(f"ticket cannot go from {current} to {new}")
