"""Build the packaged kiosk and console with PyInstaller (one folder each): ``make package``.

    python scripts/package.py [--dist dist] [--work build/pyinstaller] [kiosk] [console]

Output: ``<dist>/madoguchi-kiosk/madoguchi-kiosk`` and ``<dist>/madoguchi-console/madoguchi-console``, each with an
``_internal/`` folder holding Python, the Qt libraries and plugins, aiortc's and PyAV's native libraries and the
apps' translation files. Copy the whole folder to the PC (README: "Install a kiosk").

What PyInstaller does not find by itself is listed here, for the reason given beside it:
- the i18n catalogues (``kiosk/i18n``, ``staff_console/i18n``) and the language packs (``signaling/languages``)
  are read from beside the modules at run time;
- ``livekit.rtc`` (the kiosk's echo canceller) is imported lazily and loads ``liblivekit_ffi.so`` from its
  ``resources`` package by path, so both the module and the library are named;
- ``aiortc.codecs`` pick their encoders by MIME type at run time; ``av``'s hook already collects every submodule;
- Qt: the PySide6 hook collects the plugins of the Qt modules used (platforms incl. ``offscreen`` and ``xcb``,
  multimedia for the speaker); the ``wayland`` platform plugins are collected as well for Wayland kiosks.
- the kiosk's speech voice (``kiosk/speech/voices``) and every catalog phrase rendered ahead of time
  (``python -m kiosk.speech.prerender``, into ``kiosk/speech/prerendered`` in the bundle): the kiosk speaks each
  screen at once and, for these phrases, even on a PC without the engines (README: voice guidance);
- everything the apps never import (the server, the test and browser tools, Tk, matplotlib) is excluded so that
  an optional import somewhere cannot drag it in.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXCLUDED = ["server", "migrations", "tests", "bench", "tkinter", "matplotlib", "playwright", "pytest", "IPython",
            "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets", "PySide6.QtQuick", "PySide6.QtQml",
            "PySide6.Qt3DCore", "PySide6.QtCharts", "PySide6.QtDataVisualization"]  # not QtPdf: shared documents


@dataclass(frozen=True)
class AppBuild:
    name: str  # the program's name: madoguchi-kiosk, madoguchi-console
    entry: str  # the package whose __main__.py starts it
    i18n: str  # the package's translation folder
    hidden: list[str] = field(default_factory=list)
    collect_binaries: list[str] = field(default_factory=list)
    collect_submodules: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)  # more folders read from beside the modules at run time
    speech: bool = False  # pre-render the catalog's spoken guidance into the bundle


LANGUAGES = "signaling/languages"  # the language packs, one file per language (signaling/language_packs.py)
COMMON_HIDDEN = ["qasync", "PySide6.QtMultimedia", "PySide6.QtPdf"]
APPS = {
    "kiosk": AppBuild("madoguchi-kiosk", "kiosk", "kiosk/i18n",
                      hidden=[*COMMON_HIDDEN, "livekit.rtc", "kiosk.app"],
                      collect_binaries=["livekit"], collect_submodules=["aiortc.codecs", "livekit.rtc"],
                      data=["kiosk/speech/voices"], speech=True),
    "console": AppBuild("madoguchi-console", "staff_console", "staff_console/i18n",
                        hidden=[*COMMON_HIDDEN, "staff_console.app", "segno"],
                        collect_submodules=["aiortc.codecs"]),
}


def pyinstaller_args(app: AppBuild, dist: Path, work: Path) -> list[str]:
    args = [str(ROOT / app.entry / "__main__.py"), "--name", app.name, "--onedir", "--noconfirm", "--clean",
            "--log-level", "WARN", "--distpath", str(dist), "--workpath", str(work), "--specpath", str(work),
            "--paths", str(ROOT), "--add-data", f"{ROOT / app.i18n}{os.pathsep}{app.i18n}",
            "--add-data", f"{ROOT / LANGUAGES}{os.pathsep}{LANGUAGES}"]
    for folder in app.data:
        args += ["--add-data", f"{ROOT / folder}{os.pathsep}{folder}"]
    if app.speech:
        args += ["--add-data", f"{work / 'speech'}{os.pathsep}kiosk/speech/prerendered"]
    for module in app.hidden:
        args += ["--hidden-import", module]
    for package in app.collect_binaries:
        args += ["--collect-binaries", package]
    for package in app.collect_submodules:
        args += ["--collect-submodules", package]
    for module in EXCLUDED:
        args += ["--exclude-module", module]
    return args


def build(names: list[str], dist: Path, work: Path) -> None:
    import PyInstaller.__main__

    for name in names:
        app = APPS[name]
        started = time.monotonic()
        if app.speech:
            prerender_speech(work / name / "speech")
        PyInstaller.__main__.run(pyinstaller_args(app, dist, work / name))
        size = sum(p.lstat().st_size for p in (dist / app.name).rglob("*") if p.is_file() and not p.is_symlink())
        print(f"package: {dist / app.name} ({size / 2**20:.0f} MiB) in {time.monotonic() - started:.0f} s",
              flush=True)


def prerender_speech(out: Path) -> None:
    """Every catalog phrase of the kiosk, rendered now by the engines of this machine (scripts/sysdeps.sh)."""
    import asyncio
    import json

    sys.path.insert(0, str(ROOT))
    from kiosk.speech.prerender import I18N, prerender
    from signaling.i18n import Catalog

    report = asyncio.run(prerender(Catalog(I18N, app="kiosk"), out))  # with the language packs
    print(f"package: speech {json.dumps(report, ensure_ascii=False)}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("apps", nargs="*", metavar="APP", help=f"{' | '.join(APPS)} (default: both)")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller")
    ns = parser.parse_args(argv)
    unknown = sorted(set(ns.apps) - set(APPS))
    if unknown:
        parser.error(f"unknown app {', '.join(unknown)}: choose from {', '.join(APPS)}")
    build(ns.apps or list(APPS), ns.dist.resolve(), ns.work.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
