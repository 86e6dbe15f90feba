"""When the kiosk sends its health report: at start (its first time online), then every
``health_interval_s`` on the controller's clock (injected; tests advance it), and as soon as it is online
again when a report fell due while it was offline. A report that fails is tried again after a minute (or
the interval, if shorter). While a call has camera and microphone, or may take them at any moment (a
resident waiting), they are not opened a second time: the report repeats their last probed state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kiosk import __version__
from kiosk.services import health, selfcheck
from kiosk.settings import KioskSettings
from signaling.client import ClientError, SignalingClient
from signaling.protocol.messages import KioskHealthReport, Ping
from signaling.protocol.models import DeviceHealth

log = logging.getLogger("madoguchi.kiosk.health")
RETRY_S = 60.0


class HealthReporter:
    def __init__(self, settings: KioskSettings, client: SignalingClient, clock: Callable[[], float],
                 speaker: Callable[[], selfcheck.SpeakerProbe | None], in_call: Callable[[], bool]) -> None:
        self.settings, self.client, self.clock = settings, client, clock
        self.speaker, self.in_call = speaker, in_call
        self.next_at: float | None = None  # None: due now (at start)
        self.running = False
        self.last: KioskHealthReport | None = None
        self.sent = 0

    def due(self, online: bool) -> bool:
        return online and not self.running and (self.next_at is None or self.clock() >= self.next_at)

    def claim(self, online: bool) -> bool:
        """True when a report is due, and then it is this caller's to send (with :meth:`report`): a second
        caller before the report has even started (the controller's tick and a reconnection in the same loop
        iteration) is told no, so one report goes out, not two."""
        if not self.due(online):
            return False
        self.running = True
        return True

    async def report(self) -> KioskHealthReport | None:
        """Probe and send now. Returns the report sent, or None when the server could not be reached."""
        self.running = True
        try:
            known: list[DeviceHealth] | None = None
            if self.in_call() and self.last is not None:
                known = [d for d in self.last.devices if d.device in ("camera", "microphone")]
            devices = await health.probe_devices(self.settings, self.speaker(), known)
            try:
                rtt = await health.round_trip_ms(lambda: self.client.request(Ping()))
                msg = KioskHealthReport(devices=devices, rtt_ms=rtt, app_version=f"kiosk/{__version__}")
                await self.client.request(msg)
            except ClientError as exc:
                log.info("health report not sent (%s); again in %.0f s", exc, min(RETRY_S, self.interval))
                self.next_at = self.clock() + min(RETRY_S, self.interval)
                return None
            self.last, self.sent = msg, self.sent + 1
            self.next_at = self.clock() + self.interval
            return msg
        finally:
            self.running = False

    @property
    def interval(self) -> float:
        return self.settings.health_interval_s
