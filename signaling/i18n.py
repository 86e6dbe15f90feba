"""Translation catalogs: one JSON file per language (``ja.json``, ``en.json``, ...) in an app's i18n folder.

A third language is a new file, not code: :meth:`Catalog.languages` lists every
``*.json`` found. Keys missing in a language fall back to Japanese, then to the
key itself (so a missing string is visible, never a crash).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FALLBACK = "ja"


class Catalog:
    def __init__(self, folder: Path, language: str = FALLBACK) -> None:
        self.folder = folder
        self._tables: dict[str, dict[str, str]] = {}
        for path in sorted(folder.glob("*.json")):
            self._tables[path.stem] = json.loads(path.read_text("utf-8"))
        if FALLBACK not in self._tables:
            raise FileNotFoundError(f"no {FALLBACK}.json in {folder}")
        self.language = language if language in self._tables else FALLBACK

    def languages(self) -> list[str]:
        return list(self._tables)

    def language_name(self, code: str) -> str:
        """Each file names its own language under the key ``_language``."""
        return self._tables.get(code, {}).get("_language", code)

    def set_language(self, language: str) -> None:
        if language not in self._tables:
            raise KeyError(f"no translation file for {language!r}")
        self.language = language

    def t(self, key: str, **params: Any) -> str:
        text = self._tables[self.language].get(key) or self._tables[FALLBACK].get(key) or key
        return text.format(**params) if params else text

    def lookup(self, key: str, language: str) -> str | None:
        """``key`` in ``language``'s own file only (no fallback), or None; ``_``-keys (the file's notes) too."""
        text = self._tables.get(language, {}).get(key)
        return text if text else None

    def keys(self, language: str) -> set[str]:
        return {k for k in self._tables[language] if not k.startswith("_")}
