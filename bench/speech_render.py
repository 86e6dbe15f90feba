"""How long a screen's spoken guidance takes to be ready: rendered by the engine (the first time) beside played
from the disk cache (every later time, and what ``make package`` pre-renders), in the same run.

For each catalog language with an engine and each spoken page (kiosk/speech/texts.py): ``--runs`` renders into
an empty cache folder (engine subprocess + WAV write), then as many cache hits (lookup + read + resample +
normalise: what the guide does before handing the samples to the speaker). Prints one JSON object: per language,
the medians over all phrases and runs, the seconds of speech, and the ratio render / cached.

Run: ``python -m bench.speech_render [--runs 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from kiosk.speech import wav
from kiosk.speech.cache import SpeechCache
from kiosk.speech.engines import engine_for
from kiosk.speech.prerender import I18N
from kiosk.speech.texts import SPOKEN, speech_text
from signaling.i18n import Catalog


async def run(runs: int) -> dict[str, Any]:
    cat = Catalog(I18N, app="kiosk")  # with the language packs
    out: dict[str, Any] = {"runs": runs}
    for lang in cat.languages():
        engine = engine_for(lang, cat.lookup("_speech", lang))
        if engine is None or not engine.available():
            out[lang] = {"silent": True}
            continue
        texts = [t for p in SPOKEN if (t := speech_text(cat, lang, p))]
        render_s: list[float] = []
        cached_s: list[float] = []
        speech_s: list[float] = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                cache = SpeechCache(Path(tmp), shipped=None)
                for text in texts:
                    t0 = time.perf_counter()
                    first = await cache.get(engine, text)
                    render_s.append(time.perf_counter() - t0)
                    assert not first.cached
                    t0 = time.perf_counter()
                    hit = await cache.get(engine, text)
                    pcm = wav.for_speaker(hit.path, 0.65)
                    cached_s.append(time.perf_counter() - t0)
                    assert hit.cached
                    speech_s.append(pcm.seconds)
        med_render, med_cached = statistics.median(render_s), statistics.median(cached_s)
        out[lang] = {"engine": f"{engine.name} {engine.voice}", "phrases": len(texts),
                     "render_median_ms": round(med_render * 1000, 1), "render_max_ms": round(max(render_s) * 1000, 1),
                     "cached_median_ms": round(med_cached * 1000, 1),
                     "speech_median_s": round(statistics.median(speech_s), 1),
                     "speech_max_s": round(max(speech_s), 1),
                     "ratio_render_vs_cached": round(med_render / med_cached, 1)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    ns = parser.parse_args()
    print(json.dumps(asyncio.run(run(ns.runs)), ensure_ascii=False))


if __name__ == "__main__":
    main()
