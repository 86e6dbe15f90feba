"""Rendered speech kept on disk, named by the hash of (engine, voice, text): a screen speaks at once the second
time, and after a restart. ``make package`` pre-renders every catalog phrase into a read-only folder shipped with
the kiosk (:mod:`kiosk.speech.prerender`), consulted first: a kiosk then speaks the catalog even before its
engines have run once (or without them)."""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from kiosk.speech.engines import Engine, render

SHIPPED = Path(__file__).resolve().parent / "prerendered"  # filled by `make package`; absent in a source tree


def cache_key(engine: str, voice: str, text: str) -> str:
    return hashlib.sha256(f"{engine}\0{voice}\0{text}".encode()).hexdigest()


@dataclass(frozen=True)
class Rendered:
    path: Path
    cached: bool  # found on disk (no engine ran)


class SpeechCache:
    def __init__(self, folder: Path, shipped: Path | None = SHIPPED) -> None:
        self.folder = folder
        self.shipped = shipped
        self._locks: dict[str, asyncio.Lock] = {}
        self.rendered = 0  # engine runs, for tests and the log

    def find(self, engine: Engine, text: str) -> Path | None:
        name = cache_key(engine.name, engine.voice, text) + ".wav"
        for folder in (self.shipped, self.folder):
            if folder is not None and (folder / name).is_file():
                return folder / name
        return None

    async def get(self, engine: Engine, text: str) -> Rendered:
        """The WAV of ``text`` by ``engine``: from disk, else rendered now (one render per phrase at a time)."""
        key = cache_key(engine.name, engine.voice, text)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            found = self.find(engine, text)
            if found is not None:
                return Rendered(found, True)
            final = self.folder / f"{key}.wav"
            tmp = self.folder / f".{key}.{os.getpid()}.tmp.wav"
            try:
                await render(engine, text, tmp)
                tmp.replace(final)  # whole files only: a crash mid-render leaves no half phrase
            finally:
                tmp.unlink(missing_ok=True)
            self.rendered += 1
            return Rendered(final, False)
