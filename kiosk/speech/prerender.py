"""Render every catalog phrase ahead of time (``make package`` does, into the bundle's
``kiosk/speech/prerendered/``): a new kiosk speaks each screen at once, from its first visit, and even where an
engine is missing on the PC (its phrases are already there).

    python -m kiosk.speech.prerender OUT_DIR [--htsvoice FILE] [--dictionary DIR]

Prints JSON: per language, the engine and how many phrases were rendered, or why it is silent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from kiosk.speech.cache import SpeechCache
from kiosk.speech.engines import SpeechError, engine_for
from kiosk.speech.texts import SPOKEN, speech_text
from signaling.i18n import Catalog

I18N = Path(__file__).resolve().parent.parent / "i18n"


async def prerender(catalog: Catalog, out: Path, *, htsvoice: Path | None = None,
                    dictionary: Path | None = None) -> dict[str, dict[str, Any]]:
    cache = SpeechCache(out, shipped=None)
    report: dict[str, dict[str, Any]] = {}
    for lang in catalog.languages():
        engine = engine_for(lang, catalog.lookup("_speech", lang), htsvoice=htsvoice, dictionary=dictionary)
        if engine is None or not engine.available():
            report[lang] = {"silent": "no engine" if engine is None else f"{engine.name} unavailable"}
            continue
        texts = {t for page in SPOKEN if (t := speech_text(catalog, lang, page))}
        failed = []
        for text in sorted(texts):
            try:
                await cache.get(engine, text)
            except SpeechError as exc:
                failed.append(str(exc))
        report[lang] = {"engine": f"{engine.name} {engine.voice}", "phrases": len(texts), "failed": failed}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--htsvoice", type=Path)
    parser.add_argument("--dictionary", type=Path)
    ns = parser.parse_args(argv)
    report = asyncio.run(prerender(Catalog(I18N, app="kiosk"), ns.out, htsvoice=ns.htsvoice,  # with the packs
                                   dictionary=ns.dictionary))
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 1 if any(r.get("failed") for r in report.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
