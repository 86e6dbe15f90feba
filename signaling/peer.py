"""One WebRTC call link (aiortc) between two endpoints: the wrapper used by kiosk and console.

Never imported by the server. aiortc has no trickle ICE and no ICE restart, so an SDP is returned
only after gathering completes, and a dead link is healed by the caller with a fresh ``CallPeer``.

API::

    peer = CallPeer(ice_servers=[...], audio=track|None, video=track|None, receive_only=False,
                    relay_only=False, connect_timeout_s=10, heartbeat_interval_s=1, media_lost_after_s=5,
                    label="")
    sdp = await peer.create_offer()          # offerer; or: sdp = await peer.accept_offer(offer_sdp)
    await peer.set_answer(answer_sdp)        # offerer only
    ms = await peer.wait_connected()         # ms from the first SDP step to "connected"
    await peer.wait_channel_open()           # data channel usable (shortly after "connected")
    peer.send_chat("...")                    # on_chat(text) on the other side
    peer.send_control({"whisper": True})     # on_control(dict) on the other side (app-level control)
    peer.send_message(StillRequest(...))     # on_message(msg) on the other side (signaling.protocol.channel)
    await peer.send_blob(begin, data)        # on_blob(begin, data) on the other side, size and SHA-256 checked
    peer.set_audio_muted(True); peer.set_video_enabled(False)   # silence / black frames
    stats = await peer.stats()               # CallStats; rates are measured between calls
    await peer.close()                       # idempotent; tells the other side "bye" first
    await peer.close(say_bye=False)          # a link being replaced: the other side heals over it

    peer.local_candidate_types()             # e.g. {"relay"}: what this side offered (after the SDP step)
    problem = await peer.turn_diagnosis()    # TurnProblem | None: why a configured TURN gave no relay

    attributes: connection_state, connect_ms, first_remote_video_at, first_remote_audio_at (monotonic),
                video_frames_received, audio_frames_received, latest_video_frame, media_lost_reason,
                remote_bye (the other side said "bye"), media_alive (connected, not lost, no bye, not closed)
    callbacks:  on_video_frame(frame), on_audio_frame(frame), on_chat(text), on_control(dict),
                on_message(ChannelMessage) (kinds beyond hb/chat/ctl/bye/blob.begin),
                on_blob(BlobBegin, bytes), on_blob_error(text), on_media_lost(), on_remote_closed()

Ownership: the peer sends the given tracks through a :class:`~signaling.media.GateTrack` and stops
them on :meth:`close` (aiortc's senders do the same). Pass a ``MediaRelay`` subscription to share one
source among several peers. With ``receive_only`` the tracks are ignored and left alone.

Liveness: both sides send ``{"kind": "hb"}`` every ``heartbeat_interval_s`` on the data channel
``"madoguchi"``. ``on_media_lost`` fires once, after "connected", when neither a data-channel message
nor an inbound frame has arrived for ``media_lost_after_s``, or when the connection goes
"failed"/"closed" without a "bye" (aiortc itself needs ~30 s to notice a dead path). A "bye" (the
remote called :meth:`close`) fires ``on_remote_closed`` instead, and the link is then no longer
``media_alive``: what to do about a link the other side left on purpose is the caller's decision
(:class:`~signaling.call.CallMesh` waits the media grace for a fresh link). Failures before
"connected" surface only through :meth:`wait_connected`.

TURN: ``relay_only`` sets aiortc's ``iceTransportPolicy`` to relay (aioice then gathers no host or
server-reflexive candidate at all). aiortc never says why a TURN server gave no relayed candidate; after
gathering, a configured TURN server without a relay candidate in our SDP is asked once more
(:func:`signaling.turn_check.probe_turn`) and the answer becomes a :class:`TurnFailed` — at once from
the SDP step when relay-only (nothing else could connect), else from :meth:`wait_connected` if host
candidates did not connect either.

Errors::

    CallError                 (signaling.media; re-exported here)
     ├── CallConnectTimeout   not connected within connect_timeout_s (e.g. wrong TURN credentials:
     │                        aiortc then gathers nothing and never reports failure)
     ├── CallFailed           connection failed or closed before connecting; unusable SDP
     │    └── TurnFailed      the TURN server refused the credential (``code`` "turn_auth": wrong
     │                        secret or expired) or did not answer ("turn_unreachable")
     └── MediaDeviceError     (signaling.media) camera / microphone could not be opened
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy
from aiortc.stats import RTCInboundRtpStreamStats, RTCRemoteInboundRtpStreamStats, RTCTransportStats
from av import AudioFrame, VideoFrame
from av.frame import Frame

from signaling.media import CallError, FrameCounterSink, GateTrack, MediaDeviceError
from signaling.protocol.channel import (
    BlobBegin,
    Bye,
    ChannelError,
    ChannelMessage,
    Chat,
    Control,
    Heartbeat,
    UnknownKind,
    dump_text,
    is_chunk,
    parse_chunk,
    parse_text,
)
from signaling.protocol.models import CallStats, IceServer, MediaError
from signaling.transfer import BlobAssembler, blob_chunks
from signaling.turn_check import TurnProblem, has_turn, probe_turn
from signaling.udp_batch import install as read_udp_in_batches

__all__ = ["CallConnectTimeout", "CallError", "CallFailed", "CallPeer", "MediaDeviceError", "TurnFailed"]

log = logging.getLogger("madoguchi.peer")
read_udp_in_batches()  # before any ICE socket exists: asyncio reads one datagram per wake (signaling/udp_batch.py)
CHANNEL_LABEL = "madoguchi"
# a blob's chunks are queued while the channel buffers less than this; above, the sender waits for it to drain
BLOB_HIGH_WATER = 1024 * 1024
BLOB_LOW_WATER = 256 * 1024


class CallConnectTimeout(CallError):
    """The link did not reach "connected" within ``connect_timeout_s``."""


class CallFailed(CallError):
    """The link failed or was closed before connecting, or an SDP was unusable."""


class TurnFailed(CallFailed):
    """The TURN server gave no relay: ``code`` is "turn_auth" (credential refused) or "turn_unreachable"."""

    def __init__(self, code: MediaError, message: str) -> None:
        super().__init__(message)
        self.code: MediaError = code


def rtc_configuration(ice_servers: list[IceServer], relay_only: bool = False) -> RTCConfiguration:
    """Explicit configuration: an empty list means host candidates only, never aiortc's public STUN."""
    servers = [RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
               for s in ice_servers]
    policy = RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE, iceTransportPolicy=policy)


def candidate_types(sdp: str) -> set[str]:
    """The candidate types ("host", "srflx", "relay") an SDP offers."""
    out = set()
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            parts = line.split()
            if "typ" in parts[:-1]:
                out.add(parts[parts.index("typ") + 1])
    return out


class CallPeer:
    """One RTCPeerConnection with media, a chat/heartbeat data channel, liveness and stats."""

    on_video_frame: Callable[[VideoFrame], None] | None
    on_audio_frame: Callable[[AudioFrame], None] | None
    on_chat: Callable[[str], None] | None
    on_control: Callable[[dict[str, Any]], None] | None
    on_message: Callable[[ChannelMessage], None] | None
    on_blob: Callable[[BlobBegin, bytes], None] | None
    on_blob_error: Callable[[str], None] | None
    on_media_lost: Callable[[], None] | None
    on_remote_closed: Callable[[], None] | None

    def __init__(
        self, *, ice_servers: list[IceServer], audio: MediaStreamTrack | None,
        video: MediaStreamTrack | None, receive_only: bool = False, relay_only: bool = False,
        connect_timeout_s: float = 10.0, heartbeat_interval_s: float = 1.0, media_lost_after_s: float = 5.0,
        label: str = "",
    ) -> None:
        self.label = label
        self.receive_only = receive_only
        self.relay_only = relay_only
        self._ice_servers = list(ice_servers)
        self.turn_problem: TurnProblem | None = None  # set when a configured TURN server gave no relay
        self._probe: asyncio.Task[TurnProblem | None] | None = None
        self.connect_timeout_s = connect_timeout_s
        self.heartbeat_interval_s = heartbeat_interval_s
        self.media_lost_after_s = media_lost_after_s
        self.on_video_frame = self.on_audio_frame = None
        self.on_chat = self.on_media_lost = self.on_remote_closed = None
        self.on_control = self.on_message = self.on_blob = self.on_blob_error = None
        self._blobs = BlobAssembler()
        self._drained = asyncio.Event()
        self._blob_lock = asyncio.Lock()
        self._audio = GateTrack(audio) if audio is not None and not receive_only else None
        self._video = GateTrack(video) if video is not None and not receive_only else None
        self._pc = RTCPeerConnection(rtc_configuration(ice_servers, relay_only))
        self._pc.on("connectionstatechange", self._on_state)
        self._pc.on("track", self._on_track)
        self._pc.on("datachannel", self._attach_channel)
        self._channel: RTCDataChannel | None = None
        self._channel_open = asyncio.Event()
        self._settled = asyncio.Event()
        self._outcome: CallError | None = None
        self._sinks: dict[str, FrameCounterSink] = {}
        self._monitor: asyncio.Task[None] | None = None
        self._started_at: float | None = None
        self.connected_at: float | None = None
        self._last_message_at: float | None = None
        self._remote_bye = False
        self._closed = False
        self.media_lost_reason: str | None = None
        self._prev: dict[str, float] = {}

    # ------------------------------------------------------------ state
    @property
    def connection_state(self) -> str:
        return str(self._pc.connectionState)

    @property
    def connect_ms(self) -> float | None:
        if self.connected_at is None or self._started_at is None:
            return None
        return (self.connected_at - self._started_at) * 1000

    def _sink_value(self, kind: str, name: str) -> Any:
        sink = self._sinks.get(kind)
        return getattr(sink, name) if sink is not None else None

    @property
    def first_remote_video_at(self) -> float | None:
        return self._sink_value("video", "first_frame_at")  # type: ignore[no-any-return]

    @property
    def first_remote_audio_at(self) -> float | None:
        return self._sink_value("audio", "first_frame_at")  # type: ignore[no-any-return]

    @property
    def video_frames_received(self) -> int:
        return int(self._sink_value("video", "frames") or 0)

    @property
    def audio_frames_received(self) -> int:
        return int(self._sink_value("audio", "frames") or 0)

    @property
    def latest_video_frame(self) -> VideoFrame | None:
        return self._sink_value("video", "latest_frame")  # type: ignore[no-any-return]

    @property
    def remote_bye(self) -> bool:
        """The other side closed this link on purpose (data-channel "bye")."""
        return self._remote_bye

    @property
    def media_alive(self) -> bool:
        """Connected, and neither lost, left by the other side, nor closed here."""
        return (self.connected_at is not None and self.media_lost_reason is None and not self._remote_bye
                and not self._closed)

    # ------------------------------------------------------------ SDP
    def _begin(self) -> None:
        if self._closed:
            raise CallFailed(f"{self.label}: peer is closed")
        if self._started_at is None:
            self._started_at = time.monotonic()

    async def create_offer(self) -> str:
        """Offerer: transceivers, the data channel and a complete offer (ICE gathered)."""
        self._begin()
        for kind, track in (("audio", self._audio), ("video", self._video)):
            if track is None:
                self._pc.addTransceiver(kind, direction="recvonly")
            else:
                self._pc.addTransceiver(track, direction="sendrecv")
        self._attach_channel(self._pc.createDataChannel(CHANNEL_LABEL, ordered=True))
        await self._pc.setLocalDescription(await self._pc.createOffer())
        return await self._checked_sdp()

    async def accept_offer(self, sdp: str) -> str:
        """Answerer: apply the remote offer, add our tracks where it has a slot, return the answer."""
        self._begin()
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:  # aiortc raises ValueError, InvalidStateError, OperationError...
            raise CallFailed(f"{self.label}: unusable offer: {exc}") from exc
        if self._pc.sctp is None:
            raise CallFailed(f"{self.label}: offer has no data channel")
        kinds = {t.kind for t in self._pc.getTransceivers()}
        for track in (self._audio, self._video):
            if track is not None and track.kind in kinds:
                self._pc.addTrack(track)
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        return await self._checked_sdp()

    def local_candidate_types(self) -> set[str]:
        """The candidate types of our SDP (empty before the SDP step): {"relay"} when relay-only."""
        desc = self._pc.localDescription
        return candidate_types(desc.sdp) if desc is not None else set()

    async def _checked_sdp(self) -> str:
        """Our complete SDP, after making sure a configured TURN server gave its relay candidate."""
        sdp = str(self._pc.localDescription.sdp)
        if has_turn(self._ice_servers) and "relay" not in candidate_types(sdp):
            if not self.relay_only:  # host candidates may connect: ask beside them, never delay the SDP
                self._probe = asyncio.create_task(self._probe_turn(), name=f"turn-probe {self.label}")
                return sdp
            problem = await self._probe_turn() or TurnProblem("turn_unreachable", "no relayed candidate gathered")
            error = TurnFailed(problem.code, f"{self.label}: {problem.detail}")
            self._settle(error)  # relay-only: nothing else can connect, so fail now, not at the connect timeout
            raise error
        return sdp

    async def turn_diagnosis(self) -> TurnProblem | None:
        """What a configured TURN server said when it gave no relay candidate (None: it gave one, or none is
        configured); waits for the check that runs beside host candidates."""
        if self._probe is not None:
            await asyncio.wait([self._probe])
        return self.turn_problem

    async def _probe_turn(self) -> TurnProblem | None:
        problem = await probe_turn(self._ice_servers, timeout_s=max(0.5, min(3.0, self.connect_timeout_s / 3)))
        if problem is not None:
            self.turn_problem = problem
            log.warning("%s: %s", self.label, problem.detail)
        return problem

    async def set_answer(self, sdp: str) -> None:
        """Offerer: apply the remote answer; connecting starts now."""
        if self._closed:
            raise CallFailed(f"{self.label}: peer is closed")
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            raise CallFailed(f"{self.label}: unusable answer: {exc}") from exc

    async def wait_connected(self) -> float:
        """ms from the first SDP step to "connected"; the timeout also counts from that step."""
        start = self._started_at if self._started_at is not None else time.monotonic()
        remaining = max(0.0, self.connect_timeout_s - (time.monotonic() - start))
        try:
            async with asyncio.timeout(remaining):
                await self._settled.wait()
        except TimeoutError:
            if self.turn_problem is not None:  # host candidates did not connect either: TURN is the cause
                raise TurnFailed(self.turn_problem.code, f"{self.label}: not connected after "
                                 f"{self.connect_timeout_s:g} s; {self.turn_problem.detail}") from None
            raise CallConnectTimeout(
                f"{self.label}: not connected after {self.connect_timeout_s:g} s "
                f"(state {self.connection_state})") from None
        if self._outcome is not None:
            raise self._outcome
        return self.connect_ms or 0.0

    async def wait_channel_open(self, timeout_s: float = 5.0) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                await self._channel_open.wait()
        except TimeoutError:
            raise CallConnectTimeout(f"{self.label}: data channel not open after {timeout_s:g} s") from None

    # ------------------------------------------------------------ events
    def _settle(self, outcome: CallError | None) -> None:
        if not self._settled.is_set():
            self._outcome = outcome
            self._settled.set()

    def _on_state(self) -> None:
        state = self._pc.connectionState
        log.debug("%s: connection %s", self.label, state)
        if state == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
            self._settle(None)
            self._monitor = asyncio.create_task(self._watch(), name=f"peer-watch {self.label}")
        elif state in ("failed", "closed"):
            self._settle(CallFailed(f"{self.label}: connection {state} before connecting"))
            if self.connected_at is not None and not self._closed and not self._remote_bye:
                self._lose(state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind in self._sinks:
            return
        sink = FrameCounterSink(track, self._on_frame)
        self._sinks[track.kind] = sink
        sink.start()

    def _on_frame(self, frame: Frame) -> None:
        if isinstance(frame, VideoFrame):
            if self.on_video_frame is not None:
                self.on_video_frame(frame)
        elif isinstance(frame, AudioFrame) and self.on_audio_frame is not None:
            self.on_audio_frame(frame)

    def _attach_channel(self, channel: RTCDataChannel) -> None:
        if channel.label != CHANNEL_LABEL or self._channel is not None:
            return
        self._channel = channel
        channel.on("message", self._on_message)
        channel.on("open", self._channel_open.set)
        channel.bufferedAmountLowThreshold = BLOB_LOW_WATER
        channel.on("bufferedamountlow", self._drained.set)
        if channel.readyState == "open":
            self._channel_open.set()

    def _on_message(self, message: str | bytes) -> None:
        self._last_message_at = time.monotonic()
        try:
            if is_chunk(message):
                self._on_chunk(message)  # type: ignore[arg-type]
                return
            msg = parse_text(message)
        except UnknownKind:
            return  # a newer peer's message: ignored (docs/protocol.md §15)
        except ChannelError as exc:
            log.warning("%s: bad data-channel message: %s", self.label, exc)
            if is_chunk(message) and self.on_blob_error is not None:
                self.on_blob_error(str(exc))
            return
        match msg:
            case Heartbeat():
                pass
            case Chat() if self.on_chat is not None:
                self.on_chat(msg.text)
            case Control() if self.on_control is not None:
                self.on_control(msg.data)
            case Bye() if not self._remote_bye:
                self._remote_bye = True
                if self.on_remote_closed is not None:
                    self.on_remote_closed()
            case BlobBegin():
                dropped = self._blobs.begin(msg)
                if dropped is not None and self.on_blob_error is not None:
                    self.on_blob_error(f"transfer {dropped.transfer_id} dropped unfinished")
            case Chat() | Control() | Bye():
                pass
            case _ if self.on_message is not None:
                self.on_message(msg)

    def _on_chunk(self, raw: bytes) -> None:
        done = self._blobs.chunk(*parse_chunk(raw))
        if done is not None and self.on_blob is not None:
            self.on_blob(*done)

    def _lose(self, reason: str) -> None:
        if self.media_lost_reason is not None or self._closed:
            return
        self.media_lost_reason = reason
        log.info("%s: media lost (%s)", self.label, reason)
        if self.on_media_lost is not None:
            try:
                self.on_media_lost()
            except Exception:
                log.exception("%s: on_media_lost failed", self.label)

    def _last_alive(self) -> float:
        times = [self.connected_at, self._last_message_at] + [s.last_frame_at for s in self._sinks.values()]
        return max(t for t in times if t is not None)

    async def _watch(self) -> None:
        """Send heartbeats; declare the media lost when nothing arrives for media_lost_after_s."""
        tick = min(0.25, self.heartbeat_interval_s / 2)
        next_hb = time.monotonic()
        while not self._closed and not self._remote_bye:
            now = time.monotonic()
            if now >= next_hb:
                next_hb = now + self.heartbeat_interval_s
                self._send_msg(Heartbeat())
            if now - self._last_alive() > self.media_lost_after_s:
                self._lose("stalled")
                return
            await asyncio.sleep(tick)

    def _send_msg(self, msg: Heartbeat | Chat | Control | Bye | BlobBegin | Any) -> bool:
        if self._channel is None or self._channel.readyState != "open":
            return False
        self._channel.send(dump_text(msg))
        return True

    # ------------------------------------------------------------ controls
    def send_chat(self, text: str) -> None:
        """Send a chat line; raises :class:`CallError` if the data channel is not open."""
        if not self._send_msg(Chat(text=text)):
            raise CallError(f"{self.label}: data channel not open")

    def send_control(self, data: dict[str, Any]) -> None:
        """Send an application control message (e.g. whisper on/off); raises :class:`CallError` if not open."""
        if not self._send_msg(Control(data=data)):
            raise CallError(f"{self.label}: data channel not open")

    def send_message(self, msg: ChannelMessage) -> None:
        """Send a typed data-channel message (:mod:`signaling.protocol.channel`); :class:`CallError` if not open."""
        if not self._send_msg(msg):
            raise CallError(f"{self.label}: data channel not open")

    async def send_blob(self, begin: BlobBegin, data: bytes) -> None:
        """``blob.begin`` then the chunks, waiting while the channel buffers more than :data:`BLOB_HIGH_WATER`
        (so a large blob never sits whole in the SCTP queue ahead of the heartbeat). One blob at a time."""
        if len(data) != begin.size:
            raise ValueError(f"blob of {len(data)} bytes announced as {begin.size}")
        async with self._blob_lock:
            channel = self._channel
            if channel is None or channel.readyState != "open" or self._closed:
                raise CallError(f"{self.label}: data channel not open")
            channel.send(dump_text(begin))
            for piece in blob_chunks(begin.transfer_id, data):
                while channel.bufferedAmount > BLOB_HIGH_WATER:
                    self._drained.clear()
                    if channel.readyState != "open":
                        raise CallError(f"{self.label}: data channel closed during a transfer")
                    await self._drained.wait()
                if channel.readyState != "open":
                    raise CallError(f"{self.label}: data channel closed during a transfer")
                channel.send(piece)

    def set_audio_muted(self, muted: bool) -> None:
        """Muted: the microphone is still read, silence is sent."""
        if self._audio is not None:
            self._audio.enabled = not muted

    def set_video_enabled(self, enabled: bool) -> None:
        """Disabled: the camera is still read, black frames are sent."""
        if self._video is not None:
            self._video.enabled = enabled

    @property
    def audio_muted(self) -> bool:
        return self._audio is not None and not self._audio.enabled

    @property
    def video_enabled(self) -> bool:
        return self._video is not None and self._video.enabled

    # ------------------------------------------------------------ stats
    async def stats(self) -> CallStats:
        """Quality now; loss, bitrate and fps are over the interval since the previous call
        (the first call measures since "connected" / the first frame)."""
        report = await self._pc.getStats()
        now = time.monotonic()
        rtts: list[float] = []
        received = lost = 0
        bytes_in = 0
        for item in report.values():
            if isinstance(item, RTCRemoteInboundRtpStreamStats) and item.roundTripTime is not None:
                rtts.append(item.roundTripTime * 1000)
            elif isinstance(item, RTCInboundRtpStreamStats):
                received += item.packetsReceived
                lost += max(0, item.packetsLost)
            elif isinstance(item, RTCTransportStats):
                bytes_in += item.bytesReceived
        prev = self._prev
        since = prev.get("at", self.connected_at or now)
        d_recv, d_lost = received - prev.get("received", 0), lost - prev.get("lost", 0)
        loss = 100 * d_lost / (d_recv + d_lost) if d_recv + d_lost > 0 else None
        dt = now - since
        bitrate = (bytes_in - prev.get("bytes", 0)) * 8 / dt / 1000 if dt > 0 else None
        frames = self.video_frames_received
        fps_since = prev.get("at", self.first_remote_video_at or now)
        fps_dt = now - fps_since
        fps = (frames - prev.get("frames", 0)) / fps_dt if fps_dt > 0 else None
        self._prev = {"at": now, "received": received, "lost": lost, "bytes": bytes_in, "frames": frames}
        return CallStats(
            rtt_ms=min(60_000.0, sum(rtts) / len(rtts)) if rtts else None,
            loss_pct=min(100.0, max(0.0, loss)) if loss is not None else None,
            bitrate_kbps=max(0.0, bitrate) if bitrate is not None else None,
            fps=min(240.0, max(0.0, fps)) if fps is not None else None,
            frames_received=frames,
            audio_frames_received=self.audio_frames_received,
        )

    # ------------------------------------------------------------ close
    async def close(self, *, say_bye: bool = True) -> None:
        """Say bye, stop heartbeats, sinks, the connection and our tracks (idempotent).

        ``say_bye=False`` when the link is being replaced by a fresh one (healing): the other side must
        not take that for the end of the call."""
        if self._closed:
            return
        if say_bye:
            self._send_msg(Bye())
        self._closed = True
        self._drained.set()  # a blob sender waiting for the buffer to drain wakes and stops
        self._settle(CallFailed(f"{self.label}: closed"))
        for task in (self._monitor, self._probe):
            if task is not None:
                task.cancel()
                await asyncio.wait([task])
        await self._pc.close()
        for sink in self._sinks.values():
            await sink.stop()
        for track in (self._audio, self._video):
            if track is not None:
                track.stop()
