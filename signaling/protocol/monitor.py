"""The monitor feed's wire shapes (``/monitor/feed``): the allow-list of what an IT monitor may see.

Every field the page can ever receive is declared here; the snapshot builder
fills these models field by field, so a new column in the database never
leaks into the feed by accident. Nothing here names a resident, and nothing
carries note text, chat or SDP (DESIGN §6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FeedModel(BaseModel):
    """Server → page only; like every server → client shape, readers ignore fields they do not know."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class Place(FeedModel):
    municipality_ja: str
    municipality_en: str
    branch_ja: str
    branch_en: str


class DeviceStatus(FeedModel):
    device: str  # camera/document_camera/microphone/speaker/printer
    state: str  # ok/not_installed/missing/no_frames/paper_out/jam/offline/error
    detail: str  # device name and figures (e.g. "synthetic 640x480"), never content


class HealthView(FeedModel):
    """The kiosk's latest ``kiosk.health`` report."""

    reported_at: datetime
    age_s: float
    rtt_ms: float | None
    app_version: str
    devices: list[DeviceStatus] = Field(default_factory=list)


class KioskRow(FeedModel):
    id: int
    name: str  # the device name an administrator gave it
    place: Place
    state: Literal["online", "offline", "not_enrolled"]
    last_seen_at: datetime | None
    offline_s: float | None  # how long it has been offline (None while online or never seen)
    app_version: str
    screen: str  # idle/choosing/needs/waiting/in_call/feedback/selfcheck/offline
    ticket_state: str | None  # waiting/offered/in_call/wrap_up when it has an active ticket
    health: HealthView | None = None  # None until the kiosk's first health report


class StaffRow(FeedModel):
    id: int
    name: str  # staff display name (employees, not residents)
    municipality_ja: str
    municipality_en: str
    role: str
    status: str  # offline/available/away/offered/in_call/wrap_up
    reason: str  # away reason code such as no_answer
    connected: bool


class QueueRow(FeedModel):
    service_code: str
    name_ja: str
    name_en: str
    waiting: int
    longest_wait_s: float | None
    available: int  # specialists with this skill who are available now
    on_duty: int  # ... who are available, offered, in a call or in wrap-up
    callbacks: int = 0  # callback tasks not yet done (open or claimed): a count, never a number or a name


class Quality(FeedModel):
    rtt_ms: float | None = None
    loss_pct: float | None = None
    bitrate_kbps: float | None = None
    fps: float | None = None
    age_s: float  # seconds since this side last reported


class SessionRow(FeedModel):
    id: int
    place: Place
    service_code: str
    service_ja: str
    service_en: str
    duration_s: float
    media: Literal["connecting", "connected"]
    setup_ms: float | None
    participants: int
    kiosk: Quality | None
    staff: Quality | None
    bad_quality: bool
    language: str = "ja"     # the resident's language (1.14): metadata, as the service is
    language_ja: str = ""    # its name as Japanese and English readers say it (日本語 / ベトナム語 / Vietnamese)
    language_en: str = ""


class Alert(FeedModel):
    kind: Literal["kiosk_offline", "quality", "long_wait", "media_not_connected", "device", "printer",
                  "version_behind", "health_stale"]
    severity: Literal["warning", "critical"]
    key: str  # stable identity, e.g. "kiosk_offline:3", for the page to keep its place
    place: Place | None = None
    service_ja: str = ""
    service_en: str = ""
    kiosk_id: int | None = None
    session_id: int | None = None
    side: Literal["kiosk", "staff", ""] = ""
    device: str = ""  # device and printer alerts: which device, in which state
    state: str = ""
    version: str = ""  # version_behind: the kiosk's version and the one expected (minimum or newest seen)
    expected: str = ""
    metric: Literal["offline_s", "wait_s", "loss_pct", "rtt_ms", "setup_s", "device", "version", "report_age_s"]
    value: float
    threshold: float


class Thresholds(FeedModel):
    kiosk_offline_alert_s: float
    wait_alert_s: float
    quality_alert_loss_pct: float
    quality_alert_rtt_ms: float
    media_connect_alert_s: float
    health_stale_alert_s: float = 0.0
    kiosk_min_version: str = ""


class Counts(FeedModel):
    kiosks_online: int
    kiosks: int
    staff_available: int
    staff_on_duty: int
    waiting: int
    live_sessions: int
    alerts: int
    callbacks: int = 0  # callback tasks not yet done, all services


class Snapshot(FeedModel):
    type: Literal["snapshot"] = "snapshot"
    at: datetime
    node_local: bool = False  # True only from servers before several nodes: online/offline was one node's view
    thresholds: Thresholds
    counts: Counts
    alerts: list[Alert] = Field(default_factory=list)
    kiosks: list[KioskRow] = Field(default_factory=list)
    staff: list[StaffRow] = Field(default_factory=list)
    queues: list[QueueRow] = Field(default_factory=list)
    sessions: list[SessionRow] = Field(default_factory=list)


class Hello(FeedModel):
    type: Literal["hello"] = "hello"
    role: str
    display_name: str
    interval_s: float


class TokenRefresh(FeedModel):
    type: Literal["token"] = "token"
    access_token: str
    expires_in: int


class FeedError(FeedModel):
    type: Literal["error"] = "error"
    status: int  # 401 or 403, as the HTTP API would answer
    code: str
    message: str
