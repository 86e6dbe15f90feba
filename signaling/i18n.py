"""Translation catalogs: one JSON file per language (``ja.json``, ``en.json``, ...) in an app's i18n folder,
plus the app's section of every language pack (:mod:`signaling.language_packs`, ``signaling/languages/``).

A new language is a new file, not code: :meth:`Catalog.languages` lists every ``*.json`` of the folder, then
every pack with a section for the app. A key missing in a language falls back to the pack's ``_fallback``
catalog (Vietnamese → English; やさしい日本語 → Japanese), then to Japanese, then to the key itself (so a
missing string is visible, never a crash).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from signaling.language_packs import LanguagePack, load_packs, wire_language

FALLBACK = "ja"


class Catalog:
    def __init__(self, folder: Path, language: str = FALLBACK, *, app: str | None = None,
                 packs: dict[str, LanguagePack] | None = None) -> None:
        """``app`` (``kiosk``, ``console``): also read that section of every language pack (``packs``, default:
        the packs in ``signaling/languages/``)."""
        self.folder = folder
        self._tables: dict[str, dict[str, str]] = {}
        self._fallback: dict[str, str] = {}
        for path in sorted(folder.glob("*.json")):
            self._tables[path.stem] = json.loads(path.read_text("utf-8"))
        if FALLBACK not in self._tables:
            raise FileNotFoundError(f"no {FALLBACK}.json in {folder}")
        self._own = list(self._tables)
        self.packs: dict[str, LanguagePack] = {}
        if app is not None:
            self.packs = load_packs() if packs is None else packs
            for code, pack in sorted(self.packs.items()):
                section = pack.sections.get(app)
                if section is not None and code not in self._tables:
                    self._tables[code] = {"_language": pack.name, **section}
                    self._fallback[code] = pack.fallback
        self.language = language if language in self._tables else FALLBACK

    def languages(self) -> list[str]:
        return list(self._tables)

    def own_languages(self) -> list[str]:
        """The languages of the app's own folder (each complete); the others come from language packs."""
        return list(self._own)

    def language_name(self, code: str) -> str:
        """Each file names its own language under the key ``_language``."""
        return self._tables.get(code, {}).get("_language", code)

    def wire_language(self, code: str | None = None) -> str:
        """The language the wire carries for a UI language (やさしい日本語 → ``ja``)."""
        return wire_language(code or self.language, self.packs)

    def set_language(self, language: str) -> None:
        if language not in self._tables:
            raise KeyError(f"no translation file for {language!r}")
        self.language = language

    def _lookup(self, language: str, key: str) -> str | None:
        seen: set[str] = set()
        lang: str | None = language
        while lang is not None and lang not in seen:
            seen.add(lang)
            text = self._tables.get(lang, {}).get(key)
            if text:
                return text
            lang = self._fallback.get(lang)
        return self._tables[FALLBACK].get(key)

    def t(self, key: str, **params: Any) -> str:
        text = self._lookup(self.language, key) or key
        return text.format(**params) if params else text

    def lookup(self, key: str, language: str) -> str | None:
        """``key`` in ``language``'s own file only (no fallback), or None; ``_``-keys (the file's notes) too."""
        text = self._tables.get(language, {}).get(key)
        return text if text else None

    def has(self, key: str) -> bool:
        return self._lookup(self.language, key) is not None

    def keys(self, language: str) -> set[str]:
        return {k for k in self._tables[language] if not k.startswith("_")}
