"""All console logic, no widgets: status, queue, offers, calls, notes, wrap-up, transfer, history.

Events: ``connection``, ``status``, ``queue``, ``offer``, ``offer_revoked``,
``call_started``, ``call_ended``, ``participants``, ``chat``, ``call_status``,
``quality``, ``invite``, ``error``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from signaling.call import CallMesh, LocalMedia
from signaling.client import ClientError, ConnState, SignalingClient
from signaling.media import make_local_tracks
from signaling.observer import Emitter
from signaling.protocol.messages import (
    InviteAnswer,
    InviteIncoming,
    InviteRequest,
    Offer,
    OfferAccept,
    OfferDecline,
    OfferRevoked,
    ParticipantJoined,
    ParticipantLeft,
    QueueSnapshot,
    RtcAnswerRelay,
    RtcOfferRelay,
    ServerMessage,
    SessionEnd,
    SessionEnded,
    SessionJoin,
    SessionLeave,
    SessionStart,
    StatusSet,
    StatusUpdate,
    TransferRequest,
    WrapupDone,
)
from signaling.protocol.models import Participant, QueueItem, StaffState
from staff_console import __version__
from staff_console.services.server_api import StaffApi
from staff_console.settings import ConsoleSettings

log = logging.getLogger("madoguchi.console")


@dataclass
class CurrentCall:
    session_id: int
    ticket_id: int
    service_code: str
    branch: str
    municipality: str
    role: str  # specialist | third_party | supervisor
    participants: list[Participant]
    started_at: float = field(default_factory=time.monotonic)
    ended: bool = False
    end_reason: str = ""
    chat: list[tuple[str, str]] = field(default_factory=list)


class StaffController(Emitter):
    def __init__(self, settings: ConsoleSettings) -> None:
        super().__init__()
        self.settings = settings
        self.api = StaffApi(settings.server_url)
        self._password: str | None = None
        self.client: SignalingClient | None = None
        self.connection: ConnState = "offline"
        self.status = "offline"
        self.status_reason = ""
        self.queue: list[QueueItem] = []
        self.team: list[StaffState] = []
        self.offer: Offer | None = None
        self.offer_received_at: float | None = None
        self.call: CurrentCall | None = None
        self.wrapup_session_id: int | None = None
        self.mesh: CallMesh | None = None
        self.media: LocalMedia | None = None
        self.accepted_at: float | None = None
        self.pending_invite: InviteIncoming | None = None
        self.last_call_frames: dict[str, int] = {}

    # ------------------------------------------------------------ lifecycle
    @property
    def me(self) -> dict[str, Any]:
        return self.api.staff

    async def login(self, username: str, password: str) -> dict[str, Any]:
        staff = await self.api.login(username, password)
        self._password = password  # kept in memory only, to renew the short-lived token on reconnect
        self.client = SignalingClient(self.settings.ws_url, self._token, on_message=self._on_message,
                                      on_state=self._on_conn_state, app_version=f"console/{__version__}")
        await self.client.start()
        return staff

    async def _token(self) -> str:
        assert self._password is not None
        await self.api.login(self.api.staff["username"], self._password)
        assert self.api.token is not None
        return self.api.token

    async def stop(self) -> None:
        await self._end_call_media()
        if self.client is not None:
            await self.client.close()

    async def _request(self, msg: Any) -> dict[str, Any] | None:
        if self.client is None:
            return None
        try:
            return await self.client.request(msg)
        except ClientError as exc:
            self.emit("error", {"code": getattr(exc, "code", "offline"), "message": str(exc), "request": msg.type})
            return None

    # ------------------------------------------------------------ intents
    async def set_available(self) -> bool:
        return await self._request(StatusSet(status="available")) is not None

    async def set_away(self, reason: str = "break") -> bool:
        return await self._request(StatusSet(status="away", reason=reason)) is not None

    async def accept(self, ticket_id: int | None = None) -> bool:
        tid = ticket_id if ticket_id is not None else (self.offer.ticket_id if self.offer else None)
        if tid is None:
            return False
        self.accepted_at = time.monotonic()
        ok = await self._request(OfferAccept(ticket_id=tid)) is not None
        self.offer = None
        return ok

    async def decline(self) -> bool:
        if self.offer is None:
            return False
        tid, self.offer = self.offer.ticket_id, None
        return await self._request(OfferDecline(ticket_id=tid)) is not None

    async def hang_up(self) -> bool:
        if self.call is None or self.call.ended:
            return False
        if self.call.role != "specialist":
            return await self.leave()
        return await self._request(SessionEnd(session_id=self.call.session_id)) is not None

    async def leave(self) -> bool:
        if self.call is None:
            return False
        sid = self.call.session_id
        ok = await self._request(SessionLeave(session_id=sid)) is not None
        if ok:
            await self._end_call_media()
            self.call = None
            self.emit("call_ended", {"session_id": sid, "reason": "left", "wrap_up": False})
        return ok

    async def save_note(self, category: str, summary: str = "", follow_up: bool = False, follow_up_by: str = "",
                        referral_org: str = "", shared: bool = False) -> bool:
        sid = self.wrapup_session_id or (self.call.session_id if self.call else None)
        if sid is None:
            return False
        try:
            await self.api.save_note(sid, {"category": category, "summary": summary, "follow_up": follow_up,
                                           "follow_up_by": follow_up_by, "referral_org": referral_org,
                                           "shared": shared})
            return True
        except Exception as exc:
            self.emit("error", {"code": "note", "message": str(exc)})
            return False

    async def finish_wrapup(self) -> bool:
        if self.wrapup_session_id is None:
            return False
        ok = await self._request(WrapupDone(session_id=self.wrapup_session_id)) is not None
        if ok:
            self.wrapup_session_id = None
            self.call = None
        return ok

    async def transfer(self, *, service_code: str | None = None, staff_id: int | None = None) -> bool:
        if self.call is None:
            return False
        return await self._request(TransferRequest(session_id=self.call.session_id, service_code=service_code,
                                                   staff_id=staff_id)) is not None

    async def invite(self, staff_id: int) -> bool:
        if self.call is None:
            return False
        return await self._request(InviteRequest(session_id=self.call.session_id, staff_id=staff_id)) is not None

    async def answer_invite(self, accept: bool) -> bool:
        inv, self.pending_invite = self.pending_invite, None
        if inv is None:
            return False
        self.accepted_at = time.monotonic()
        return await self._request(InviteAnswer(session_id=inv.session_id, accept=accept)) is not None

    async def join_silently(self, session_id: int) -> bool:
        self.accepted_at = time.monotonic()
        return await self._request(SessionJoin(session_id=session_id)) is not None

    def send_chat(self, text: str) -> bool:
        text = text.strip()[:2000]
        if not text or self.mesh is None or self.call is None:
            return False
        self.mesh.send_chat(text)
        self.call.chat.append(("me", text))
        self.emit("chat", {"who": "me", "text": text})
        return True

    def set_muted(self, muted: bool) -> None:
        if self.mesh is not None:
            self.mesh.set_muted(muted)

    def set_camera(self, on: bool) -> None:
        if self.mesh is not None:
            self.mesh.set_camera(on)

    def remote_frames(self) -> dict[str, Any]:
        """Latest frame per participant for the views to paint."""
        if self.mesh is None:
            return {}
        return {peer: link.call.latest_video_frame for peer, link in self.mesh.links.items()}

    # ------------------------------------------------------------ server events
    async def _on_message(self, msg: ServerMessage) -> None:
        match msg:
            case StatusUpdate():
                self.status, self.status_reason = msg.status, msg.reason
                self.emit("status", {"status": msg.status, "reason": msg.reason})
            case QueueSnapshot():
                self.queue, self.team = list(msg.items), list(msg.staff)
                self.emit("queue", {"items": self.queue, "staff": self.team})
            case Offer():
                self.offer, self.offer_received_at = msg, time.monotonic()
                self.emit("offer", {"offer": msg})
            case OfferRevoked():
                if self.offer is not None and self.offer.ticket_id == msg.ticket_id:
                    self.offer = None
                self.emit("offer_revoked", {"ticket_id": msg.ticket_id, "reason": msg.reason})
            case SessionStart():
                await self._on_session_start(msg)
            case RtcOfferRelay() | RtcAnswerRelay():
                if self.mesh is not None:
                    await self.mesh.on_signal(msg)
            case ParticipantJoined():
                if self.call is not None:
                    self.call.participants.append(msg.participant)
                    self.emit("participants", {"participants": list(self.call.participants),
                                               "joined": msg.participant})
            case ParticipantLeft():
                if self.call is not None:
                    self.call.participants = [p for p in self.call.participants if p.peer != msg.peer]
                    self.emit("participants", {"participants": list(self.call.participants), "left": msg.peer})
                if self.mesh is not None:
                    await self.mesh.remove_peer(msg.peer)
            case InviteIncoming():
                self.pending_invite = msg
                self.emit("invite", {"invite": msg})
            case SessionEnded():
                await self._on_session_ended(msg)

    async def _on_session_start(self, msg: SessionStart) -> None:
        if self.mesh is not None and self.mesh.session_id == msg.session_id:
            return  # signaling resumed; media kept going
        await self._end_call_media()
        me = next((p for p in msg.participants if p.peer == msg.you), None)
        role = me.role if me is not None else "specialist"
        self.call = CurrentCall(session_id=msg.session_id, ticket_id=msg.ticket_id, service_code=msg.service_code,
                                branch=msg.branch, municipality=msg.municipality, role=role,
                                participants=list(msg.participants))
        resident = next((p.peer for p in msg.participants if p.role == "resident"), None)
        if msg.receive_only:
            audio, video = None, None
        else:
            audio, video = make_local_tracks(self.settings.media_source, width=self.settings.video_width,
                                             height=self.settings.video_height, fps=self.settings.video_fps,
                                             video_device=self.settings.video_device,
                                             audio_device=self.settings.audio_device)
        self.media = LocalMedia(audio, video)
        assert self.client is not None
        welcome = self.client.welcome
        self.mesh = CallMesh(self.client, msg.session_id, msg.you, welcome.ice_servers if welcome else [],
                             self.media, primary=resident, emit=self._on_call_event, receive_only=msg.receive_only,
                             connect_timeout_s=self.settings.connect_timeout_s,
                             media_grace_s=self.settings.media_grace_s, started_at=self.accepted_at)
        await self.mesh.start(msg.offer_to)
        self.emit("call_started", {"session_id": msg.session_id, "call": self.call})

    async def _on_session_ended(self, msg: SessionEnded) -> None:
        await self._end_call_media()
        if self.call is not None and self.call.session_id == msg.session_id:
            self.call.ended, self.call.end_reason = True, msg.reason
        if msg.wrap_up:
            self.wrapup_session_id = msg.session_id
        else:
            self.call = None
        self.emit("call_ended", {"session_id": msg.session_id, "reason": msg.reason, "wrap_up": msg.wrap_up})

    def _on_call_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "chat":
            if self.call is not None:
                self.call.chat.append((data["peer"], data["text"]))
            self.emit("chat", {"who": data["peer"], "text": data["text"]})
        elif name == "quality":
            self.emit("quality", data)
        else:
            self.emit("call_status", {"status": name, **data})

    async def _end_call_media(self) -> None:
        mesh, media = self.mesh, self.media
        self.mesh, self.media = None, None
        link = mesh.link() if mesh is not None else None
        if link is not None:
            self.last_call_frames = {"video": link.call.video_frames_received,
                                     "audio": link.call.audio_frames_received}
        if mesh is not None:
            await mesh.close()
        if media is not None:
            media.stop()

    def _on_conn_state(self, state: ConnState) -> None:
        self.connection = state
        self.emit("connection", {"state": state})

