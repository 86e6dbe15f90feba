"""「音声案内」: each screen the resident reaches is spoken, in the resident's language, through the kiosk's speaker.

Follows the controller's events (never the widgets): a new screen interrupts what was being said and speaks its
own guidance (:mod:`kiosk.speech.texts`); a language switch says the screen again in the new language; nothing is
said during a call (the call's audio matters; the chime when the specialist answers is the only sound), and what
was playing stops when the call starts. After each resident (the controller's ``reset``) the switch and the
volume go back to the kiosk's settings (``MADOGUCHI_KIOSK_VOICE``, ``MADOGUCHI_KIOSK_VOICE_VOLUME``); a reset
by inactivity says nothing (nobody is there), one by the resident says the welcome (after feedback: thanks). On
the welcome screen the first touch anywhere says the welcome.

Audio goes out through the same mixing output as the chime and the call (:class:`signaling.qt.audio.AudioOutput`),
as its local source ``speech``; the volume scales the samples (three steps). Rendering is a subprocess
(:mod:`kiosk.speech.engines`) cached on disk (:mod:`kiosk.speech.cache`); the event loop never waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, Signal

from kiosk.speech import wav
from kiosk.speech.cache import SpeechCache
from kiosk.speech.engines import Engine, SpeechError, engine_for
from kiosk.speech.texts import SCREEN_PAGES, speech_text
from signaling.i18n import Catalog
from signaling.tasks import cancel_all

log = logging.getLogger("madoguchi.kiosk.speech")

VOLUME_GAINS = {1: 0.35, 2: 0.65, 3: 1.0}  # 小・中・大
SOURCE = "speech"  # the output's local source name
MAX_UTTERANCE_S = 120.0
HISTORY = 100


class Controller(Protocol):
    """What the guide reads of :class:`kiosk.controller.KioskController`."""

    @property
    def screen(self) -> str: ...
    @property
    def language(self) -> str: ...
    def on_any(self, listener: Callable[[str, dict[str, Any]], None]) -> None: ...


class Speaker(Protocol):
    """What the guide needs of :class:`signaling.qt.audio.AudioOutput`."""

    def play(self, pcm: bytes, name: str = "sound", max_s: float = 10.0) -> None: ...
    def forget(self, source: str) -> None: ...


@dataclass(frozen=True)
class Utterance:
    """One request's outcome: ``spoken`` (handed to the speaker), ``silent`` (no words or no engine for the
    language: ``reason``), ``failed`` (the engine broke: ``reason``)."""

    page: str
    language: str
    status: str
    text: str = ""
    engine: str = ""
    cached: bool = False
    seconds: float = 0.0
    gain: float = 0.0
    rms: float = 0.0
    reason: str = ""


class SpeechGuide(QObject):
    changed = Signal()  # the switch or the volume changed (the top bar follows)
    requested = Signal(str, str)  # page, language: asked to speak (before rendering)
    spoken = Signal(object)  # Utterance
    stopped = Signal()  # what was playing was cut (new screen, call, switch off, reset)

    def __init__(self, controller: Controller, catalog: Catalog, output: Speaker | None, cache: SpeechCache, *,
                 enabled: bool = True, volume: int = 2, htsvoice: Path | None = None,
                 dictionary: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.catalog = catalog
        self.output = output
        self.cache = cache
        self.default_enabled, self.default_volume = enabled, self._step(volume)
        self.enabled, self.volume = self.default_enabled, self.default_volume
        self.htsvoice, self.dictionary = htsvoice, dictionary
        self.history: list[Utterance] = []
        self._generation = 0
        self._tasks: set[asyncio.Future[None]] = set()
        self._engines: dict[str, tuple[Engine | None, bool]] = {}
        self._current = controller.screen
        self._before = self._current  # the screen before the current one
        self._greeted = False  # the welcome was said to this resident (a first touch on the welcome screen says it)
        controller.on_any(self._on_event)

    # ------------------------------------------------------------ the resident's switch and volume
    levels = len(VOLUME_GAINS)

    def set_enabled(self, on: bool) -> None:
        """On: the current screen is said at once (so the switch answers). Off: silence now."""
        if on == self.enabled:
            return
        self.enabled = on
        self.changed.emit()
        if on:
            self.say_screen()
        else:
            self.stop()

    def set_volume(self, step: int) -> None:
        """One of the steps 1..3; a short sample at the new volume answers the touch."""
        step = self._step(step)
        if step == self.volume:
            return
        self.volume = step
        self.changed.emit()
        self.say("volume")

    def on_change(self, listener: Callable[[], None]) -> None:
        self.changed.connect(listener)

    def touched(self) -> None:
        """Someone touched the screen (or a key): on the welcome screen, the first touch says the welcome, so a
        resident who cannot read it learns where the button is."""
        if self._current == "idle" and not self._greeted:
            self.say("welcome")

    @staticmethod
    def _step(step: int) -> int:
        return min(max(int(step), 1), len(VOLUME_GAINS))

    # ------------------------------------------------------------ which languages speak
    def engine(self, language: str) -> tuple[Engine | None, bool]:
        """(engine, whether it can render here); the engine alone still plays shipped pre-rendered phrases."""
        if language not in self._engines:
            engine = engine_for(language, self.catalog.lookup("_speech", language), htsvoice=self.htsvoice,
                                dictionary=self.dictionary)
            self._engines[language] = (engine, engine is not None and engine.available())
        return self._engines[language]

    def spoken_languages(self) -> dict[str, str]:
        """Catalog language → "engine voice" for each language this kiosk can speak (the rest are silent)."""
        out = {}
        for lang in self.catalog.languages():
            engine, usable = self.engine(lang)
            if engine is not None and usable:
                out[lang] = f"{engine.name} {engine.voice}"
        return out

    def probe(self) -> tuple[bool, str]:
        """For the self-check: every language with an engine can use it (``_speech: none`` ones are silent on
        purpose); the detail names each language's engine, or what is missing."""
        parts, ok = [], True
        for lang in self.catalog.languages():
            engine, usable = self.engine(lang)
            if engine is None:
                parts.append(f"{lang}: -")
            else:
                parts.append(f"{lang}: {engine.name}" + ("" if usable else " missing"))
                ok = ok and usable
        return ok, ", ".join(parts)

    # ------------------------------------------------------------ controller events
    def _on_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "screen":
            self._before = self._current
            self._current = data["screen"]
            if self._current == "idle":
                self.stop()  # a reset follows; it decides whether anything is said
            else:
                self.say_screen()
        elif name == "language":
            self.say_screen()
        elif name == "call_started":
            self.stop()
        elif name == "idle_warning":
            self.say("idle_warning")
        elif name == "reset":
            self.stop()
            self._greeted = False
            if (self.enabled, self.volume) != (self.default_enabled, self.default_volume):
                self.enabled, self.volume = self.default_enabled, self.default_volume
                self.changed.emit()
            if data.get("by_resident", True):
                self.say("thanks" if self._before == "feedback" else "welcome")

    def say_screen(self) -> None:
        page = SCREEN_PAGES.get(self._current)
        if page is None:
            self.stop()
        else:
            self.say(page)

    # ------------------------------------------------------------ speaking
    def say(self, page: str) -> None:
        """Speak ``page``'s guidance in the resident's language, cutting whatever was being said."""
        self.stop()
        if not self.enabled or self._current == "in_call":
            return
        if page == "welcome":
            self._greeted = True
        language = self.controller.language
        self.requested.emit(page, language)
        task = asyncio.ensure_future(self._speak(self._generation, page, language))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def stop(self) -> None:
        self._generation += 1  # a rendering under way is not played when it comes back
        if self.output is not None:
            self.output.forget(f"local:{SOURCE}")
        self.stopped.emit()

    def _finished(self, task: asyncio.Future[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("speech failed: %r", task.exception())

    async def _speak(self, generation: int, page: str, language: str) -> None:
        text = speech_text(self.catalog, language, page)
        engine, usable = self.engine(language)
        if text is None or engine is None:
            self._record(Utterance(page, language, "silent", text or "", reason="no text" if text is None
                                   else "no engine"))
            return
        found = self.cache.find(engine, text)
        if found is None and not usable:
            self._record(Utterance(page, language, "silent", text, engine.name, reason=f"{engine.name} unavailable"))
            return
        try:
            rendered = await self.cache.get(engine, text)
        except SpeechError as exc:
            log.warning("speech: %s", exc)
            self._record(Utterance(page, language, "failed", text, engine.name, reason=str(exc)))
            return
        if generation != self._generation or not self.enabled or self._current == "in_call":
            return  # another screen came meanwhile, or the switch went off, or a call started
        gain = VOLUME_GAINS[self.volume]
        pcm = wav.for_speaker(rendered.path, gain)
        if self.output is not None:
            self.output.play(pcm.tobytes(), SOURCE, MAX_UTTERANCE_S)
        self._record(Utterance(page, language, "spoken", text, engine.name, rendered.cached, pcm.seconds, gain,
                               pcm.rms))

    def _record(self, u: Utterance) -> None:
        self.history = [*self.history[-(HISTORY - 1):], u]
        self.spoken.emit(u)

    async def close(self) -> None:
        self.stop()
        await cancel_all(self._tasks)
