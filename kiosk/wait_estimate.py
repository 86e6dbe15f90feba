"""What the waiting screen says about the wait: the server's estimate, counted down on the kiosk's clock.

The server sends ``estimated_wait_s`` (seconds, or null when it cannot tell) in the ``ticket.create`` ack
and in every ``ticket.update``; each one re-bases the countdown. Between updates the kiosk counts down
in whole minutes, rounded up (a resident is never told less than the estimate says):

    remaining > 60 s                   "about N minutes"         (N = ceil(remaining / 60))
    -60 s < remaining ≤ 60 s           "soon"                    (under a minute either side of the time
                                       the answer is due: an estimate of 0 means a specialist can take
                                       it now)
    remaining ≤ -60 s                  "please wait a little longer": the estimate has run out a minute
                                       ago and nothing has happened (a call ahead ran long); never a
                                       negative number
    no estimate                        nothing is promised

The server re-sends an estimate only when it drifts from this countdown by more than 30 s (and 20 %), so
a countdown that reaches 0 is what the server expects too; it is the minute after that, with nothing
happening, that the resident is told plainly to wait a little longer (docs/protocol.md, ticket.update).

Minutes, not a seconds clock: large, calm, and it does not jump about when a fresh estimate arrives.
Pure logic: the controller owns the clock and the tick (:meth:`kiosk.controller.KioskController.refresh_wait`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

SOON_S = 60.0  # "soon" from this long before the due time ...
OVERDUE_AFTER_S = 60.0  # ... to this long after it
WaitKind = Literal["unknown", "minutes", "soon", "overdue"]


@dataclass(frozen=True)
class WaitView:
    kind: WaitKind
    minutes: int = 0

    def payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "minutes": self.minutes}


UNKNOWN = WaitView("unknown")


class WaitCountdown:
    def __init__(self) -> None:
        self.estimate_s: float | None = None
        self.based_at: float | None = None

    def rebase(self, estimate_s: float | None, now: float) -> None:
        self.estimate_s = max(0.0, float(estimate_s)) if estimate_s is not None else None
        self.based_at = now if estimate_s is not None else None

    def clear(self) -> None:
        self.estimate_s = self.based_at = None

    def view(self, now: float) -> WaitView:
        if self.estimate_s is None or self.based_at is None:
            return UNKNOWN
        elapsed = max(0.0, now - self.based_at)
        remaining = self.estimate_s - elapsed
        if remaining > SOON_S:
            return WaitView("minutes", math.ceil(remaining / 60))
        if remaining > -OVERDUE_AFTER_S:
            return WaitView("soon")
        return WaitView("overdue")
