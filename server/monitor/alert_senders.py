"""The two ways an alert leaves the server: a signed webhook POST and an e-mail.

Webhook: ``POST alert_webhook_url`` with a JSON body (:func:`payload`) and headers
``X-Madoguchi-Event`` (raised/cleared), ``X-Madoguchi-Delivery`` (event id: the same on every retry),
``X-Madoguchi-Timestamp`` (unix seconds) and ``X-Madoguchi-Signature: sha256=<hex>``, the HMAC-SHA256 with
``alert_webhook_secret`` of ``<timestamp>.<body>``. Any answer but 2xx is a failure and is retried.

E-mail: one message per event through ``alert_smtp_host`` (STARTTLS and login when configured), Japanese
first and English below, sent by :mod:`smtplib` in a worker thread (never on the event loop).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import smtplib
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import httpx

from server.monitor.alert_watch import AlertEvent, Sender
from server.settings import Settings
from signaling.i18n import Catalog

TEXTS = Path(__file__).parent / "i18n"
SIGNATURE_HEADER = "X-Madoguchi-Signature"


def payload(event: AlertEvent) -> dict[str, Any]:
    return {"event": event.event, "id": event.id, "at": event.at.isoformat(),
            "alert": event.alert.model_dump(mode="json")}


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class WebhookSender(Sender):
    name = "webhook"

    def __init__(self, url: str, secret: str, timeout_s: float = 10.0) -> None:
        self.url, self.secret = url, secret
        self.http = httpx.AsyncClient(timeout=timeout_s)

    async def send(self, event: AlertEvent) -> None:
        body = json.dumps(payload(event), ensure_ascii=False, separators=(",", ":")).encode()
        ts = str(int(time.time()))
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Madoguchi-Event": event.event,
                   "X-Madoguchi-Delivery": event.id, "X-Madoguchi-Timestamp": ts}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, ts, body)
        r = await self.http.post(self.url, content=body, headers=headers)
        r.raise_for_status()

    async def close(self) -> None:
        await self.http.aclose()


def describe(event: AlertEvent, language: str) -> tuple[str, str]:
    """(subject line, body) of one event in one language, from the catalog in ``i18n/``."""
    cat = Catalog(TEXTS, language)
    a = event.alert
    where = ""
    if a.place is not None:
        where = f"{a.place.municipality_ja} {a.place.branch_ja}" if language == "ja" else \
            f"{a.place.branch_en}, {a.place.municipality_en}"
    what = cat.t(f"kind_{a.kind}")
    detail = ""
    if a.kind in ("device", "printer"):
        detail = cat.t("device_state", device=cat.t(f"device_{a.device}"), state=cat.t(f"state_{a.state}"))
    elif a.kind == "version_behind":
        detail = cat.t("version", version=a.version, expected=a.expected)
    else:
        detail = cat.t("value", metric=a.metric, value=a.value, threshold=a.threshold)
    subject = cat.t(f"subject_{event.event}", what=what, where=where)
    lines = [subject, "", detail, cat.t("kiosk", id=a.kiosk_id) if a.kiosk_id is not None else "",
             cat.t("severity", severity=cat.t(f"severity_{a.severity}")), cat.t("at", at=event.at.isoformat()),
             cat.t("alert_key", alert_key=a.key)]
    return subject, "\n".join(line for line in lines if line)


def message(event: AlertEvent, sender: str, to: list[str]) -> EmailMessage:
    subject_ja, body_ja = describe(event, "ja")
    _, body_en = describe(event, "en")
    msg = EmailMessage()
    msg["Subject"] = subject_ja
    msg["From"], msg["To"] = sender, ", ".join(to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=event.id)
    msg["X-Madoguchi-Alert"] = f"{event.event} {event.alert.key}"
    msg.set_content(f"{body_ja}\n\n----\n\n{body_en}\n")
    return msg


class MailSender(Sender):
    name = "email"

    def __init__(self, settings: Settings, timeout_s: float = 15.0) -> None:
        self.s = settings
        self.timeout_s = timeout_s

    def _send_blocking(self, msg: EmailMessage) -> None:
        s = self.s
        with smtplib.SMTP(s.alert_smtp_host, s.alert_smtp_port, timeout=self.timeout_s) as smtp:
            if s.alert_smtp_starttls:
                smtp.starttls()
            if s.alert_smtp_user:
                smtp.login(s.alert_smtp_user, s.alert_smtp_password)
            smtp.send_message(msg)

    async def send(self, event: AlertEvent) -> None:
        msg = message(event, self.s.alert_mail_from, self.s.alert_mail_to)
        await asyncio.to_thread(self._send_blocking, msg)


def senders(settings: Settings) -> list[Sender]:
    out: list[Sender] = []
    if settings.alert_webhook_url:
        out.append(WebhookSender(settings.alert_webhook_url, settings.alert_webhook_secret))
    if settings.alert_smtp_host and settings.alert_mail_to and settings.alert_mail_from:
        out.append(MailSender(settings))
    return out
