"""The offline speech engines render real audio; every screen has words to say in every catalog language;
a language file with no engine stays silent, one with an engine but no ``speech.*`` entries reads its screen."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kiosk.app import I18N
from kiosk.speech import wav
from kiosk.speech.cache import SpeechCache
from kiosk.speech.engines import ESpeakNG, OpenJTalk, SpeechError, engine_for, render
from kiosk.speech.texts import SPOKEN, speech_key, speech_text
from signaling.i18n import Catalog

PHRASES = {"ja": "職員を呼んでいます。このままお待ちください。",
           "en": "We are calling a specialist. Please wait here."}


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_engine_renders_speech(tmp_path: Path, language: str) -> None:
    """Not silent, of a plausible length for the phrase (a speaking pace of 2–7 syllables a second), once."""
    engine = engine_for(language)
    assert engine is not None and engine.available(), f"no engine for {language}: run scripts/sysdeps.sh"
    cache = SpeechCache(tmp_path, shipped=None)
    first = await cache.get(engine, PHRASES[language])
    assert not first.cached and cache.rendered == 1
    pcm = wav.for_speaker(first.path, 1.0)
    assert 1.5 < pcm.seconds < 8.0, pcm.seconds
    assert pcm.rms > 0.03, pcm.rms  # speech, not a header and silence
    # voiced most of the time: at most half of the 20 ms windows are (near) silent
    frames = pcm.samples[: len(pcm.samples) // 960 * 960].reshape(-1, 960).astype(float) / 32768
    quiet = (abs(frames).max(axis=1) < 0.01).mean()
    assert quiet < 0.5, quiet
    again = await cache.get(engine, PHRASES[language])
    assert again.cached and again.path == first.path and cache.rendered == 1  # the second time: from disk
    softer = wav.for_speaker(first.path, 0.35)
    assert softer.rms == pytest.approx(pcm.rms * 0.35, rel=0.02)


async def test_engine_failures_are_errors_not_hangs(tmp_path: Path) -> None:
    with pytest.raises(SpeechError):
        await render(ESpeakNG("xx"), "hello", tmp_path / "x.wav")
    assert not ESpeakNG("xx").available()
    missing = OpenJTalk(htsvoice=tmp_path / "none.htsvoice")
    assert not missing.available()
    with pytest.raises(SpeechError):
        await render(missing, "こんにちは", tmp_path / "y.wav")


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_screen_has_speech_in_the_catalog(language: str) -> None:
    """Written to be heard, in the language's own file (no fallback to the visible lines for ja and en)."""
    cat = Catalog(I18N)
    missing = [speech_key(p) for p in SPOKEN if cat.lookup(speech_key(p), language) is None]
    assert missing == []
    for page in SPOKEN:
        text = speech_text(cat, language, page)
        assert text and "{" not in text


def _catalog_with(tmp_path: Path, extra: dict[str, dict[str, str]]) -> Catalog:
    for f in I18N.glob("*.json"):
        shutil.copy(f, tmp_path / f.name)
    for code, table in extra.items():
        (tmp_path / f"{code}.json").write_text(json.dumps(table, ensure_ascii=False), "utf-8")
    return Catalog(tmp_path)


async def test_a_new_language_file_speaks_or_stays_silent(tmp_path: Path) -> None:
    """German with screen texts but no ``speech.*``: eSpeak NG reads the screen's own lines. A made-up code:
    no engine, silent. ``_speech: none`` silences a language on purpose. Easy Japanese (``ja-easy``): Open JTalk,
    its own words where it has them, ``ja.json``'s elsewhere."""
    cat = _catalog_with(tmp_path, {
        "de": {"_language": "Deutsch", "welcome.title": "Sozialberatung", "welcome.lead": "Sprechen Sie mit uns",
               "welcome.start_hint": "Bitte hier drücken"},
        "zz": {"_language": "Zz", "welcome.title": "zz zz"},
        "fr": {"_language": "Français", "_speech": "none", "speech.welcome": "Bonjour"},
        "ja-easy": {"_language": "やさしい日本語", "speech.welcome": "そうだんの まどぐちです。"},
    })
    assert speech_text(cat, "de", "welcome") == "Sozialberatung. Sprechen Sie mit uns. Bitte hier drücken."
    assert speech_text(cat, "de", "services") is None  # no German words for it: never Japanese read in German
    de = engine_for("de", cat.lookup("_speech", "de"))
    assert isinstance(de, ESpeakNG) and de.available()
    out = await SpeechCache(tmp_path / "cache", shipped=None).get(de, "Sozialberatung")
    assert wav.for_speaker(out.path, 1.0).rms > 0.03

    zz = engine_for("zz", cat.lookup("_speech", "zz"))
    assert zz is not None and not zz.available()
    assert engine_for("fr", cat.lookup("_speech", "fr")) is None

    easy = engine_for("ja-easy", cat.lookup("_speech", "ja-easy"))
    assert isinstance(easy, OpenJTalk)
    assert speech_text(cat, "ja-easy", "welcome") == "そうだんの まどぐちです。"
    assert speech_text(cat, "ja-easy", "needs") == cat.lookup("speech.needs", "ja")
