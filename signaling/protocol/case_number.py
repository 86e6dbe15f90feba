"""Case numbers (相談番号, issue 12 item 2): ``KIT-2026-0042`` — the municipality's prefix (three letters of its
code, upper case), the year the case was opened and a serial within the municipality and year (at least four
digits). Unique within a municipality; the server issues them (server/cases.py).

A resident types the number on the kiosk's digit keypad, so the prefix may be left out (``2026-0042`` or
``20260042``): the kiosk's own municipality is meant. Hyphens and spaces are ignored, letters may be lower case.
"""

from __future__ import annotations

import re

_FORM = re.compile(r"^(?:([A-Z]{3}))?(\d{4})(\d{4,6})$")
_SEPARATORS = re.compile(r"[\s\-]")


def format_case_number(prefix: str, year: int, serial: int) -> str:
    return f"{prefix}-{year:04d}-{serial:04d}"


def prefix_of(municipality_code: str) -> str:
    """The three-letter prefix of a municipality's code (``kitami`` → ``KIT``)."""
    return municipality_code[:3].upper()


def parse_case_number(text: str) -> tuple[str | None, int, int]:
    """(prefix or None, year, serial) of a typed case number; ValueError when it is not one."""
    m = _FORM.match(_SEPARATORS.sub("", text).upper())
    if m is None or not text.isascii():
        raise ValueError("not a case number: expected e.g. KIT-2026-0042 or 2026-0042")
    return m.group(1), int(m.group(2)), int(m.group(3))


def case_number(text: str) -> str:
    """The number in its canonical form (the prefix kept only if given): a pydantic validator for the wire."""
    prefix, year, serial = parse_case_number(text)
    number = format_case_number("", year, serial)[1:]
    return f"{prefix}-{number}" if prefix else number


CARD_PREFIX = "madoguchi:case:"  # the text of a case card's QR code: the prefix, then the number in full


def card_text(number: str) -> str:
    """What a printed case card's QR code says (``madoguchi:case:KIT-2026-0042``)."""
    return CARD_PREFIX + case_number(number)


def number_on_card(text: str) -> str | None:
    """The case number a scanned QR code carries, or None when it is not a case card (any other QR code)."""
    if not text.startswith(CARD_PREFIX):
        return None
    try:
        return case_number(text[len(CARD_PREFIX):])
    except ValueError:
        return None
