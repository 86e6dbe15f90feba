"""Kiosk and console settings read from a .env file as IT would write it (copied from .env.example)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kiosk.settings import KioskSettings

ROOT = Path(__file__).resolve().parents[1]

def test_an_env_file_copied_from_the_example_starts_the_kiosk_and_console(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """.env.example ships ``MADOGUCHI_CA_FILE=`` empty: read from a .env, that means "no CA file" (the system's
    CAs), not the current directory — which made every kiosk and console refuse to start ("cannot read the CA
    file .")."""
    from signaling.tls import client_context
    from staff_console.settings import ConsoleSettings

    for key in [k for k in os.environ if k.startswith("MADOGUCHI_")]:
        monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text("utf-8"), "utf-8")
    kiosk, console = KioskSettings(), ConsoleSettings()
    assert kiosk.ca_file is None and console.ca_file is None
    assert kiosk.languages_dir is None
    client_context(kiosk.ca_file)  # no error: the system's CAs
    client_context(console.ca_file)
