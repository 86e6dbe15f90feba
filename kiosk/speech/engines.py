"""Offline text-to-speech engines: text in, a WAV file out, by a subprocess (never a network, never the GUI thread).

- Japanese: Open JTalk (Debian ``open-jtalk`` + ``open-jtalk-mecab-naist-jdic``) with an HTS voice; the
  default voice is "Mei" (MMDAgent, CC BY 3.0) shipped in ``kiosk/speech/voices/``, because Debian's
  ``hts-voice-nitech-jp-atr503-m001`` is not in its main archive. ``MADOGUCHI_KIOSK_VOICE_HTSVOICE`` names
  another ``.htsvoice`` file.
- Every other language: eSpeak NG (Debian ``espeak-ng``), when it has a voice for the language.

Which engine speaks a catalog language: the catalog's own ``_speech`` entry if it has one (``"open_jtalk"``,
``"espeak-ng:<voice>"`` or ``"none"``), else Open JTalk for ``ja`` and its variants (``ja-easy``), else eSpeak
NG with the language code. A language no engine speaks is silent, never an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

log = logging.getLogger("madoguchi.kiosk.speech")

VOICES = Path(__file__).resolve().parent / "voices"
DEFAULT_HTSVOICE = VOICES / "mei_normal.htsvoice"
DEFAULT_DICTIONARY = Path("/var/lib/mecab/dic/open-jtalk/naist-jdic")
ESPEAK_VOICES = {"en": "en-us"}  # a language code's eSpeak NG voice when it is not the code itself
RENDER_TIMEOUT_S = 30.0


class SpeechError(Exception):
    """An engine failed to render a text (missing binary or voice, bad exit, timeout)."""


class Engine(Protocol):
    @property
    def name(self) -> str: ...  # "open_jtalk", "espeak-ng"
    @property
    def voice(self) -> str: ...  # what, besides the text, decides the sound: part of the cache key

    def available(self) -> bool: ...
    def command(self, out: Path) -> list[str]: ...


def base_language(code: str) -> str:
    """``ja-easy`` → ``ja``; ``pt_BR`` → ``pt``."""
    return re.split(r"[-_]", code, maxsplit=1)[0].lower()


@functools.lru_cache(maxsize=8)
def _digest(path: Path, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _file_digest(path: Path) -> str:
    st = path.stat()
    return _digest(path, st.st_mtime_ns, st.st_size)


@dataclass
class OpenJTalk:
    """``open_jtalk -x DIC -m VOICE -ow OUT`` with the text on stdin."""

    htsvoice: Path = DEFAULT_HTSVOICE
    dictionary: Path = DEFAULT_DICTIONARY
    speed: float = 0.95  # a little slower than the voice's own pace: many residents are old
    binary: str = "open_jtalk"
    name: str = "open_jtalk"

    @property
    def voice(self) -> str:
        digest = _file_digest(self.htsvoice) if self.htsvoice.is_file() else "missing"
        return f"{self.htsvoice.stem}:{digest}:r{self.speed}"

    def available(self) -> bool:
        return shutil.which(self.binary) is not None and self.htsvoice.is_file() and \
            (self.dictionary / "sys.dic").is_file()

    def command(self, out: Path) -> list[str]:
        return [self.binary, "-x", str(self.dictionary), "-m", str(self.htsvoice), "-r", str(self.speed),
                "-ow", str(out)]


@dataclass
class ESpeakNG:
    """``espeak-ng -v VOICE -s WPM --stdin -w OUT``."""

    language_voice: str
    words_per_minute: int = 145  # eSpeak NG's default 175 is quick for a public kiosk
    binary: str = "espeak-ng"
    name: str = "espeak-ng"

    @property
    def voice(self) -> str:
        return f"{self.language_voice}:s{self.words_per_minute}"

    def available(self) -> bool:
        return shutil.which(self.binary) is not None and self.language_voice in espeak_voices(self.binary)

    def command(self, out: Path) -> list[str]:
        return [self.binary, "-v", self.language_voice, "-s", str(self.words_per_minute), "--stdin", "-w", str(out)]


_espeak_cache: dict[str, frozenset[str]] = {}


def espeak_voices(binary: str = "espeak-ng") -> frozenset[str]:
    """Every voice name and language eSpeak NG knows (``espeak-ng --voices``, read once)."""
    if binary not in _espeak_cache:
        import subprocess

        try:
            out = subprocess.run([binary, "--voices"], capture_output=True, text=True, timeout=10, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        names: set[str] = set()
        for line in out.splitlines()[1:]:
            cols = line.split()
            if len(cols) >= 2:
                names.add(cols[1].lower())  # the language column: en-us, vi, cmn, ...
        _espeak_cache[binary] = frozenset(names)
    return _espeak_cache[binary]


def engine_for(language: str, hint: str | None = None, *, htsvoice: Path | None = None,
               dictionary: Path | None = None) -> Engine | None:
    """The engine that speaks ``language`` (``hint``: the catalog's ``_speech`` entry), or None: silent."""
    if hint == "none":
        return None
    jtalk = OpenJTalk(htsvoice=htsvoice or DEFAULT_HTSVOICE, dictionary=dictionary or DEFAULT_DICTIONARY)
    if hint == "open_jtalk" or (hint is None and base_language(language) == "ja"):
        return jtalk
    if hint is not None and hint.startswith("espeak-ng:"):
        return ESpeakNG(hint.split(":", 1)[1])
    if hint is not None:
        log.warning("speech: unknown engine %r for %s (silent)", hint, language)
        return None
    base = base_language(language)
    return ESpeakNG(ESPEAK_VOICES.get(base, base))


async def render(engine: Engine, text: str, out: Path, timeout_s: float = RENDER_TIMEOUT_S) -> None:
    """Write ``text`` spoken by ``engine`` to ``out`` (WAV). The subprocess runs beside the event loop."""
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        proc = await asyncio.create_subprocess_exec(
            *engine.command(out), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, "LC_ALL": "C.UTF-8"})
    except FileNotFoundError as exc:
        raise SpeechError(f"{engine.name}: not installed") from exc
    try:
        _, err = await asyncio.wait_for(proc.communicate(text.encode("utf-8") + b"\n"), timeout_s)
    except TimeoutError as exc:
        await _end(proc)
        raise SpeechError(f"{engine.name}: no result within {timeout_s:.0f} s") from exc
    except asyncio.CancelledError:
        await _end(proc)  # no engine left running after its loop has gone (its exit is reported to the loop)
        raise
    if proc.returncode != 0 or _size(out) <= 44:  # 44: a WAV header with no sound
        raise SpeechError(f"{engine.name} exited {proc.returncode}: {err.decode(errors='replace').strip()[:200]}")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def _end(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
