"""Console settings: ``MADOGUCHI_CONSOLE_`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from signaling import client


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_CONSOLE_", env_file=".env", extra="ignore")

    server_url: str = "http://127.0.0.1:8400"
    media_source: str = "synthetic"  # synthetic | device | none
    video_device: str | None = None
    audio_device: str | None = None
    speaker_device: str | None = None  # output device description; None: the system default
    video_width: int = 640
    video_height: int = 480
    video_fps: int = 15
    language: str = "ja"
    # CA of the server's certificate (https): MADOGUCHI_CONSOLE_CA_FILE, else MADOGUCHI_CA_FILE; None: the system's CAs
    ca_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("MADOGUCHI_CONSOLE_CA_FILE", "MADOGUCHI_CA_FILE", "ca_file"))

    @field_validator("ca_file", mode="before")
    @classmethod
    def _no_path(cls, v: object) -> object:
        return None if v == "" else v  # an empty variable (as .env.example ships it): the system's CAs
    connect_timeout_s: float = 10.0
    media_grace_s: float = 30.0
    reconnect_max_s: float = 5.0  # longest pause between reconnect attempts (a specialist waits for this)
    request_timeout_s: float = 10.0  # no ack within this: the request counts as failed (offline)

    @property
    def server_urls(self) -> list[str]:
        """``server_url`` may list several server nodes, comma-separated: the client fails over between them."""
        return client.server_urls(self.server_url)

    @property
    def ws_urls(self) -> list[str]:
        return client.ws_urls(self.server_url)

    @property
    def ws_url(self) -> str:
        return self.ws_urls[0]
