"""All kiosk logic, no widgets: the resident's journey as a state machine over the signaling client.

Screens: idle → choosing → needs → waiting → in_call → feedback → idle, plus
``offline`` as an overlay when the server cannot be reached. The controller
emits events (see :class:`~signaling.observer.Emitter`); the Qt window and
the headless CLI listen to them.

Events: ``screen``, ``connection``, ``services``, ``ticket``, ``no_specialist``,
``call_started``, ``call_ended``, ``participants``, ``chat``, ``call_status``,
``quality``, ``error``, ``reset``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from kiosk import __version__
from kiosk.services.credentials import KioskCredential
from kiosk.services.server_api import device_token
from kiosk.settings import KioskSettings
from signaling.call import CallMesh, LocalMedia
from signaling.client import ClientError, ConnState, NotConnected, RequestFailed, SignalingClient
from signaling.media import make_local_tracks
from signaling.observer import Emitter
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import (
    FeedbackSubmit,
    KioskState,
    ParticipantJoined,
    ParticipantLeft,
    RtcAnswerRelay,
    RtcOfferRelay,
    ServerMessage,
    SessionEnd,
    SessionEnded,
    SessionStart,
    TicketCancel,
    TicketCreate,
    TicketUpdate,
    Welcome,
)
from signaling.protocol.models import Need, Participant, ServiceInfo

log = logging.getLogger("madoguchi.kiosk")
FINAL_TICKET_STATES = ("cancelled", "abandoned", "done", "no_specialist")


@dataclass
class ResidentVisit:
    """Everything the resident saw or typed: cleared at once by :meth:`KioskController.reset`."""

    service_code: str | None = None
    needs: list[Need] = field(default_factory=list)
    ticket_id: int | None = None
    ticket_state: str | None = None
    position: int | None = None
    estimated_wait_s: float | None = None
    session_id: int | None = None
    participants: list[Participant] = field(default_factory=list)
    chat: list[tuple[str, str]] = field(default_factory=list)  # (who, text)
    feedback_session_id: int | None = None


class KioskController(Emitter):
    def __init__(self, settings: KioskSettings, credential: KioskCredential) -> None:
        super().__init__()
        self.settings = settings
        self.credential = credential
        self.client = SignalingClient(settings.ws_url, self._token, on_message=self._on_message,
                                      on_state=self._on_conn_state, app_version=f"kiosk/{__version__}")
        self.screen = "idle"
        self.connection: ConnState = "offline"
        self.services: list[ServiceInfo] = []
        self.visit = ResidentVisit()
        self.mesh: CallMesh | None = None
        self.media: LocalMedia | None = None
        self.call_started_at: float | None = None
        self.first_remote_frame_at: float | None = None
        self.last_activity = time.monotonic()
        self.branch = credential.branch
        self._idle_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self.client.start()
        self._idle_task = asyncio.create_task(self._inactivity_loop())

    async def stop(self) -> None:
        if self._idle_task is not None:
            self._idle_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._idle_task
        await self._end_call_media()
        await self.client.close()

    async def _token(self) -> str:
        return await device_token(self.settings.server_url, self.credential)

    # ------------------------------------------------------------ resident intents
    def touch(self) -> None:
        """Any interaction: postpones the inactivity reset."""
        self.last_activity = time.monotonic()

    def begin(self) -> None:
        self.touch()
        self._set_screen("choosing")

    def choose_service(self, code: str) -> None:
        self.touch()
        self.visit.service_code = code
        self._set_screen("needs")

    async def request_service(self, code: str | None = None, needs: list[Need] | None = None) -> bool:
        """Take a ticket. Returns False (and emits why) when it could not."""
        self.touch()
        code = code or self.visit.service_code
        if code is None:
            raise ValueError("no service chosen")
        self.visit.service_code, self.visit.needs = code, list(needs or [])
        try:
            data = await self.client.request(TicketCreate(service_code=code, needs=self.visit.needs,
                                                          language=self.settings.language))  # type: ignore[arg-type]
        except RequestFailed as exc:
            if exc.code == ErrorCode.NO_SPECIALIST:
                self.emit("no_specialist", {"service_code": code, **exc.details})
            elif exc.code == ErrorCode.CONFLICT and "ticket_id" in exc.details:
                self.visit.ticket_id = int(exc.details["ticket_id"])
                self._set_screen("waiting")
                return True
            else:
                self.emit("error", {"code": exc.code, "message": exc.message})
            return False
        except NotConnected as exc:
            self.emit("error", {"code": "offline", "message": str(exc)})
            return False
        self.visit.ticket_id = int(data["ticket_id"])
        self.visit.ticket_state = "waiting"
        self.visit.position, self.visit.estimated_wait_s = data.get("position"), data.get("estimated_wait_s")
        self._set_screen("waiting")
        self.emit("ticket", self._ticket_payload())
        return True

    async def cancel(self) -> None:
        """Cancel waiting (or leave the choice screens) and clear everything."""
        if self.visit.ticket_id is not None and self.visit.ticket_state in ("waiting", "offered"):
            with contextlib.suppress(ClientError):
                await self.client.request(TicketCancel(ticket_id=self.visit.ticket_id))
        self.reset()

    async def hang_up(self) -> None:
        if self.visit.session_id is None:
            return
        try:
            await self.client.request(SessionEnd(session_id=self.visit.session_id))
        except ClientError as exc:
            # the server will learn of it; locally the call is over for the resident
            log.info("hang-up not confirmed: %s", exc)
            await self._finish_call(self.visit.session_id, "resident_hangup")

    def send_chat(self, text: str) -> bool:
        text = text.strip()[:500]
        if not text or self.mesh is None:
            return False
        self.touch()
        self.mesh.send_chat(text)
        self.visit.chat.append(("me", text))
        self.emit("chat", {"who": "me", "text": text})
        return True

    def set_muted(self, muted: bool) -> None:
        if self.mesh is not None:
            self.mesh.set_muted(muted)

    def set_camera(self, on: bool) -> None:
        if self.mesh is not None:
            self.mesh.set_camera(on)

    async def submit_feedback(self, rating: int, saved_trip: bool | None) -> bool:
        sid = self.visit.feedback_session_id
        ok = False
        if sid is not None:
            try:
                await self.client.request(FeedbackSubmit(session_id=sid, rating=rating, saved_trip=saved_trip))
                ok = True
            except ClientError as exc:
                self.emit("error", {"code": getattr(exc, "code", "offline"), "message": str(exc)})
        self.reset()
        return ok

    def reset(self) -> None:
        """Privacy reset: forget everything of this resident and show the welcome screen."""
        self.visit = ResidentVisit()
        self.first_remote_frame_at = None
        self.call_started_at = None
        self._set_screen("idle")
        self.emit("reset", {})

    # ------------------------------------------------------------ server events
    async def _on_message(self, msg: ServerMessage) -> None:
        match msg:
            case TicketUpdate():
                await self._on_ticket(msg)
            case SessionStart():
                await self._on_session_start(msg)
            case RtcOfferRelay() | RtcAnswerRelay():
                if self.mesh is not None:
                    await self.mesh.on_signal(msg)
            case ParticipantJoined():
                self.visit.participants.append(msg.participant)
                self.emit("participants", {"participants": list(self.visit.participants), "joined": msg.participant})
            case ParticipantLeft():
                self.visit.participants = [p for p in self.visit.participants if p.peer != msg.peer]
                if self.mesh is not None:
                    await self.mesh.remove_peer(msg.peer)
                self.emit("participants", {"participants": list(self.visit.participants), "left": msg.peer})
            case SessionEnded():
                await self._finish_call(msg.session_id, msg.reason)

    async def _on_ticket(self, msg: TicketUpdate) -> None:
        if self.visit.ticket_id not in (None, msg.ticket_id):
            return
        if self.visit.ticket_id is None and msg.state in FINAL_TICKET_STATES:
            return
        self.visit.ticket_id, self.visit.ticket_state = msg.ticket_id, msg.state
        self.visit.service_code = msg.service_code
        if msg.position is not None:
            self.visit.position, self.visit.estimated_wait_s = msg.position, msg.estimated_wait_s
        if msg.state in ("abandoned", "cancelled"):
            self.reset()
            return
        if msg.state in ("waiting", "offered") and self.screen not in ("waiting",):
            self._set_screen("waiting")
        self.emit("ticket", {**self._ticket_payload(), "reason": msg.reason})

    async def _on_session_start(self, msg: SessionStart) -> None:
        if self.mesh is not None and self.mesh.session_id == msg.session_id:
            return  # resumed signaling; the media kept going
        await self._end_call_media()
        self.visit.session_id = msg.session_id
        self.visit.participants = list(msg.participants)
        specialist = next((p.peer for p in msg.participants if p.role == "specialist"), None)
        welcome = self.client.welcome
        audio, video = make_local_tracks(self.settings.media_source, width=self.settings.video_width,
                                         height=self.settings.video_height, fps=self.settings.video_fps,
                                         video_device=self.settings.video_device,
                                         audio_device=self.settings.audio_device)
        self.media = LocalMedia(audio, video)
        self.call_started_at = time.monotonic()
        self.mesh = CallMesh(self.client, msg.session_id, msg.you, welcome.ice_servers if welcome else [],
                             self.media, primary=specialist, emit=self._on_call_event,
                             connect_timeout_s=self.settings.connect_timeout_s,
                             media_grace_s=self.settings.media_grace_s)
        await self.mesh.start(msg.offer_to)
        self._set_screen("in_call")
        self.emit("call_started", {"session_id": msg.session_id, "participants": list(msg.participants)})

    def _on_call_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "chat":
            self.visit.chat.append((data["peer"], data["text"]))
            self.emit("chat", {"who": data["peer"], "text": data["text"]})
        elif name == "quality":
            self.emit("quality", data)
        else:
            self.emit("call_status", {"status": name, **data})

    async def _finish_call(self, session_id: int, reason: str) -> None:
        if self.visit.session_id != session_id:
            return
        await self._end_call_media()
        self.visit.session_id = None
        self.emit("call_ended", {"session_id": session_id, "reason": reason})
        if reason == "transferred":
            self._set_screen("waiting")
            return
        self.visit.feedback_session_id = session_id
        self.visit.chat.clear()
        self.touch()
        self._set_screen("feedback")

    async def _end_call_media(self) -> None:
        mesh, media = self.mesh, self.media
        self.mesh, self.media = None, None
        if mesh is not None:
            await mesh.close()
        if media is not None:
            media.stop()

    # ------------------------------------------------------------ helpers
    def remote_frame(self) -> Any:
        """Latest frame of the specialist (for the view to paint), or None."""
        link = self.mesh.link() if self.mesh is not None else None
        frame = link.call.latest_video_frame if link is not None else None
        if frame is not None and self.first_remote_frame_at is None:
            self.first_remote_frame_at = time.monotonic()
        return frame

    def _ticket_payload(self) -> dict[str, Any]:
        v = self.visit
        return {"ticket_id": v.ticket_id, "state": v.ticket_state, "position": v.position,
                "estimated_wait_s": v.estimated_wait_s, "service_code": v.service_code}

    def _set_screen(self, screen: str) -> None:
        if screen == self.screen:
            return
        self.screen = screen
        self.emit("screen", {"screen": screen})
        if self.connection == "online":
            self._spawn(self._report_screen(screen))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _report_screen(self, screen: str) -> None:
        with contextlib.suppress(ClientError):
            await self.client.request(KioskState(screen=screen))  # type: ignore[arg-type]

    def _on_conn_state(self, state: ConnState) -> None:
        self.connection = state
        if state == "online" and isinstance(self.client.welcome, Welcome):
            self.services = list(self.client.welcome.services)
            self.branch = self.client.welcome.branch or self.branch
            self.emit("services", {"services": self.services})
            self._spawn(self._report_screen(self.screen))
        self.emit("connection", {"state": state})

    async def _inactivity_loop(self) -> None:
        """Screens left untouched go back to the welcome screen (privacy), except waiting and calls."""
        while True:
            await asyncio.sleep(1.0)
            idle = time.monotonic() - self.last_activity
            if self.screen in ("choosing", "needs") and idle > self.settings.inactivity_reset_s:
                self.reset()
            elif self.screen == "feedback" and idle > self.settings.feedback_timeout_s:
                self.reset()
