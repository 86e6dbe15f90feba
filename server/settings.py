"""Server settings: environment variables with the ``MADOGUCHI_`` prefix (see .env.example)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from signaling.protocol.models import IceServer

DEV_SECRET_KEY = "dev-secret-change-me-0123456789abcdef"  # published (old .env.example): never accepted in production


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/madoguchi.db"
    redis_url: str = ""  # set when several server nodes run (they share the database and this Redis)
    node_id: str = ""  # this node's name among several (default: host-pid); must be unique
    redis_prefix: str = "madoguchi:"  # key prefix in Redis (one Redis may serve several regions or tests)
    node_lease_s: float = 10.0  # a node silent this long is declared lost (its clients reconnect long before)
    host: str = "127.0.0.1"
    port: int = 8400
    allowed_origins: list[str] = Field(default_factory=list)  # empty: non-browser clients only + same origin
    ice_servers: list[IceServer] = Field(default_factory=list)  # empty: host candidates only
    turn_secret: str = ""  # TURN REST shared secret (coturn use-auth-secret); creds valid turn_ttl_s
    turn_ttl_s: int = Field(default=3600, ge=60)

    # TURN for real (issue 10): clients use TURN-relayed candidates only (welcome ice_transport_policy "relay")
    ice_relay_only: bool = False

    offer_timeout_s: float = 20.0
    kiosk_grace_s: float = 60.0  # a disconnected kiosk keeps its ticket this long
    shared_pool_after_s: float = 300.0  # wait before a ticket is offered to other municipalities
    # a resident with a case number waits at most this long for the case's last specialist, then anyone (issue 12)
    case_prefer_wait_s: float = Field(default=120.0, ge=0)
    decline_hold_s: float = 120.0  # a declined ticket goes to others first; after this, decliners may get it again
    media_grace_s: float = 30.0
    ws_rate_per_s: float = 50.0
    ws_burst: int = 200
    gc_freeze_after_connects: int = 500  # freeze the heap after this many new sockets (server/gc_policy.py)
    gc_refresh_s: float = 3600.0  # thaw + full collection at a quiet moment at most this often (0: never)
    default_handle_time_s: float = 900.0  # wait estimate before any history exists
    # language packs, one file per language beyond ja/en (signaling/language_packs.py); empty: the shipped ones
    languages_dir: Path | None = None

    @field_validator("languages_dir", mode="before")
    @classmethod
    def _no_dir(cls, v: object) -> object:
        return None if v == "" else v  # an empty variable: the shipped packs (not the current directory)

    # monitor / report (issue 5)
    kiosk_offline_alert_s: float = 60.0
    wait_alert_s: float = 600.0
    quality_alert_loss_pct: float = 5.0
    quality_alert_rtt_ms: float = 400.0
    report_speed_kmh: float = 40.0
    report_co2_kg_per_km: float = 0.13

    # auth: signing key, tokens, brute-force limits (issue 10; server/signing_key.py, server/auth.py)
    secret_key: str = DEV_SECRET_KEY  # refused at start unless dev_insecure (signing_key.check_signing_key)
    dev_insecure: bool = False  # development only: accept the built-in or a short signing key
    access_token_ttl_s: int = Field(default=600, gt=0, le=600)  # <= 10 min; clients renew with a refresh token
    refresh_token_ttl_s: int = Field(default=12 * 3600, gt=0)  # a console's working day; rotated at every use
    kiosk_token_ttl_s: int = Field(default=600, gt=0, le=600)  # kiosks get a new one with their device secret
    auth_recheck_s: float = Field(default=1.0, gt=0, le=2.0)  # live sockets follow account changes this often
    # attempts per client address and per account (limits notation, several windows: a growing backoff)
    login_limit_per_address: str = "30/minute;300/hour"
    login_limit_per_account: str = "5/minute;20/hour"
    enroll_limit_per_address: str = "20/minute;100/hour"
    enroll_limit_per_kiosk: str = "5/minute;20/hour"
    hash_queue: int = Field(default=64, ge=1)  # password checks waiting for the hashing threads; beyond: 503
    hash_nice: int = Field(default=10, ge=0, le=19)  # CPU priority of the hashing threads (19 starves them)

    # kiosk health and alert delivery (issue 13 item 2; server/monitor/health.py, server/monitor/alert_*.py)
    health_stale_alert_s: float = Field(default=900.0, gt=0)  # an online kiosk silent this long: health_stale
    kiosk_min_version: str = ""  # e.g. "0.9.0": kiosks reporting an older version raise version_behind (critical)
    alert_check_s: float = Field(default=5.0, gt=0)  # how often alerts are evaluated for webhook/e-mail delivery
    alert_retry_base_s: float = Field(default=2.0, gt=0)  # first retry after a failed delivery; doubles each time
    alert_retry_max_s: float = Field(default=300.0, gt=0)  # ... up to this
    alert_webhook_url: str = ""  # POST JSON per alert raised/cleared; empty: no webhook
    alert_webhook_secret: str = ""  # HMAC-SHA256 key for the X-Madoguchi-Signature header
    alert_smtp_host: str = ""  # empty: no e-mail
    alert_smtp_port: int = 587
    alert_smtp_starttls: bool = True
    alert_smtp_user: str = ""  # empty: no SMTP login
    alert_smtp_password: str = ""
    alert_mail_from: str = ""
    alert_mail_to: list[str] = Field(default_factory=list)  # JSON list in the environment: ["it@example.jp"]

    # report PDF (issue 13)
    report_chromium: str = "/usr/bin/chromium"  # headless Chromium that prints the report to PDF

    # guests by link (issue 11, item 5; server/queue/guests.py, docs/protocol.md §guests)
    guest_link_ttl_s: float = 900.0  # an invitation link works this long after it is made, once, for one call
    guest_token_ttl_s: int = 14400  # the guest access token the link is traded for (the socket's auth)
    guest_public_url: str = ""  # the address guests' browsers reach this server at (links, QR); empty: the console's

    # callbacks (issue 12 item 4; server/queue/callbacks.py, README "Callbacks")
    # the time bands a resident may pick, in Japan time on weekdays (Mon-Fri; public holidays are not known)
    callback_hours: dict[str, list[int]] = Field(default_factory=lambda: {"am": [9, 12], "pm": [13, 17]})
    callback_min_lead_s: float = Field(default=1800.0, ge=0)  # a band is offered while this much of it is left
    callback_days: int = Field(default=2, ge=1, le=10)  # working days offered: today (if one) and the next
    callback_max_attempts: int = Field(default=3, ge=1)  # unanswered this many times: the task closes unreached
    # 「支所の職員を呼ぶ」 (issue 12 item 6; server/queue/branch_calls.py): a kiosk may call again this long after
    branch_call_min_interval_s: float = Field(default=60.0, ge=0)  # its last call (one open call at a time)
    # forms the resident confirms on the kiosk (issue 11 item 4; server/forms/registry.py): a folder of
    forms_dir: str = ""  # <service>.json definitions replacing the built-in server/forms/definitions/ (empty)

    # appointments (issue 12 item 3; server/queue/appointments.py, README "Appointments")
    appointment_no_show_s: float = Field(default=900.0, gt=0)  # not checked in this long after its start: released
    appointment_early_s: float = Field(default=3600.0, ge=0)  # a check-in up to this long before its time is taken
    appointment_grace_s: float = Field(default=300.0, ge=0)  # its specialist (on duty) alone, this long after its time
    appointment_horizon_s: float = Field(default=3600.0, ge=0)  # booked slots this close hold their specialist (waits)
    appointment_attempts: int = Field(default=10, ge=1)  # unknown numbers a kiosk may type within the window ...
    appointment_attempts_window_s: float = Field(default=600.0, gt=0)  # ... before it is refused for a while

    log_json: bool = True
    log_level: str = "INFO"

    # edge: hosts, browsers, ops endpoints, connections, logs, TLS (issue 10; README "Security and IT")
    max_connections: int = 0  # open sockets on this node (HTTP + WebSocket); 0: the open-file limit less 128
    max_connections_per_client: int = 256  # from one client address (a city hall behind NAT is one address)
    request_deadline_s: float = 10.0  # a connection must deliver a whole HTTP request within this (slowloris)
    log_repeat_limit: int = 10  # log lines from one call site per window; the rest are counted, not written
    log_repeat_window_s: float = 60.0
    tls_cert: str = ""  # PEM certificate chain: the server speaks HTTPS/WSS itself (both or neither with tls_key)
    tls_key: str = ""  # PEM private key of tls_cert (readable by the server's user only)
    allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "::1"])  # Host header
    # reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks); none by
    # default: a client's own X-Forwarded-For is never its address (brute-force limits, audit)
    trusted_proxies: list[str] = Field(default_factory=list)
    metrics_token: str = ""  # bearer token for a Prometheus scraper on /metrics (staff of role it/admin: own token)
    api_docs: bool = False  # serve /openapi.json (to it_monitor/admin tokens) and the /api-docs page; never a CDN

    # privacy: retention (issue 10, sec-audit; README "Privacy and audit", server/retention/records.py)
    # days each kind of personal record is kept; every record type needs a period (a missing one stops the server)
    retention_days: dict[str, int] = Field(default_factory=lambda: {
        "note": 1825, "feedback": 365, "session": 1825, "refresh_token": 30, "audit": 2190, "callback": 90})
    retention_run_s: float = 86400.0  # the in-server run: at start-up, then this often (0: only the CLI runs it)

    # administration (issue 13 item 1; server/admin_scope.py, /admin): administrators of this municipality (the
    # one that hosts the shared window) administer every municipality and the region-wide services; an
    # administrator of any other municipality only their own municipality's branches, kiosks and staff
    region_admin_municipality: str = "kitami"

    @field_validator("callback_hours")
    @classmethod
    def _callback_hours(cls, hours: dict[str, list[int]]) -> dict[str, list[int]]:
        if set(hours) != {"am", "pm"} or any(len(v) != 2 or not 0 <= v[0] < v[1] <= 24 for v in hours.values()):
            raise ValueError('callback_hours: {"am": [start, end], "pm": [start, end]}, whole hours 0-24, start < end')
        return hours

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
