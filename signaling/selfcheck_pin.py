"""The kiosk's IT self-check PIN rule, one place for the server (set at enrollment, server/admin_ops.py) and the
kiosk (``madoguchi-kiosk set-pin`` for a kiosk enrolled before PINs were set): 6 to 12 digits, not one repeated
digit and not a run such as 123456."""

from __future__ import annotations

from typing import Literal

MIN_PIN_LEN, MAX_PIN_LEN = 6, 12
PinProblem = Literal["pin_length", "pin_weak"]


def pin_problem(pin: str) -> PinProblem | None:
    if not pin.isascii() or not pin.isdigit() or not MIN_PIN_LEN <= len(pin) <= MAX_PIN_LEN:
        return "pin_length"
    if len(set(pin)) == 1 or pin in "01234567890" or pin in "09876543210":
        return "pin_weak"
    return None
