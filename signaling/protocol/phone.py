"""Japanese telephone numbers, as a resident types them on the kiosk's keypad for a callback (折り返し電話).

Accepted: a fixed line, 10 digits, ``0`` then an area code (``0152-72-1111``, ``03-1234-5678``), and a mobile,
11 digits starting ``070``, ``080`` or ``090``. Hyphens and spaces are ignored; anything else is refused. The
``0A0`` prefixes are never area codes (the numbering plan keeps them for non-geographic services): ten digits
starting ``0A0`` are refused, and so are the other eleven-digit ones (``050`` IP phones, ``020`` pagers). Ten-digit
service numbers with area-like prefixes (``0120``, ``0570``) pass as fixed lines.
"""

from __future__ import annotations

import re
from typing import Literal

PhoneProblem = Literal["not_digits", "too_short", "too_long", "prefix"]
MOBILE_PREFIXES = ("070", "080", "090")
_SEPARATORS = re.compile(r"[\s\-]")


def normalise(text: str) -> str:
    return _SEPARATORS.sub("", text)


def phone_problem(text: str) -> PhoneProblem | None:
    """Why ``text`` is not a Japanese fixed or mobile number, or None when it is one."""
    digits = normalise(text)
    if not digits.isascii() or not digits.isdigit():
        return "not_digits"
    if len(digits) < 10:
        return "too_short"
    if len(digits) > 11:
        return "too_long"
    if not digits.startswith("0"):
        return "prefix"
    if len(digits) == 11:
        return None if digits.startswith(MOBILE_PREFIXES) else "prefix"
    return "prefix" if "0" in (digits[1], digits[2]) else None  # 10 digits: 0 + area code (never 00 or 0A0)


def japanese_phone(text: str) -> str:
    """The number as digits only; ValueError with the reason when it is not a Japanese fixed or mobile number."""
    problem = phone_problem(text)
    if problem is not None:
        raise ValueError(f"not a Japanese fixed or mobile number: {problem}")
    return normalise(text)
