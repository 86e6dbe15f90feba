"""The kiosk's health report (``kiosk.health``): camera, document camera, microphone, speaker, printer,
the signaling round trip and the software version. No widgets; the controller sends it.

Camera and microphone are probed as the self-check does (:func:`kiosk.services.selfcheck.check_media`, a
frame and a moment of sound), with ``health_probe_timeout_s``; the speaker through the window's probe. The
document camera (``document_camera_device``) and the printer (``printer``, a CUPS queue read with
``lpstat``) are ``not_installed`` unless configured. Only device names and figures leave the kiosk.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable

from kiosk.services import selfcheck
from kiosk.settings import KioskSettings
from signaling.protocol.models import DeviceHealth, DeviceState

LPSTAT = "lpstat"
# IPP printer-state-reasons (RFC 8011 §5.4.12, as CUPS prints them in "Alerts:"), most serious first
PRINTER_REASONS: tuple[tuple[str, DeviceState], ...] = (
    ("media-jam", "jam"), ("media-empty", "paper_out"), ("media-needed", "paper_out"),
    ("offline-report", "offline"), ("connecting-to-device", "offline"), ("shutdown", "offline"),
)


def media_devices(checks: list[selfcheck.Check]) -> list[DeviceHealth]:
    """Camera and microphone from the self-check's probes: a camera that opened but sent no frame in time is
    ``no_frames``; one that could not be opened ``missing``."""
    out: list[DeviceHealth] = []
    for c in checks:
        if c.name not in ("camera", "microphone"):
            continue
        if c.ok:
            state: DeviceState = "ok"
        elif "media_source=none" in c.detail:
            state = "not_installed"
        else:
            state = "missing"
        if not c.ok and "TimeoutError" in c.detail:  # opened, but nothing came in time
            state = "no_frames" if c.name == "camera" else "error"
        out.append(DeviceHealth(device=c.name, state=state, detail=c.detail[:160]))  # type: ignore[arg-type]
    return out


def speaker_device(probe: selfcheck.SpeakerProbe | None) -> DeviceHealth:
    if probe is None:  # the headless runner plays no sound: nothing to check, not a fault of the kiosk
        return DeviceHealth(device="speaker", state="not_installed", detail="no audio output in this program")
    ok, detail = probe()
    return DeviceHealth(device="speaker", state="ok" if ok else "missing", detail=detail[:160])


def document_camera_device(settings: KioskSettings) -> DeviceHealth:
    path = settings.document_camera_device
    if not path:
        return DeviceHealth(device="document_camera", state="not_installed")
    if path.startswith("/dev/") and not os.path.exists(path):
        return DeviceHealth(device="document_camera", state="missing", detail=path[:160])
    return DeviceHealth(device="document_camera", state="ok", detail=path[:160])


def printer_state(printer: str, returncode: int, output: str) -> DeviceHealth:
    """Read ``lpstat -l -p <printer>``: the queue's enabled/disabled line and its ``Alerts:`` (the IPP
    printer-state-reasons)."""
    if returncode != 0 or not output.strip():
        return DeviceHealth(device="printer", state="missing", detail=f"{printer}: {output.strip()[:100]}")
    text = output.lower()
    alerts = " ".join(re.findall(r"alerts:\s*(.*)", text))
    for reason, state in PRINTER_REASONS:
        if reason in alerts or reason in text:
            return DeviceHealth(device="printer", state=state, detail=f"{printer}: {reason}")
    first = text.splitlines()[0] if text else ""
    if " disabled" in first:
        return DeviceHealth(device="printer", state="offline", detail=f"{printer}: disabled")
    if re.search(r"\b[\w-]+-error\b", alerts):
        return DeviceHealth(device="printer", state="error", detail=f"{printer}: {alerts.strip()[:100]}")
    return DeviceHealth(device="printer", state="ok", detail=printer)


async def printer_device(settings: KioskSettings, timeout_s: float = 5.0) -> DeviceHealth:
    printer = settings.printer
    if not printer:
        return DeviceHealth(device="printer", state="not_installed")
    try:
        proc = await asyncio.create_subprocess_exec(
            LPSTAT, "-l", "-p", printer, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "LC_ALL": "C",  # the scheduler the kiosk prints on (kiosk/services/printer.py)
                 **({"CUPS_SERVER": settings.cups_server} if settings.cups_server else {})})
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except FileNotFoundError:
        return DeviceHealth(device="printer", state="error", detail="lpstat not found (install cups-client)")
    except TimeoutError:
        proc.kill()
        return DeviceHealth(device="printer", state="offline", detail=f"{printer}: lpstat timed out")
    return printer_state(printer, proc.returncode or 0, out.decode(errors="replace"))


async def probe_devices(settings: KioskSettings, speaker: selfcheck.SpeakerProbe | None,
                        media: list[DeviceHealth] | None = None) -> list[DeviceHealth]:
    """Every device's state. ``media``: camera and microphone as already known (during a call the devices
    are the call's and are not opened a second time)."""
    if media is None:
        checks = await selfcheck.check_media(settings, listen_s=0.2, timeout_s=settings.health_probe_timeout_s)
        media = media_devices(checks)
    printer = await printer_device(settings)
    return [*media, document_camera_device(settings), speaker_device(speaker), printer]


async def round_trip_ms(ping: Callable[[], Awaitable[object]]) -> float:
    t0 = time.perf_counter()
    await ping()
    return round((time.perf_counter() - t0) * 1000, 1)
