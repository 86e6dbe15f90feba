"""A call as one client sees it: a mesh of :class:`~signaling.peer.CallPeer` links, one per other participant.

Used by kiosk and console controllers alike (never by the server). It turns
``session.start`` / ``rtc.offer`` / ``rtc.answer`` / ``participant.left`` into
peer connections, sends the local media to each link through a MediaRelay,
reports stats of the primary link to the server, and heals a dead media path
with a fresh peer connection under the same session (aiortc has no ICE
restart): the side that made the first offer makes a new one; the other side
accepts any new offer from the same participant in place of the old link.

Topology: full mesh, each participant's browser-less client encodes once per
link. With VP8 VGA at ~37% of a core per encode+decode pair (DESIGN §9), three
parties cost each endpoint two encodes and two decodes; beyond four parties a
mesh is the wrong tool (an SFU would be). Measured figures: docs/console.md.

Send policy: what this client sends on each link is decided per peer
(``send_policy(peer) -> "av" | "audio" | "none"``), so one mesh can be
asymmetric. A supervisor listening in sends nothing to the resident
(``"none"``: that link is receive-only, the kiosk receives no track at all) and
only audio to the specialist (``"audio"``), gated shut until it whispers
(:meth:`CallMesh.set_peer_audio`). ``receive_only=True`` means ``"none"`` for
every link. The policy also applies to links healed later.

Control messages (``send_control`` / the ``control`` event) ride the data
channel of one link, e.g. to tell the specialist a whisper starts.

A link the other side closes on purpose (data-channel ``bye``: it hung up, or its program is
stopping) is reported as ``remote_closed`` and is not healed from this side; the mesh waits the
media grace for a fresh link from that participant (a restarted console offers one), and when none
comes it reports ``failed`` like a link that could not be healed (the primary's), or drops the link
(``peer_removed``: a third party or supervisor who left while the server could not say so). A link
replaced by a fresh one is closed without ``bye``, so that the other side heals over it instead of
taking it for the end.

TURN: ``relay_only`` (the server's ``ice_transport_policy`` "relay" in the welcome) gives every link
relay candidates only. A link whose TURN server refused the credential or did not answer
(:class:`~signaling.peer.TurnFailed`) is not healed — the same credential would fail again — but
reported at once: ``call.media {failed, error}`` to the server (primary link) and ``failed`` with
``error`` ("turn_auth" / "turn_unreachable"), within the connect timeout instead of after the grace.

Typed data-channel messages (:mod:`signaling.protocol.channel`: the document camera, stills) go to one peer with
:meth:`CallMesh.send_message` / :meth:`CallMesh.send_blob` and arrive as ``channel`` (``peer``, ``message``),
``blob`` (``peer``, ``begin``, ``data``: complete, size and SHA-256 checked) and ``blob_error`` (``peer``, ``error``).

Events (``emit(name, data)``): ``peer_added``, ``peer_removed``, ``connected`` (``setup_ms``,
``generation``), ``link_failed`` (``error``: text; ``code``: a TURN problem, if it was one),
``reconnecting``, ``remote_closed``, ``failed`` (``reported``: the server acknowledged ``call.media
{failed}``; ``ended``: the end reason it answered, if it ended the session; ``error``: the TURN problem
or None), ``chat``, ``control``, ``quality`` (``stats``).

Counters: ``frames_received`` / ``audio_frames_received`` in the ``call.stats`` reports (and
:meth:`CallMesh.frames_received`) are cumulative for the session: frames received on links that a
heal replaced are carried over, so they never restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from signaling.client import ClientError, SignalingClient
from signaling.media import FrameCounterSink
from signaling.peer import CallError, CallPeer, TurnFailed
from signaling.protocol.channel import BlobBegin, ChannelMessage
from signaling.protocol.messages import (
    CallMedia,
    CallStatsReport,
    RtcAnswer,
    RtcAnswerRelay,
    RtcOffer,
    RtcOfferRelay,
)
from signaling.protocol.models import IceServer, MediaError
from signaling.protocol.replies import MediaRecorded, Reply
from signaling.tasks import cancel_all

log = logging.getLogger("madoguchi.call")
EventSink = Callable[[str, dict[str, Any]], None]
SendPolicy = Literal["av", "audio", "none"]
# Beyond this many endpoints (resident, specialist, third party, supervisor) a mesh costs each endpoint too
# much (one encoder per link): measured on a 2-core machine, see docs/console.md. An SFU is the way past it.
MESH_MAX_ENDPOINTS = 4


class LocalMedia:
    """The local camera/microphone (or synthetic) sources, shared by every link through a relay."""

    def __init__(self, audio: MediaStreamTrack | None, video: MediaStreamTrack | None) -> None:
        self.audio = audio
        self.video = video
        self._relay = MediaRelay()
        self._preview: FrameCounterSink | None = None

    def subscribe(self, *, audio: bool = True, video: bool = True
                  ) -> tuple[MediaStreamTrack | None, MediaStreamTrack | None]:
        return (
            self._relay.subscribe(self.audio) if audio and self.audio is not None else None,
            self._relay.subscribe(self.video) if video and self.video is not None else None,
        )

    def preview(self) -> FrameCounterSink | None:
        """A self-view: the latest local video frame (unbuffered: a slow view never backs up the camera)."""
        if self._preview is None and self.video is not None:
            self._preview = FrameCounterSink(self._relay.subscribe(self.video, buffered=False))
            self._preview.start()
        return self._preview

    def stop(self) -> None:
        for track in (self.audio, self.video):
            if track is not None:
                track.stop()

    async def close(self) -> None:
        """Stop the self-view task and the sources."""
        if self._preview is not None:
            self._preview.track.stop()
            await self._preview.stop()
            self._preview = None
        self.stop()


@dataclass
class Link:
    peer: str
    call: CallPeer
    offerer: bool
    created_at: float = field(default_factory=time.monotonic)
    connected_at: float | None = None
    generation: int = 0


class CallMesh:
    def __init__(
        self,
        client: SignalingClient,
        session_id: int,
        me: str,
        ice_servers: list[IceServer],
        media: LocalMedia,
        *,
        primary: str | None,
        emit: EventSink,
        receive_only: bool = False,
        connect_timeout_s: float = 10.0,
        media_grace_s: float = 30.0,
        stats_interval_s: float = 2.0,
        started_at: float | None = None,
        send_policy: Callable[[str], SendPolicy] | None = None,
        report_setup_ms: bool = True,
        media_lost_after_s: float = 5.0,
        relay_only: bool = False,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.me = me
        self.ice_servers = ice_servers
        self.media = media
        self.primary = primary
        self.emit = emit
        self.receive_only = receive_only
        self.relay_only = relay_only
        self.send_policy = send_policy
        self.connect_timeout_s = connect_timeout_s
        self.media_grace_s = media_grace_s
        self.media_lost_after_s = media_lost_after_s
        # the specialist knows when the call was accepted; a kiosk does not, so it reports no setup time
        self.report_setup_ms = report_setup_ms
        self.stats_interval_s = stats_interval_s
        self.started_at = started_at if started_at is not None else time.monotonic()
        self.links: dict[str, Link] = {}
        self.muted = False
        self.camera_on = True
        self._audio_open: dict[str, bool] = {}
        self.on_audio: Callable[[str, Any], None] | None = None  # (peer, av.AudioFrame): the speaker, if any
        self.closed = False
        self.reported_connected = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._healing: set[str] = set()
        self._failed: set[str] = set()  # peers given up on (``failed`` emitted); a link that connects clears it
        self._stats_task: asyncio.Task[None] | None = None
        self._frames_base: dict[str, tuple[int, int]] = {}  # (video, audio) received on replaced links

    # ------------------------------------------------------------ public
    async def start(self, offer_to: list[str]) -> None:
        self._stats_task = asyncio.create_task(self._stats_loop())
        for peer in offer_to:
            self._spawn(self._offer(peer))

    async def on_signal(self, msg: RtcOfferRelay | RtcAnswerRelay) -> None:
        if self.closed or msg.session_id != self.session_id:
            return
        if isinstance(msg, RtcOfferRelay):
            self._spawn(self._answer(msg.sender, msg.sdp))
        else:
            link = self.links.get(msg.sender)
            if link is None or not link.offerer:
                log.warning("unexpected answer from %s", msg.sender)
                return
            try:
                await link.call.set_answer(msg.sdp)
            except Exception as exc:
                log.warning("bad answer from %s: %s", msg.sender, exc)

    async def remove_peer(self, peer: str) -> None:
        link = self.links.pop(peer, None)
        if link is not None:
            self._carry_frames(peer, link.call)
            await link.call.close()
            self.emit("peer_removed", {"peer": peer})

    def send_chat(self, text: str, peers: list[str] | None = None) -> int:
        """Send to every open link (or only to ``peers``); returns how many received it."""
        sent = 0
        for peer, link in self.links.items():
            if peers is not None and peer not in peers:
                continue
            try:
                link.call.send_chat(text)
                sent += 1
            except Exception:
                continue
        return sent

    def send_control(self, peer: str, data: dict[str, Any]) -> bool:
        link = self.links.get(peer)
        if link is None:
            return False
        try:
            link.call.send_control(data)
            return True
        except CallError:
            return False

    def send_message(self, peer: str, msg: ChannelMessage) -> bool:
        """A typed data-channel message to one peer; False when that link's channel is not open."""
        link = self.links.get(peer)
        if link is None:
            return False
        try:
            link.call.send_message(msg)
            return True
        except CallError:
            return False

    def broadcast(self, msg: ChannelMessage) -> int:
        """A typed data-channel message to every link: at once where the channel is open, else as soon as it opens
        (a link still connecting, or healing); returns how many had it at once."""
        return sum(self.send_soon(peer, msg) for peer in list(self.links))

    def send_soon(self, peer: str, msg: ChannelMessage) -> bool:
        """Send now if that link's data channel is open (True), else as soon as it opens (False)."""
        if self.send_message(peer, msg):
            return True
        self._spawn(self.send_when_open(peer, msg))
        return False

    async def send_when_open(self, peer: str, msg: ChannelMessage, timeout_s: float | None = None) -> bool:
        """Send once that peer's current link has its data channel open (within ``timeout_s``, default the
        connect timeout); False if it did not open or the link went away."""
        link = self.links.get(peer)
        if link is None:
            return False
        try:
            await link.call.wait_channel_open(timeout_s if timeout_s is not None else self.connect_timeout_s)
        except CallError:
            return False
        return self.links.get(peer) is link and self.send_message(peer, msg)

    async def send_blob(self, peer: str, begin: BlobBegin, data: bytes) -> None:
        """A blob to one peer (:meth:`CallPeer.send_blob`); raises :class:`CallError` when it cannot go."""
        link = self.links.get(peer)
        if link is None:
            raise CallError(f"no link to {peer}")
        await link.call.send_blob(begin, data)

    def policy(self, peer: str) -> SendPolicy:
        if self.receive_only:
            return "none"
        return self.send_policy(peer) if self.send_policy is not None else "av"

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        for peer, link in self.links.items():
            link.call.set_audio_muted(self._audio_muted(peer))

    def set_peer_audio(self, peer: str, open_: bool) -> None:
        """Open or shut this client's audio towards one peer only (a link whose policy sends audio)."""
        self._audio_open[peer] = open_
        link = self.links.get(peer)
        if link is not None:
            link.call.set_audio_muted(self._audio_muted(peer))

    def _audio_muted(self, peer: str) -> bool:
        return self.muted or not self._audio_open.get(peer, True)

    def set_camera(self, on: bool) -> None:
        self.camera_on = on
        for link in self.links.values():
            link.call.set_video_enabled(on)

    def link(self, peer: str | None = None) -> Link | None:
        return self.links.get(peer or self.primary or "") if (peer or self.primary) else None

    def frames_received(self, peer: str | None = None) -> dict[str, int]:
        """Video and audio frames received from ``peer`` (default: the primary) in this session, over every
        link a heal replaced; still answers after :meth:`close`."""
        peer = peer or self.primary or ""
        video, audio = self._frames_base.get(peer, (0, 0))
        link = self.links.get(peer)
        if link is not None:
            video += link.call.video_frames_received
            audio += link.call.audio_frames_received
        return {"video": video, "audio": audio}

    def primary_alive(self) -> bool:
        """Media with the primary is flowing (connected, not lost, not left with a bye)."""
        link = self.link()
        return link is not None and link.call.media_alive

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await cancel_all([*self._tasks, *([self._stats_task] if self._stats_task else [])])
        for peer, link in list(self.links.items()):
            self._carry_frames(peer, link.call)
            await link.call.close()
        self.links.clear()

    # ------------------------------------------------------------ links
    def _new_call(self, peer: str) -> CallPeer:
        policy = self.policy(peer)
        audio, video = (None, None) if policy == "none" else self.media.subscribe(audio=True, video=policy == "av")
        call = CallPeer(ice_servers=self.ice_servers, audio=audio, video=video, receive_only=policy == "none",
                        relay_only=self.relay_only, connect_timeout_s=self.connect_timeout_s,
                        media_lost_after_s=self.media_lost_after_s, label=f"{self.me}->{peer}")
        call.on_chat = lambda text, p=peer: self.emit("chat", {"peer": p, "text": text})  # type: ignore[misc]
        call.on_control = lambda data, p=peer: self.emit("control", {"peer": p, "data": data})  # type: ignore[misc]
        call.on_message = lambda msg, p=peer: self.emit("channel", {"peer": p, "message": msg})  # type: ignore[misc]
        call.on_blob = lambda begin, data, p=peer: self.emit(  # type: ignore[misc]
            "blob", {"peer": p, "begin": begin, "data": data})
        call.on_blob_error = lambda error, p=peer: self.emit("blob_error", {"peer": p, "error": error})  # type: ignore[misc]
        call.on_media_lost = lambda p=peer: self._spawn(self._heal(p))  # type: ignore[misc]
        call.on_remote_closed = lambda p=peer, c=call: self._on_remote_bye(p, c)  # type: ignore[misc]
        if self.on_audio is not None:
            call.on_audio_frame = lambda frame, p=peer: self._audio_out(p, frame)  # type: ignore[misc]
        if self._audio_muted(peer):
            call.set_audio_muted(True)
        if not self.camera_on:
            call.set_video_enabled(False)
        return call

    def _audio_out(self, peer: str, frame: Any) -> None:
        if self.on_audio is not None:
            self.on_audio(peer, frame)

    def _carry_frames(self, peer: str, call: CallPeer) -> None:
        video, audio = self._frames_base.get(peer, (0, 0))
        self._frames_base[peer] = (video + call.video_frames_received, audio + call.audio_frames_received)

    async def _replace(self, peer: str, link: Link) -> None:
        old = self.links.get(peer)
        if old is not None:
            link.generation = old.generation + 1
            self._carry_frames(peer, old.call)
        self.links[peer] = link
        if old is not None:
            await old.call.close(say_bye=False)  # replaced, not ended: the other side heals over it
        else:
            self.emit("peer_added", {"peer": peer})

    def _on_remote_bye(self, peer: str, call: CallPeer) -> None:
        link = self.links.get(peer)
        if self.closed or link is None or link.call is not call:
            return  # a link already replaced (or this mesh closed): nothing ends
        self.emit("remote_closed", {"peer": peer, "generation": link.generation})
        # left on purpose: never offer again from here, but a restarted console offers a fresh link; if
        # none comes within the media grace the link is as dead as one that could not be healed
        self._spawn(self._heal(peer, offer=False, announce=False))

    async def _offer(self, peer: str) -> None:
        link = Link(peer, self._new_call(peer), offerer=True)
        await self._replace(peer, link)
        try:
            sdp = await link.call.create_offer()
        except TurnFailed as exc:
            await self._link_error(link, exc)
            return
        await self._send(RtcOffer(session_id=self.session_id, to=peer, sdp=sdp))
        await self._await_connected(link)

    async def _answer(self, peer: str, offer_sdp: str) -> None:
        link = Link(peer, self._new_call(peer), offerer=False)
        await self._replace(peer, link)
        try:
            sdp = await link.call.accept_offer(offer_sdp)
        except TurnFailed as exc:
            await self._link_error(link, exc)
            return
        await self._send(RtcAnswer(session_id=self.session_id, to=peer, sdp=sdp))
        await self._await_connected(link)

    async def _send(self, msg: RtcOffer | RtcAnswer | CallMedia | CallStatsReport) -> bool:
        return await self._request(msg) is not None

    async def _request(self, msg: RtcOffer | RtcAnswer | CallMedia | CallStatsReport) -> Reply | None:
        try:
            return await self.client.ask(msg)
        except ClientError as exc:
            log.info("could not send %s: %s", msg.type, exc)
            return None

    async def _await_connected(self, link: Link) -> None:
        try:
            setup_ms = await link.call.wait_connected()
        except CallError as exc:
            await self._link_error(link, exc)
            return
        link.connected_at = time.monotonic()
        self._failed.discard(link.peer)
        self.emit("connected", {"peer": link.peer, "setup_ms": setup_ms, "generation": link.generation})
        if link.peer == self.primary and not self.reported_connected:
            self.reported_connected = True
            total_ms = round((link.connected_at - self.started_at) * 1000, 1) if self.report_setup_ms else None
            await self._send(CallMedia(session_id=self.session_id, state="connected", setup_ms=total_ms))

    async def _link_error(self, link: Link, exc: CallError) -> None:
        """A link that did not connect: healed with a fresh one, unless TURN refused it (a fresh link would
        get the same answer): then the call is given up on at once."""
        code = exc.code if isinstance(exc, TurnFailed) else None
        self.emit("link_failed", {"peer": link.peer, "error": str(exc), "code": code})
        if self.links.get(link.peer) is not link:
            return
        if code is not None:
            await self._give_up(link.peer, code)
        else:
            self._spawn(self._heal(link.peer))

    async def _give_up(self, peer: str, error: MediaError | None = None) -> None:
        """Tell the server (the primary link only: it ends the session) and emit ``failed`` once."""
        if self.closed or peer in self._failed:
            return
        self._failed.add(peer)
        reply: Reply | None = None
        if peer == self.primary:  # the server ends the session (media_failed / kiosk_lost)
            reply = await self._request(CallMedia(session_id=self.session_id, state="failed", error=error))
        if not self.closed:
            self.emit("failed", {"peer": peer, "reported": reply is not None, "error": error,
                                 "ended": reply.ended if isinstance(reply, MediaRecorded) else None})

    async def _heal(self, peer: str, *, offer: bool | None = None, announce: bool = True) -> None:
        """A fresh peer connection under the same session, within the grace window. ``offer``: make fresh
        offers (default: when this side made the link's offer); else wait for the other side's."""
        link = self.links.get(peer)
        if link is None or self.closed or peer in self._healing:
            return
        self._healing.add(peer)
        try:
            await self._heal_link(peer, link, link.offerer if offer is None else offer, announce)
        finally:
            self._healing.discard(peer)

    async def _heal_link(self, peer: str, link: Link, offer: bool, announce: bool) -> None:
        generation = link.generation
        if announce:
            self.emit("reconnecting", {"peer": peer})
            if peer == self.primary:  # the server acts on the resident <-> specialist link only
                await self._send(CallMedia(session_id=self.session_id, state="reconnecting"))
        deadline = time.monotonic() + self.media_grace_s
        step = min(1.0, max(0.05, self.media_grace_s / 10))
        attempt = 0
        while time.monotonic() < deadline and not self.closed:
            current = self.links.get(peer)
            if current is None or peer in self._failed:
                return
            if current.generation > generation and current.connected_at is not None:
                return  # the other side's fresh offer already healed it
            if offer:
                attempt += 1
                # an attempt never outlives the grace (a kill used to end the call 38 s into a 30 s grace)
                left = deadline - time.monotonic()
                try:
                    await asyncio.wait_for(self._offer(peer), max(0.05, min(self.connect_timeout_s + 5, left)))
                except (TimeoutError, CallError) as exc:
                    log.info("heal attempt %d to %s failed: %s", attempt, peer, exc)
                fresh = self.links.get(peer)
                if fresh is not None and fresh.connected_at is not None and fresh.generation > generation:
                    return
            await asyncio.sleep(max(0.0, min(step, deadline - time.monotonic())))
        if self.closed or peer in self._failed:
            return
        if not announce and peer != self.primary:
            await self.remove_peer(peer)  # a participant who left on purpose (bye) and did not come back
            return
        await self._give_up(peer)

    async def _stats_loop(self) -> None:
        while not self.closed:
            await asyncio.sleep(self.stats_interval_s)
            link = self.link()
            if link is None or link.connected_at is None:
                continue
            try:
                stats = await link.call.stats()
            except Exception as exc:
                log.debug("stats failed: %s", exc)
                continue
            video, audio = self._frames_base.get(link.peer, (0, 0))
            if video or audio:  # cumulative over the links a heal replaced (docs/protocol.md, call.stats)
                stats = stats.model_copy(update={"frames_received": (stats.frames_received or 0) + video,
                                                 "audio_frames_received": (stats.audio_frames_received or 0) + audio})
            self.emit("quality", {"peer": link.peer, "stats": stats})
            await self._send(CallStatsReport(session_id=self.session_id, stats=stats))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("call task failed: %r", task.exception())
