"""Kiosk settings: ``MADOGUCHI_KIOSK_`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_credential_path() -> Path:
    return Path.home() / ".config" / "madoguchi" / "kiosk.json"


class KioskSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_KIOSK_", env_file=".env", extra="ignore")

    server_url: str = "http://127.0.0.1:8400"
    credential_file: Path = Field(default_factory=default_credential_path)
    media_source: str = "synthetic"  # synthetic | device | none
    video_device: str | None = None
    audio_device: str | None = None
    video_width: int = 640
    video_height: int = 480
    video_fps: int = 15
    language: str = "ja"
    fullscreen: bool = True
    inactivity_reset_s: float = 90.0
    feedback_timeout_s: float = 60.0
    selfcheck_pin: str = "0000"
    connect_timeout_s: float = 10.0
    media_grace_s: float = 30.0

    @property
    def ws_url(self) -> str:
        base = self.server_url.rstrip("/")
        return ("wss://" + base[8:] if base.startswith("https://") else "ws://" + base.removeprefix("http://")) + "/ws"
