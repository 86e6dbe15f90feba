"""Language packs: one file per language, end to end (``signaling/languages/<code>.json``).

Japanese and English are built in: each app has its ``i18n/ja.json`` and ``en.json``, and the database holds
every service's Japanese and English name, description and hours (edited on the admin page). Any other
language is ONE file here, shipped with every program (server, kiosk, console), holding everything that
language needs::

    {
      "_language": "Tiếng Việt",                        its own name (the kiosk's language switch shows it)
      "_names": {"ja": "ベトナム語", "en": "Vietnamese"},  its name as the staff read it (console, monitor)
      "_wire": "vi",         the code sent as ticket.create ``language`` (default: the file's name)
      "_fallback": "en",     the catalog a missing key falls back to before Japanese (default: ja)
      "keyboard": {...},     the kiosk's on-screen keyboard for it (kiosk/ui/keyboard_layouts.py)
      "services": {"<service code>": {"name": ..., "description": ..., "hours": ...}},
      "kiosk": {...}, "console": {...}   one section per app it translates (flat key -> text, as i18n/*.json)
    }

The server accepts on the wire the built-in codes and every pack's ``_wire``; it sends each service's texts in
every pack's language (a missing service or field: the Japanese one). An app offers a pack's language if the
pack has a section for that app. A wording variant of a language, such as やさしい日本語 (``ja-easy.json``:
``"_wire": "ja"``), is a pack too: the resident reads easier words and the specialist still sees Japanese.

Pure stdlib: importable by every program (the server never imports kiosk or console, and neither imports it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LANGUAGES_DIR = Path(__file__).resolve().parent / "languages"
BUILT_IN = ("ja", "en")  # the languages of every app's i18n folder and of the database's service columns
CODE = re.compile(r"^[a-z]{2,3}(-[a-z]{2,8})?$")  # a pack's file name: vi, ja-easy, pt-br
WIRE_CODE = re.compile(r"^[a-z]{2,3}$")  # what the wire carries: a language, never a wording variant
SERVICE_FIELDS = ("name", "description", "hours")


class LanguagePackError(ValueError):
    """A pack file that cannot be used (bad name, not JSON, wrong shape): the message names the file."""


@dataclass(frozen=True)
class LanguagePack:
    code: str                 # the file's name: vi, ja-easy
    name: str                 # its own name: Tiếng Việt, やさしい にほんご
    names: dict[str, str]     # its name in other languages, as staff read it: {"ja": "ベトナム語"}
    wire: str                 # the ticket's language on the wire
    fallback: str             # a missing key: this catalog first, then Japanese
    sections: dict[str, dict[str, str]]             # app -> key -> text
    services: dict[str, dict[str, str]] = field(default_factory=dict)  # service code -> field -> text
    keyboard: dict[str, Any] = field(default_factory=dict)

    def name_in(self, language: str) -> str:
        """How staff reading ``language`` call this language (its own name when the pack does not say)."""
        return self.names.get(language) or self.names.get("en") or self.name

    def service_text(self, service_code: str, name: str) -> str:
        """One field (``name``, ``description``, ``hours``) of a service in this language; "" when not given."""
        return self.services.get(service_code, {}).get(name, "")


def _str_table(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise LanguagePackError(f"{where}: expected an object of texts")
    return dict(value)


def parse_pack(code: str, data: Any, where: str = "") -> LanguagePack:
    where = where or f"{code}.json"
    if not CODE.fullmatch(code) or code in BUILT_IN:
        raise LanguagePackError(f"{where}: the file name must be a language code like vi or ja-easy "
                                f"(and not {'/'.join(BUILT_IN)}, which are built in)")
    if not isinstance(data, dict):
        raise LanguagePackError(f"{where}: expected a JSON object")
    name = data.get("_language")
    if not isinstance(name, str) or not name.strip():
        raise LanguagePackError(f"{where}: _language (the language's own name) is required")
    wire = data.get("_wire", code)
    if not isinstance(wire, str) or not WIRE_CODE.fullmatch(wire):
        raise LanguagePackError(f"{where}: _wire must be a 2- or 3-letter language code, not {wire!r}")
    fallback = data.get("_fallback", "ja")
    if not isinstance(fallback, str) or not CODE.fullmatch(fallback):
        raise LanguagePackError(f"{where}: _fallback must be a language code, not {fallback!r}")
    sections = {k: _str_table(v, f"{where} {k}") for k, v in data.items()
                if not k.startswith("_") and k not in ("services", "keyboard")}
    services_raw = data.get("services", {})
    if not isinstance(services_raw, dict):
        raise LanguagePackError(f"{where} services: expected an object by service code")
    services = {sc: _str_table(v, f"{where} services.{sc}") for sc, v in services_raw.items()}
    for sc, texts in services.items():
        unknown = set(texts) - set(SERVICE_FIELDS)
        if unknown:
            raise LanguagePackError(f"{where} services.{sc}: unknown fields {sorted(unknown)}")
    keyboard = data.get("keyboard", {})
    if not isinstance(keyboard, dict):
        raise LanguagePackError(f"{where} keyboard: expected an object")
    return LanguagePack(code=code, name=name, names=_str_table(data.get("_names", {}), f"{where} _names"),
                        wire=wire, fallback=fallback, sections=sections, services=services, keyboard=keyboard)


def load_packs(folder: Path | None = None) -> dict[str, LanguagePack]:
    """Every ``*.json`` of ``folder`` (default :data:`LANGUAGES_DIR`), by code, sorted. A broken file raises
    :class:`LanguagePackError` naming it: a language half there is worse than a clear refusal to start."""
    folder = folder or LANGUAGES_DIR
    packs: dict[str, LanguagePack] = {}
    if not folder.is_dir():
        return packs
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise LanguagePackError(f"{path}: {e}") from e
        packs[path.stem] = parse_pack(path.stem, data, str(path))
    return packs


def wire_languages(packs: dict[str, LanguagePack]) -> list[str]:
    """The languages a ticket may carry: the built-in ones, then every pack's wire code."""
    return list(dict.fromkeys([*BUILT_IN, *(p.wire for p in packs.values())]))


def wire_language(code: str, packs: dict[str, LanguagePack]) -> str:
    """What the wire carries for a UI language: a pack's ``_wire`` (ja-easy -> ja), else the code itself."""
    pack = packs.get(code)
    return pack.wire if pack is not None else code


BUILT_IN_NAMES = {"ja": {"ja": "日本語", "en": "Japanese"}, "en": {"ja": "英語", "en": "English"}}


def language_label(code: str, reader: str, packs: dict[str, LanguagePack]) -> str:
    """A resident's language (a wire code) as staff reading ``reader`` call it: built in, or from its pack."""
    if code in BUILT_IN_NAMES:
        return BUILT_IN_NAMES[code].get(reader, BUILT_IN_NAMES[code]["en"])
    pack = packs.get(code)
    return pack.name_in(reader) if pack is not None else code
