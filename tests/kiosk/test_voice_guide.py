"""「音声案内」 on the real window against a real server and console: the real engines render each screen's
guidance, in order, through the kiosk's speaker output (no device here: the output runs "null", in real time);
the switch silences it, the volume scales it, a call silences it, and each resident starts from the defaults."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from kiosk.app import KioskApp
from kiosk.speech.guide import VOLUME_GAINS, Utterance
from signaling.observer import wait_for
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import TEST_PIN, choose_language, click, kiosk_app, shot
from tests.support import WAIT_S, Env, ManualClock, eventually

SPEECH = "local:speech"


class Heard:
    """The guide's signals, in order: ("request", page, language), ("spoken", Utterance), ("stop",)."""

    def __init__(self, app: KioskApp) -> None:
        assert app.speech is not None
        self.guide = app.speech
        self.events: list[tuple[Any, ...]] = []
        self.guide.requested.connect(lambda page, lang: self.events.append(("request", page, lang)))
        self.guide.spoken.connect(lambda u: self.events.append(("spoken", u)))
        self.guide.stopped.connect(lambda: self.events.append(("stop",)))

    def spoken(self) -> list[Utterance]:
        return [e[1] for e in self.events if e[0] == "spoken"]

    def pages(self) -> list[tuple[str, str]]:
        return [(u.page, u.language) for u in self.spoken()]

    def requests(self) -> list[tuple[str, str]]:
        return [(e[1], e[2]) for e in self.events if e[0] == "request"]

    async def said(self, page: str, language: str) -> Utterance:
        await eventually(lambda: self.spoken() and (self.spoken()[-1].page, self.spoken()[-1].language)
                         == (page, language), what=f"{page} said in {language}; heard {self.pages()}")
        u = self.spoken()[-1]
        assert u.status == "spoken" and u.seconds > 1.0 and u.rms > 0.005, u
        return u


async def test_screens_speak_in_order_and_the_switch_and_volume_work(sqlite_env: Env, tmp_path: Path) -> None:
    env = sqlite_env
    console = await staff_controller(env, "takahashi")
    app = await kiosk_app(env, tmp_path, voice_cache_dir=tmp_path / "speech")  # an empty cache: rendered here
    ctl, w = app.controller, app.window
    heard = Heard(app)
    guide = heard.guide
    assert app.audio is not None
    try:
        assert guide.enabled and guide.volume == 2 and w.topbar.voice.isVisible() and w.topbar.voice.isChecked()
        assert set(guide.spoken_languages()) >= {"ja", "en"}
        assert heard.events == []  # the welcome screen at start-up says nothing: nobody has come yet
        QTest.mouseClick(w.welcome.lead, Qt.MouseButton.LeftButton)  # a first touch anywhere: the welcome
        welcome = await heard.said("welcome", "ja")
        assert "相談する" in welcome.text
        QTest.mouseClick(w.welcome.lead, Qt.MouseButton.LeftButton)  # once per resident
        assert heard.requests() == [("welcome", "ja")]

        click(w.welcome.start)
        services = await heard.said("services", "ja")
        assert services.text == w.ctx.catalog.lookup("speech.services", "ja") and not services.cached
        assert SPEECH in app.audio._sources  # handed to the speaker (the chime's output)
        click(w.services_page.buttons["guardianship"])  # nobody for it is signed in
        await heard.said("needs", "ja")
        click(w.needs.next)
        await heard.said("nospec", "ja")

        choose_language(w, "en")  # the same screen again, in the resident's new language
        await heard.said("nospec", "en")
        click(w.nospec.other)
        await heard.said("services", "en")
        await shot(w, "voice_services", "en")
        choose_language(w, "ja")
        back = await heard.said("services", "ja")
        assert back.cached  # said before: from the disk cache, no engine ran
        assert heard.pages() == [("welcome", "ja"), ("services", "ja"), ("needs", "ja"), ("nospec", "ja"),
                                 ("nospec", "en"), ("services", "en"), ("services", "ja")]
        assert heard.requests() == heard.pages()

        # volume: 中 → 大 → 小, each press answered by a sample at the new volume
        click(w.topbar.volume)
        loud = await heard.said("volume", "ja")
        assert guide.volume == 3 and loud.gain == VOLUME_GAINS[3]
        assert w.topbar.volume.text() == w.ctx.t("top.volume", level=w.ctx.t("top.volume.3"))
        click(w.topbar.volume)
        await eventually(lambda: len(heard.spoken()) == 9, what="the second volume sample")
        soft = await heard.said("volume", "ja")
        assert guide.volume == 1 and soft.text == loud.text
        assert abs(soft.rms / loud.rms - VOLUME_GAINS[1] / VOLUME_GAINS[3]) < 0.01
        await shot(w, "voice_services", "ja")

        # the switch off: silence at once, and the next screens say nothing
        click(w.topbar.voice)
        assert not guide.enabled and SPEECH not in app.audio._sources
        assert w.topbar.voice.text() == w.ctx.t("top.voice_off") and not w.topbar.volume.isEnabled()
        await shot(w, "voice_off_services", "ja")
        before = len(heard.events)
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        assert [e for e in heard.events[before:] if e[0] != "stop"] == []
        click(w.topbar.voice)  # on again: the screen it is on is said at once
        await heard.said("needs", "ja")

        # the call: the waiting screen speaks; the specialist answers: the guidance stops, the chime plays,
        # nothing is said while the call lasts
        assert await console.set_available()
        offered = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        click(w.needs.next)
        await heard.said("waiting", "ja")
        await offered
        sounds = app.audio.sounds_played
        assert await console.accept()
        await eventually(lambda: ctl.screen == "in_call")
        in_call = len(heard.events)
        assert heard.events[-1] == ("stop",) and SPEECH not in app.audio._sources
        assert app.audio.sounds_played > sounds  # the chime, the only cue
        ctl.set_language("en")  # (the call screen has no language buttons; the controller's event all the same)
        click(w.call.mute)
        await eventually(lambda: ctl.mesh is not None and ctl.mesh.muted)
        assert [e for e in heard.events[in_call:] if e[0] != "stop"] == []
        assert SPEECH not in app.audio._sources

        # feedback is said; the resident lowers the volume; sending it: thanks, and the next resident starts from
        # the kiosk's settings
        click(w.call.end)
        click(w.call.end_yes)
        await heard.said("feedback", "en")
        click(w.topbar.volume)  # 小 → 中
        await heard.said("volume", "en")
        click(w.topbar.volume)  # 中 → 大
        await heard.said("volume", "en")
        assert guide.volume == 3
        click(w.feedback.faces[4])
        click(w.feedback.send)
        await eventually(lambda: ctl.screen == "idle")
        thanks = await heard.said("thanks", "ja")  # the reset brought the kiosk's language back
        assert thanks.gain == VOLUME_GAINS[2] and guide.volume == 2 and guide.enabled
        assert w.topbar.volume.text() == w.ctx.t("top.volume", level=w.ctx.t("top.volume.2"))
        QTest.mouseClick(w.welcome.lead, Qt.MouseButton.LeftButton)  # the next resident's first touch
        await heard.said("welcome", "ja")
    finally:
        await app.stop()
        await console.stop()


async def test_default_off_inactivity_quiet_and_reset(sqlite_env: Env, tmp_path: Path) -> None:
    """MADOGUCHI_KIOSK_VOICE=off: no speech until the resident turns it on; "are you still there?" is said; a reset
    by inactivity says nothing and turns it off again for the next resident."""
    clock = ManualClock()
    app = await kiosk_app(sqlite_env, tmp_path, clock=clock, voice=False, voice_volume=1, inactivity_reset_s=30.0)
    ctl, w = app.controller, app.window
    heard = Heard(app)
    guide = heard.guide
    try:
        assert not guide.enabled and not w.topbar.voice.isChecked()
        assert w.topbar.voice.text() == w.ctx.t("top.voice_off")
        choose_language(w, "en")
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        assert heard.spoken() == []
        await shot(w, "voice_off_services", "en")
        click(w.topbar.voice)
        u = await heard.said("services", "en")
        assert u.gain == VOLUME_GAINS[1]
        assert w.topbar.voice.isChecked() and w.topbar.voice.text().endswith(w.ctx.t("top.voice_on"))
        click(w.services_page.back)  # back to the welcome screen: a reset by the resident
        await eventually(lambda: ctl.screen == "idle")
        await eventually(lambda: not guide.enabled and not w.topbar.voice.isChecked(),
                         what="the kiosk's default again")
        assert heard.spoken()[-1].page == "services"  # off again: the welcome is not said

        click(w.topbar.voice)  # this resident turns it on: the welcome is said
        await heard.said("welcome", "ja")
        click(w.welcome.start)
        await heard.said("services", "ja")
        clock.advance(16)  # untouched: "are you still there?" is said too
        ctl.check_inactivity()
        await heard.said("idle_warning", "ja")
        n = len(heard.spoken())
        clock.advance(15)  # still nobody: reset by inactivity, quietly
        ctl.check_inactivity()
        assert ctl.screen == "idle" and not guide.enabled and heard.events[-1] == ("stop",)
        assert len(heard.spoken()) == n

        # IT's self-check says which languages speak, with which engine
        assert ctl.unlock_selfcheck(TEST_PIN)
        await eventually(lambda: w.selfcheck.results and not w.selfcheck.running, what="self-check done")
        voice = next(r for r in w.selfcheck.results if r.name == "voice")
        assert voice.ok and "ja: open_jtalk" in voice.detail and "en: espeak-ng" in voice.detail
        assert w.selfcheck.rows["voice"][1].text() == w.ctx.t("selfcheck.ok")
    finally:
        await app.stop()
