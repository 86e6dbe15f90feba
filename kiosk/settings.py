"""Kiosk settings: ``MADOGUCHI_KIOSK_`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from signaling import client


def default_credential_path() -> Path:
    return Path.home() / ".config" / "madoguchi" / "kiosk.json"


class KioskSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_KIOSK_", env_file=".env", extra="ignore")

    server_url: str = "http://127.0.0.1:8400"
    credential_file: Path = Field(default_factory=default_credential_path)
    media_source: str = "synthetic"  # synthetic | device | none
    video_device: str | None = None
    audio_device: str | None = None
    audio_output_device: str | None = None  # speaker (QtMultimedia description); None: the system default
    # WebRTC's audio processing (AEC3) on the microphone, for real devices (a kiosk has speakers, not a headset)
    echo_cancellation: bool = True
    noise_suppression: bool = True
    aec_delay_ms: int = 0  # extra known speaker→microphone delay; AEC3 estimates the rest itself
    video_width: int = 640
    video_height: int = 480
    video_fps: int = 15
    language: str = "ja"  # the kiosk's default: ja, en, or a language pack's code (ja-easy, vi)
    languages_dir: Path | None = None  # language packs (signaling/language_packs.py); None: the shipped ones

    @field_validator("languages_dir", "ca_file", mode="before")
    @classmethod
    def _no_path(cls, v: object) -> object:
        # an empty variable (.env.example ships MADOGUCHI_CA_FILE=) means none: the shipped packs, the system's
        # CAs — not the current directory, which pydantic makes of "" (every connection then failed to start)
        return None if v == "" else v
    # CA of the server's certificate (https): MADOGUCHI_KIOSK_CA_FILE, else MADOGUCHI_CA_FILE; None: the system's CAs
    ca_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("MADOGUCHI_KIOSK_CA_FILE", "MADOGUCHI_CA_FILE", "ca_file"))
    fullscreen: bool = True
    window_size: str = "1280x800"  # when not full screen
    text_scale: float = 1.0  # 1.0 = the normal large kiosk text; residents can enlarge it further on screen
    screen_dpi: float | None = None  # override a monitor that reports a wrong physical size
    general_service: str = "general"  # where "Not sure" leads
    chime: bool = True  # a sound when the specialist answers
    # 「音声案内」 (kiosk/speech/): spoken guidance on each screen before a call; the resident's switch and volume
    # return to these after each resident. MADOGUCHI_KIOSK_VOICE=on|off, MADOGUCHI_KIOSK_VOICE_VOLUME=1|2|3
    voice: bool = True
    voice_volume: int = Field(default=2, ge=1, le=3)
    voice_htsvoice: Path | None = None  # Open JTalk voice (.htsvoice); None: "Mei", shipped in kiosk/speech/voices
    voice_dictionary: Path | None = None  # Open JTalk dictionary; None: Debian's open-jtalk-mecab-naist-jdic
    voice_cache_dir: Path | None = None  # rendered phrases (default: beside the credential file)
    inactivity_reset_s: float = 90.0
    inactivity_warning_s: float = 20.0  # "are you still there?" this long before the reset
    feedback_timeout_s: float = 60.0
    callback_offer_after_s: float = 900.0  # a wait estimated at this or more offers 「折り返し電話」 (a callback)
    connect_timeout_s: float = 10.0
    media_grace_s: float = 30.0  # a dead media path is healed within this, else the call ends as cut off
    media_lost_after_s: float = 5.0  # nothing from the specialist for this long: the media path is dead
    request_timeout_s: float = 10.0  # no ack within this: the request counts as failed (offline)
    # health report to the IT monitor (issue 13; kiosk/services/health.py)
    health_interval_s: float = Field(default=300.0, gt=0)  # at start, then this often
    health_probe_timeout_s: float = Field(default=5.0, gt=0)  # no camera frame within this: no_frames
    document_camera_device: str | None = None  # e.g. /dev/video2; None: not installed
    # the document camera (書画カメラ, kiosk/documents.py): "synthetic" (a sample certificate page, for demo and
    # tests), "device" (the USB camera at document_camera_device), "none" (no 「書類を見せる」 button)
    document_camera_source: str = "synthetic"
    document_camera_width: int = Field(default=2592, ge=64)  # opened at this size: a still has it (5 MP here)
    document_camera_height: int = Field(default=1944, ge=64)
    document_camera_fps: int = Field(default=10, ge=1, le=60)
    document_video_width: int = Field(default=1280, ge=160)  # the call's video while a document is shown
    # the branch's printer (支所で印刷, kiosk/printing.py): a CUPS queue name (lpstat -p); None: no printer, and the
    # kiosk says so to the specialist. cups_server: the scheduler (a socket path or host:port; None: CUPS_SERVER,
    # else /run/cups/cups.sock, else localhost:631); a print not finished within print_timeout_s is cancelled
    printer: str | None = None
    cups_server: str | None = None
    print_timeout_s: float = Field(default=120.0, gt=0)
    outbox_file: Path | None = None  # reports kept for the server while it cannot be reached (default: beside
    #                                  the credential file)

    @property
    def outbox_path(self) -> Path:
        return self.outbox_file or self.credential_file.with_name(self.credential_file.stem + ".outbox.json")

    @property
    def voice_cache_path(self) -> Path:
        return self.voice_cache_dir or self.credential_file.with_name(self.credential_file.stem + ".speech")

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
