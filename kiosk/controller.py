"""All kiosk logic, no widgets: the resident's journey as a state machine over the signaling client.

Screens: idle → choosing → needs → waiting → in_call → feedback → idle, plus
``no_specialist`` (nobody on duty: the hours, a way back), ``selfcheck`` (IT,
behind a PIN) and ``offline`` as an overlay when the server cannot be reached.
The controller emits events (see :class:`~signaling.observer.Emitter`); the Qt
window and the headless CLI listen to them.

Events: ``screen``, ``connection``, ``services``, ``ticket``, ``wait``, ``no_specialist``,
``call_started``, ``call_ended``, ``participants``, ``chat``, ``call_status``,
``quality``, ``error``, ``reset``, ``language``, ``idle_warning``, ``guest_consent`` (``request``: a guest the
specialist admitted, to announce 「○○（手話通訳）が参加します」 and ask the resident), ``guest_consent_done``
(``agree``: the resident's answer, or None when the question lapsed with the call), ``health`` (a health
report was sent); the document camera (:mod:`kiosk.documents`): ``document`` (``showing``, ``error``),
``still_sent`` (a still the specialist asked for went out: ``request_id``, ``sha256``, ``size``); ``callback``/
``callback_done`` (kiosk/callback_flow.py), ``appointment`` (kiosk/appointment_flow.py), ``branch_call``
(kiosk/branch_staff.py); a PDF the specialist shows (:mod:`kiosk.shared_docs`): ``shared_doc``,
``shared_doc_pointer``; printing at the branch (:mod:`kiosk.printing`): ``printing``; a form to confirm
(:mod:`kiosk.form_confirm`): ``form``.

Time: every rule that depends on time reads :attr:`KioskController.clock` (injected; tests advance it):
the inactivity reset, the PIN lockout, the wait countdown (``wait`` event, :mod:`kiosk.wait_estimate`),
the health report's schedule (:mod:`kiosk.health_reporter`) and the clearing of a call screen whose media is gone.

A call ends on the kiosk without the server when the server cannot hear it: the resident hangs up
offline, the specialist's console says ``bye`` on the data channel while the kiosk is offline, or the
media stays dead past ``media_grace_s`` (the call layer's grace, then ``failed``). What the server must
still learn (``session.end``, ``call.media {failed}``, feedback) waits in the outbox
(:mod:`kiosk.services.outbox`) and is sent after the reconnect; the server's re-sync of such a call
(``session.start``, ``ticket.update in_call``) is not taken for a call that goes on.

Audio: remote audio frames go to :attr:`KioskController.on_remote_audio` (the
window's speaker output, never through the event bridge: 50 frames a second per
peer); what the speaker really plays comes back through :meth:`far_end` as the
echo canceller's reference. With ``media_source=device`` the microphone runs
through WebRTC's AEC (:mod:`kiosk.services.echo`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, get_args

from aiortc.mediastreams import MediaStreamTrack

from kiosk import __version__
from kiosk.appointment_flow import AppointmentFlow
from kiosk.branch_staff import BranchStaff
from kiosk.callback_flow import CallbackFlow
from kiosk.card_scan import CardScan
from kiosk.documents import DocumentDesk
from kiosk.form_confirm import FormConfirmDesk
from kiosk.health_reporter import HealthReporter
from kiosk.printing import PrintDesk
from kiosk.services import selfcheck
from kiosk.services.credentials import KioskCredential, pin_matches
from kiosk.services.echo import EchoCancelledTrack, EchoCanceller, EchoUnavailable
from kiosk.services.outbox import Outbox, Report, ReportKind
from kiosk.services.printer import BranchPrinter
from kiosk.services.server_api import device_token
from kiosk.services.tap import TapTrack
from kiosk.settings import KioskSettings
from kiosk.shared_docs import SharedDocDesk
from kiosk.wait_estimate import UNKNOWN, WaitCountdown, WaitView
from signaling.call import CallMesh, LocalMedia
from signaling.client import ClientError, ConnState, NotConnected, RequestFailed, SignalingClient
from signaling.document_camera import SwitchVideoTrack
from signaling.language_packs import BUILT_IN, load_packs, wire_language
from signaling.media import MediaDeviceError, make_local_tracks
from signaling.observer import Emitter
from signaling.protocol.case_number import case_number
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import (
    BranchCallState,
    FormShow,
    GuestConsent,
    GuestConsentRequest,
    KioskScreen,
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
from signaling.protocol.replies import AppointmentCheckedIn, TicketCreated
from signaling.tasks import cancel_and_wait
from signaling.tls import client_context

log = logging.getLogger("madoguchi.kiosk")
FINAL_TICKET_STATES = ("cancelled", "abandoned", "done", "no_specialist")
REPORTED_SCREENS = set(get_args(KioskScreen))
SCREEN_REPORT_AS = {"no_specialist": "choosing", "callback": "choosing", "callback_done": "idle",
                    "appointment": "choosing", "appointment_confirm": "choosing"}  # not on the wire
RESETTABLE_SCREENS = ("choosing", "needs", "no_specialist", "selfcheck", "callback",
                      "callback_done", "appointment", "appointment_confirm")  # untouched too long: back to welcome
PIN_ATTEMPTS, PIN_LOCKOUT_S = 5, 60.0


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
    no_specialist: dict[str, Any] | None = None  # service and hours, when nobody was on duty
    guest_request: GuestConsentRequest | None = None  # a guest waiting for the resident's agreement
    unmet_needs: list[Need] = field(default_factory=list)  # required skills nobody can offer (sign language)
    written: bool = False  # the call opened in written conversation (筆談)
    case_number: str | None = None  # the 相談番号 typed on the keypad, sent with the ticket
    case_found: bool | None = None  # the server's answer: False means served as a walk-in all the same
    appointment_at: datetime | None = None  # checked in for an appointment at this time (offered then)


class KioskController(Emitter):
    def __init__(self, settings: KioskSettings, credential: KioskCredential, *,
                 clock: Callable[[], float] = time.monotonic,
                 card_camera: Callable[[], MediaStreamTrack | None] | None = None) -> None:
        """``card_camera``: what the case-card reader looks through (default: the kiosk camera of the settings;
        the demo and tests hand it a picture of a card)."""
        super().__init__()
        self.settings = settings
        self.credential = credential
        self.clock = clock
        self.tls = client_context(settings.ca_file)
        self.client = SignalingClient(settings.ws_urls, self._token, on_message=self._on_message,
                                      on_state=self._on_conn_state, app_version=f"kiosk/{__version__}",
                                      request_timeout_s=settings.request_timeout_s, tls=self.tls)
        self.screen = "idle"
        self.connection: ConnState = "offline"
        self.services: list[ServiceInfo] = []
        self.visit = ResidentVisit()
        self.mesh: CallMesh | None = None
        self.media: LocalMedia | None = None
        self.call_started_at: float | None = None
        self.first_remote_frame_at: float | None = None
        self.last_call_frames: dict[str, int] = {}  # frames received from the specialist in the last call
        self.last_activity = clock()
        self.outbox = Outbox(settings.outbox_path)
        # calls this kiosk ended while the server could not hear it, and their tickets: the server's re-sync
        # of them after the reconnect is stale
        self._ended_here: set[int] = {r.session_id for r in self.outbox.pending if r.kind != "feedback"}
        self._ended_tickets: set[int] = {r.ticket_id for r in self.outbox.pending if r.ticket_id is not None}
        self._media_dead_since: float | None = None
        self.countdown = WaitCountdown()
        self.wait_view: WaitView = UNKNOWN
        self.callback = CallbackFlow(self)  # 折り返し電話 (kiosk/callback_flow.py)
        self.appointment = AppointmentFlow(self)  # 予約の方 (kiosk/appointment_flow.py)
        self.branch_staff = BranchStaff(self.client, self.emit)  # 支所の職員を呼ぶ (kiosk/branch_staff.py)
        self.forms = FormConfirmDesk(self.client, self.emit, self.touch)  # 書かない窓口 (kiosk/form_confirm.py)
        self.branch = credential.branch
        self.language = settings.language
        self.packs = load_packs(settings.languages_dir)  # one file per language beyond ja/en
        self.echo: EchoCanceller | None = None
        self.echo_error: str = ""
        self.local_video: TapTrack | None = None
        self.video_switch: SwitchVideoTrack | None = None  # the call's video: face camera or document camera
        self.documents = DocumentDesk(settings, self.emit)
        self.shared = SharedDocDesk(self.emit)  # a PDF the specialist shows; the window sets its loader (QtPdf)
        self.printing = PrintDesk(BranchPrinter(settings.printer, settings.cups_server,  # 支所で印刷
                                                timeout_s=settings.print_timeout_s, clock=clock),
                                  self.shared, self.emit)
        self.card_scan = CardScan(card_camera or self._open_card_camera, self._on_card)  # 「カードをかざす」
        self.on_remote_audio: Callable[[str, Any], None] | None = None  # (peer, av.AudioFrame), set by the window
        self.speaker_probe: selfcheck.SpeakerProbe | None = None  # set by the window (QtMultimedia)
        self.voice_probe: selfcheck.SpeakerProbe | None = None  # 「音声案内」's engines (kiosk/speech/), set by the app
        self.selfcheck_results: list[selfcheck.Check] = []
        self._pin_failures: list[float] = []
        self._idle_warned = False
        self._idle_task: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        # camera and microphone are not probed while a call has them or may take them any moment
        self.health = HealthReporter(settings, self.client, clock, lambda: self.speaker_probe,
                                     lambda: self.media is not None or self.screen in ("waiting", "in_call")
                                     or self.card_scan.running)

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        await self.client.start()
        self._idle_task = asyncio.create_task(self._tick_loop())

    async def stop(self) -> None:
        await cancel_and_wait(self._idle_task)
        await self._end_call_media()
        await self.printing.stop()
        await self.card_scan.stop()
        await self.client.close()

    async def _token(self) -> str:
        return await device_token(self.client.http_url, self.credential, self.tls)  # the node about to be tried

    # ------------------------------------------------------------ resident intents
    def touch(self) -> None:
        """Any interaction: postpones the inactivity reset."""
        self.last_activity = self.clock()
        self._idle_warned = False

    def set_language(self, language: str) -> None:
        """The resident's language for this visit (the privacy reset goes back to the kiosk's default)."""
        self.touch()
        if language != self.language:
            self.language = language
            self.emit("language", {"language": language})

    def begin(self) -> None:
        self.touch()
        self._set_screen("choosing")

    # ------------------------------------------------------------ a case card held to the camera
    def start_card_scan(self) -> None:
        """The resident chose 「カードをかざす」: look for a case card until one is read or :meth:`stop_card_scan`."""
        self.touch()
        self.card_scan.start()

    def stop_card_scan(self) -> None:
        self._spawn(self.card_scan.stop())

    def card_frame(self) -> Any:
        """What the camera sees while a card is looked for (the screen shows it, to aim the card), or None."""
        return self.card_scan.latest_frame

    def _open_card_camera(self) -> MediaStreamTrack | None:
        s = self.settings
        audio, video = make_local_tracks(s.media_source, width=s.video_width, height=s.video_height,
                                         fps=s.video_fps, video_device=s.video_device, audio_device=s.audio_device)
        if audio is not None:
            audio.stop()  # the microphone is not needed to read a card
        return video

    def _on_card(self, name: str, data: dict[str, Any]) -> None:
        if name == "card_scanned":
            self.touch()
            self.visit.case_number = data["number"]
        self.emit(name, data)

    def choose_service(self, code: str) -> None:
        self.touch()
        self.visit.service_code = code
        self._set_screen("needs")

    def set_needs(self, needs: list[Need]) -> None:
        self.touch()
        self.visit.needs = list(needs)

    def set_case_number(self, typed: str) -> str | None:
        """The resident's case number from the keypad (empty: none). Returns ``"format"`` when it cannot be a case
        number (nothing kept: the resident is told and may type again), else None."""
        self.touch()
        if not typed:
            self.visit.case_number = None
            return None
        try:
            self.visit.case_number = case_number(typed)
        except ValueError:
            return "format"
        return None

    def go_back(self) -> None:
        """One step back on the choice screens; from the first one, back to the welcome screen (cleared)."""
        self.touch()
        if self.screen in ("needs", "no_specialist"):
            self.visit.no_specialist = None
            self._set_screen("choosing")
        elif self.screen in ("choosing", "selfcheck"):
            self.reset()

    @property
    def wire_language(self) -> str:
        """The resident's language as the wire carries it (やさしい日本語 → ja); one the server does not know
        (an older server) goes as English, which every server accepts."""
        wire = wire_language(self.language, self.packs)
        welcome = self.client.welcome
        known = welcome.languages if isinstance(welcome, Welcome) and welcome.languages else list(BUILT_IN)
        return wire if wire in known else "en"

    async def request_service(self, code: str | None = None, needs: list[Need] | None = None) -> bool:
        """Take a ticket. Returns False (and emits why) when it could not."""
        self.touch()
        code = code or self.visit.service_code
        if code is None:
            raise ValueError("no service chosen")
        self.visit.service_code, self.visit.needs = code, list(needs or [])
        try:
            reply = await self.client.ask(TicketCreate(service_code=code, needs=self.visit.needs,
                                                       language=self.wire_language,
                                                       case_number=self.visit.case_number))
        except RequestFailed as exc:
            if exc.code == ErrorCode.NO_SPECIALIST:
                info = {"service_code": code, **exc.details}
                self.visit.no_specialist = info
                self._set_screen("no_specialist")
                self.emit("no_specialist", info)
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
        assert isinstance(reply, TicketCreated)
        self.visit.ticket_id = reply.ticket_id
        if self.visit.session_id is not None or self.visit.ticket_state not in (None, "waiting", "offered"):
            # a guard kept although the server now replies before any push: a call that has begun never goes
            # back to the waiting screen
            return True
        self.visit.ticket_state = "waiting"
        self.visit.position = reply.position
        self.visit.unmet_needs = list(reply.unmet_needs)
        self.visit.case_found = reply.case_found
        self._rebase_wait(reply.estimated_wait_s)
        self._set_screen("waiting")
        self.emit("ticket", self._ticket_payload())
        return True

    def checked_in(self, reply: AppointmentCheckedIn) -> None:
        """For kiosk/appointment_flow.py: checked in for an appointment; the waiting screen, as for a ticket."""
        v = self.visit
        v.ticket_id, v.service_code, v.appointment_at = reply.ticket_id, reply.service_code, reply.starts_at
        if v.session_id is not None or v.ticket_state not in (None, "waiting", "offered"):
            return  # the call has begun meanwhile
        v.ticket_state, v.position = "waiting", reply.position
        self._rebase_wait(reply.estimated_wait_s)
        self._set_screen("waiting")
        self.emit("ticket", self._ticket_payload())

    async def cancel(self) -> None:
        """Cancel waiting (or leave the choice screens) and clear everything."""
        visit = self.visit
        if visit.ticket_id is not None and visit.ticket_state in ("waiting", "offered"):
            with contextlib.suppress(ClientError):
                await self.client.request(TicketCancel(ticket_id=visit.ticket_id))
        # the server's ``cancelled`` comes before the request's ack and resets already: the next resident may have
        # begun meanwhile, and a second reset would wipe what they have chosen and typed
        if self.visit is visit:
            self.reset()

    async def hang_up(self) -> None:
        sid = self.visit.session_id
        if sid is None:
            return
        try:
            await self.client.request(SessionEnd(session_id=sid))
        except NotConnected as exc:
            # locally the call is over for the resident; the server learns of it after the reconnect
            log.info("hang-up not confirmed: %s", exc)
            await self._end_here(sid, "resident_hangup", "session_end")
        except RequestFailed as exc:  # heard: e.g. the call had already ended
            log.info("hang-up refused: %s", exc)
            await self._finish_call(sid, "resident_hangup")

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
        self.touch()
        if self.mesh is not None:
            self.mesh.set_muted(muted)

    def set_camera(self, on: bool) -> None:
        self.touch()
        if self.mesh is not None:
            self.mesh.set_camera(on)

    @property
    def document_available(self) -> bool:
        """The call screen offers 「書類を見せる」 (a document camera is set and the call sends video)."""
        return self.documents.available

    async def show_document(self) -> bool:
        """「書類を見せる」: the call's video carries the document camera until :meth:`stop_document`."""
        self.touch()
        if self.mesh is None:
            return False
        return await self.documents.show()

    def shared_pdf(self) -> bytes | None:
        """The PDF the specialist shows on this screen now (its bytes, for the window to render), or None."""
        return self.shared.data

    async def stop_document(self) -> None:
        """「カメラに戻す」: the face camera again; the document camera is closed."""
        self.touch()
        await self.documents.stop()

    async def submit_feedback(self, rating: int, saved_trip: bool | None) -> bool:
        """Thank the resident and clear the screen at once; the rating reaches the server now, or from the
        outbox after the reconnect. True when the server has it now."""
        sid = self.visit.feedback_session_id
        report = Report("feedback", sid, rating=rating, saved_trip=saved_trip) if sid is not None else None
        if report is not None:
            self.outbox.add(report)
        self.reset()
        if report is None:
            return False
        for sent, refused in await self.flush_outbox():
            if sent == report and refused is not None:
                self.emit("error", {"code": refused.code, "message": refused.message})
                return False
        return report not in self.outbox

    async def flush_outbox(self) -> list[tuple[Report, RequestFailed | None]]:
        """Send the kept reports (after a reconnect, or when one is added while online)."""
        if not self.outbox.pending or self.connection != "online":
            return []
        done = await self.outbox.flush(self.client.request)
        for report, _refused in done:
            if report.kind != "feedback":
                self._ended_here.discard(report.session_id)  # the server knows: no re-sync of it will come
        return done

    def reset(self, *, by_resident: bool = True) -> None:
        """Privacy reset: forget everything of this resident and show the welcome screen. ``by_resident`` False:
        no touch caused it (inactivity, a dead call, out of service); the ``reset`` event says so, and the spoken
        guidance then keeps quiet."""
        self.visit = ResidentVisit()
        self.callback.forget()
        self.appointment.forget()
        self.branch_staff.forget()
        self.forms.forget()
        self.countdown.clear()
        self.wait_view = UNKNOWN
        self.first_remote_frame_at = None
        self.call_started_at = None
        self.selfcheck_results = []
        self.printing.dismiss()
        self.stop_card_scan()
        self.language = self.settings.language
        self.touch()
        self._set_screen("idle")
        self.emit("reset", {"language": self.language, "by_resident": by_resident})

    # ------------------------------------------------------------ IT self-check
    def unlock_selfcheck(self, pin: str) -> bool:
        """The self-check screen is for IT staff: the PIN set at enrollment (checked against its argon2 hash in
        the credential file; there is no default), and a lockout after repeated wrong ones."""
        now = self.clock()
        self._pin_failures = [t for t in self._pin_failures if now - t < PIN_LOCKOUT_S]
        if len(self._pin_failures) >= PIN_ATTEMPTS or self.screen not in ("idle", "selfcheck"):
            return False
        if not pin_matches(self.credential.selfcheck_pin_hash, pin):
            self._pin_failures.append(now)
            return False
        self._pin_failures.clear()
        self.touch()
        self._set_screen("selfcheck")
        return True

    async def run_selfcheck(self) -> list[selfcheck.Check]:
        """Camera, microphone, speaker, server (and the voice guidance's engines); the results also go out as the
        ``selfcheck`` event."""
        self.touch()
        results = await selfcheck.run_all(self.settings, self.speaker_probe)
        if self.echo_error:
            results.append(selfcheck.Check("echo_cancellation", False, self.echo_error))
        if self.voice_probe is not None:
            results.append(selfcheck.Check("voice", *self.voice_probe()))
        self.selfcheck_results = results
        self.touch()
        self.emit("selfcheck", {"results": results})
        return results

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
                # the screen first: closing the link (SCTP, DTLS, ICE) takes a while on a busy PC
                self.emit("participants", {"participants": list(self.visit.participants), "left": msg.peer})
                if self.mesh is not None:
                    await self.mesh.remove_peer(msg.peer)
            case SessionEnded():
                await self._finish_call(msg.session_id, msg.reason, media_error=msg.media_error)
            case BranchCallState():
                self.branch_staff.on_state(msg)
            case FormShow() if msg.session_id == self.visit.session_id:
                self.forms.on_show(msg)
            case GuestConsentRequest() if msg.session_id == self.visit.session_id:
                self.visit.guest_request = msg
                self.touch()
                self.emit("guest_consent", {"request": msg})

    async def answer_guest(self, agree: bool) -> bool:
        """The resident's tap on the guest announcement: the guest joins (and only then sends media) or not."""
        req = self.visit.guest_request
        if req is None:
            return False
        self.touch()
        try:
            await self.client.request(GuestConsent(invitation_id=req.invitation_id, agree=agree))
        except ClientError as exc:
            self.emit("error", {"code": getattr(exc, "code", "offline"), "message": str(exc)})
            return False
        self.visit.guest_request = None
        s = self.settings
        if agree and req.role == "sign_interpreter" and (s.video_width < 640 or s.video_height < 480
                                                          or s.video_fps < 15):
            # the interpreter reads the resident's hands: VGA at 15 fps at least (the default send settings)
            log.warning("a sign-language interpreter joins but this kiosk sends %dx%d at %d fps (below VGA 15 fps)",
                        s.video_width, s.video_height, s.video_fps)
        self.emit("guest_consent_done", {"agree": agree, "request": req})
        return True

    async def withdraw_guest(self, peer: str) -> bool:
        """The resident asks a guest in the call to leave (protocol 1.15): the consent is taken back, the guest is
        out at once and the consultation goes on (``participants`` follows when the server says the guest left)."""
        kind, _, number = peer.partition(":")
        if kind != "guest" or not number.isdigit():
            return False
        self.touch()
        try:
            await self.client.request(GuestConsent(invitation_id=int(number), agree=False))
        except ClientError as exc:
            self.emit("error", {"code": getattr(exc, "code", "offline"), "message": str(exc)})
            return False
        return True

    async def _on_ticket(self, msg: TicketUpdate) -> None:
        if msg.ticket_id in self._ended_tickets and not self._ended_ticket_update(msg):
            return
        if self.visit.ticket_id not in (None, msg.ticket_id):
            return
        if self.visit.ticket_id is None and msg.state in FINAL_TICKET_STATES:
            return
        if self.visit.session_id is not None and msg.state in ("waiting", "offered"):
            return  # a queue update computed before the accept, delivered after session.start: stale
        self.visit.ticket_id, self.visit.ticket_state = msg.ticket_id, msg.state
        self.visit.service_code = msg.service_code
        if msg.state in ("waiting", "offered"):  # place and estimate as of this push (null: not known now)
            self.visit.position = msg.position
            self._rebase_wait(msg.estimated_wait_s)
        if msg.state in ("abandoned", "cancelled"):
            self.reset()
            return
        if msg.state in ("waiting", "offered") and self.screen not in ("waiting", "callback"):
            self._set_screen("waiting")  # (typing a callback number: the place is kept, the keypad stays)
        self.emit("ticket", {**self._ticket_payload(), "reason": msg.reason})

    def _ended_ticket_update(self, msg: TicketUpdate) -> bool:
        """An update about the ticket of a call this kiosk ended offline: True to handle it as usual."""
        if msg.state in ("waiting", "offered"):
            if self.visit.ticket_id == msg.ticket_id and self.visit.session_id is None:
                self._ended_tickets.discard(msg.ticket_id)
                return True  # the specialist handed the resident on (transfer): still here, back to waiting
            # the resident has gone since: nobody to call back to this kiosk for it
            self._spawn(self._cancel_ticket(msg.ticket_id))
        if msg.state in FINAL_TICKET_STATES:
            self._ended_tickets.discard(msg.ticket_id)
        return False

    async def _cancel_ticket(self, ticket_id: int) -> None:
        with contextlib.suppress(ClientError):
            await self.client.request(TicketCancel(ticket_id=ticket_id))

    async def _on_session_start(self, msg: SessionStart) -> None:
        if self.mesh is not None and self.mesh.session_id == msg.session_id:
            if msg.ice_servers is not None:  # fresher TURN credentials for the links healed from now on
                self.mesh.ice_servers = msg.ice_servers
            return  # resumed signaling; the media kept going
        if msg.session_id in self._ended_here:
            self._spawn(self.flush_outbox())  # the re-sync of a call that ended here: the server learns now
            return
        await self._end_call_media()
        self.visit.session_id = msg.session_id
        self.visit.participants = list(msg.participants)
        self.visit.written, self.visit.unmet_needs = msg.written, list(msg.unmet_needs)
        specialist = next((p.peer for p in msg.participants if p.role == "specialist"), None)
        welcome = self.client.welcome
        audio, video = self._open_local_media()
        self.media = LocalMedia(audio, video)
        self.call_started_at = self.clock()
        self._media_dead_since = None
        self.countdown.clear()
        # report_setup_ms=False: the kiosk never sees the accept, so its "setup" time would not be the
        # call's; the server takes the specialist's (docs/protocol.md, call.media)
        ice = msg.ice_servers if msg.ice_servers is not None else welcome.ice_servers if welcome else []
        self.mesh = CallMesh(self.client, msg.session_id, msg.you, ice,
                             self.media, primary=specialist, emit=self._on_call_event,
                             connect_timeout_s=self.settings.connect_timeout_s,
                             media_grace_s=self.settings.media_grace_s,
                             media_lost_after_s=self.settings.media_lost_after_s, report_setup_ms=False,
                             relay_only=welcome is not None and welcome.ice_transport_policy == "relay")
        self.documents.attach(self.video_switch, self.mesh)
        self.shared.attach(self.mesh)
        self.printing.attach(self.mesh)
        await self.mesh.start(msg.offer_to)
        self._set_screen("in_call")
        self.emit("call_started", {"session_id": msg.session_id, "participants": list(msg.participants),
                                   "written": msg.written, "unmet_needs": list(msg.unmet_needs)})

    def _open_local_media(self) -> tuple[Any, Any]:
        """Camera and microphone (or the synthetic source); the microphone through AEC when it is a real one.
        A device that cannot be opened does not stop the call: the resident still sees, hears and can chat."""
        s = self.settings
        try:
            audio, video = make_local_tracks(s.media_source, width=s.video_width, height=s.video_height,
                                             fps=s.video_fps, video_device=s.video_device,
                                             audio_device=s.audio_device)
        except MediaDeviceError as exc:
            log.warning("local media unavailable: %s", exc)
            self.emit("error", {"code": "media_device", "message": str(exc)})
            audio, video = None, None
        if audio is not None and s.echo_cancellation and s.media_source == "device":
            try:
                self.echo = EchoCanceller(noise_suppression=s.noise_suppression, delay_ms=s.aec_delay_ms)
                audio = EchoCancelledTrack(audio, self.echo)
                self.echo_error = ""
            except EchoUnavailable as exc:
                self.echo, self.echo_error = None, str(exc)
                log.warning("echo cancellation off: %s", exc)
        self.video_switch = SwitchVideoTrack(video) if video is not None else None
        self.local_video = TapTrack(self.video_switch) if self.video_switch is not None else None
        return audio, self.local_video

    def far_end(self, pcm: bytes) -> None:
        """What the speaker just played (48 kHz mono s16): the echo canceller's reference."""
        if self.echo is not None:
            self.echo.push_far_end(pcm)

    def _attach_audio(self) -> None:
        if self.mesh is None:
            return
        for peer, link in self.mesh.links.items():
            if link.call.on_audio_frame is None:
                link.call.on_audio_frame = lambda frame, p=peer: self._remote_audio(p, frame)  # type: ignore[misc]

    def _remote_audio(self, peer: str, frame: Any) -> None:
        if self.on_remote_audio is not None:
            self.on_remote_audio(peer, frame)

    def _on_call_event(self, name: str, data: dict[str, Any]) -> None:
        if name in ("peer_added", "connected"):
            self._attach_audio()
        if name == "connected":
            self.documents.resend_state(data["peer"])
        if name == "channel":
            self._spawn(self.documents.on_message(data["peer"], data["message"]))
            self.shared.on_message(data["peer"], data["message"])
            self.printing.on_message(data["peer"], data["message"])
            return
        if name == "blob":
            self.touch()
            self.shared.on_blob(data["peer"], data["begin"], data["data"])
            self.printing.on_blob(data["peer"], data["begin"], data["data"])
            return
        if name == "blob_error":
            self.shared.on_blob_error(data["peer"])
            return
        primary = self.mesh is not None and data.get("peer") == self.mesh.primary
        sid = self.visit.session_id
        if name == "remote_closed" and primary and sid is not None and self.connection != "online":
            # the specialist's console closed the call and the server cannot tell us: it is over now
            self._spawn(self._end_here(sid, "staff_hangup", "session_end"))
        elif name == "failed" and primary and sid is not None:
            # no media through the whole grace: the call is cut off, whether or not the server hears it
            error = data.get("error")  # a TURN problem, if that was the cause
            if data.get("ended"):
                self._spawn(self._finish_call(sid, str(data["ended"]), media_error=error))
            else:
                self._spawn(self._end_here(sid, "media_failed", None if data.get("reported") else "media_failed",
                                           media_error=error))
        if name == "chat":
            self.visit.chat.append((data["peer"], data["text"]))
            self.emit("chat", {"who": data["peer"], "text": data["text"]})
        elif name == "quality":
            self.emit("quality", data)
        else:
            self.emit("call_status", {"status": name, **data})

    async def _end_here(self, session_id: int, reason: str, report: ReportKind | None, *,
                        feedback: bool = True, media_error: str | None = None) -> None:
        """End the call on this kiosk without the server's ``session.ended``; ``report``: what the server must
        be told, now or after the reconnect (kept in the outbox)."""
        if self.visit.session_id != session_id:
            return
        if report is not None:
            self._ended_here.add(session_id)
            if self.visit.ticket_id is not None:
                self._ended_tickets.add(self.visit.ticket_id)
            said = reason if report == "session_end" and reason in ("resident_hangup", "staff_hangup") else None
            self.outbox.add(Report(report, session_id, ticket_id=self.visit.ticket_id, reason=said))  # type: ignore[arg-type]
        await self._finish_call(session_id, reason, feedback=feedback, media_error=media_error)
        self._spawn(self.flush_outbox())

    async def _finish_call(self, session_id: int, reason: str, *, feedback: bool = True,
                           media_error: str | None = None) -> None:
        """``media_error``: why the media failed when known ("turn_auth", "turn_unreachable"), for the screen."""
        if self.visit.session_id != session_id:
            return
        self.visit.session_id = None  # before the first await: the call ends once, whoever says so first
        self.forms.forget()  # a form not answered lapses with the call
        if self.visit.guest_request is not None:  # the question lapses with the call
            self.visit.guest_request = None
            self.emit("guest_consent_done", {"agree": None, "request": None})
        await self._end_call_media()
        self.emit("call_ended", {"session_id": session_id, "reason": reason, "media_error": media_error})
        if reason == "transferred":
            self._set_screen("waiting")
            return
        self.visit.feedback_session_id = session_id
        self.visit.chat.clear()
        self.touch()
        if feedback:
            self._set_screen("feedback")

    async def _end_call_media(self) -> None:
        await self.documents.stop()
        self.documents.attach(None, None)
        self.shared.attach(None)
        self.printing.attach(None)
        mesh, media = self.mesh, self.media
        self.mesh, self.media = None, None
        self.echo, self.local_video, self.video_switch = None, None, None
        self._media_dead_since = None
        if mesh is not None:
            await mesh.close()
            self.last_call_frames = mesh.frames_received()  # the whole call's, over healed links
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

    def local_frame(self) -> Any:
        """Latest frame of our own camera (the self-view), or None."""
        return self.local_video.latest_frame if self.local_video is not None else None

    def _ticket_payload(self) -> dict[str, Any]:
        v = self.visit
        return {"ticket_id": v.ticket_id, "state": v.ticket_state, "position": v.position,
                "estimated_wait_s": v.estimated_wait_s, "service_code": v.service_code,
                "unmet_needs": list(v.unmet_needs), "case_found": v.case_found, "wait": self.wait_view.payload(),
                "appointment_at": v.appointment_at}

    # ------------------------------------------------------------ the wait, counted down
    def _rebase_wait(self, estimate_s: float | None) -> None:
        self.visit.estimated_wait_s = estimate_s
        self.countdown.rebase(estimate_s, self.clock())
        self.wait_view = self.countdown.view(self.clock())

    def refresh_wait(self) -> None:
        """Count the estimate down on this kiosk's clock (called every tick); ``wait`` when the words change."""
        view = self.countdown.view(self.clock())
        if view != self.wait_view:
            self.wait_view = view
            if self.screen == "waiting":
                self.emit("wait", view.payload())

    def set_screen(self, screen: str) -> None:
        """For the controller's parts (kiosk/callback_flow.py): show ``screen``."""
        self._set_screen(screen)

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
        reported = SCREEN_REPORT_AS.get(screen, screen)
        if reported not in REPORTED_SCREENS:
            return
        with contextlib.suppress(ClientError):
            await self.client.request(KioskState(screen=reported))  # type: ignore[arg-type]

    def _on_conn_state(self, state: ConnState) -> None:
        self.connection = state
        if state == "online" and isinstance(self.client.welcome, Welcome):
            self.services = list(self.client.welcome.services)
            self.branch = self.client.welcome.branch or self.branch
            self.emit("services", {"services": self.services})
            self._spawn(self._report_screen(self.screen))
            self._spawn(self.flush_outbox())
            self.check_health()
        link = self.mesh.link() if self.mesh is not None else None
        sid = self.visit.session_id
        if state != "online" and link is not None and link.call.remote_bye and sid is not None:
            # the specialist said bye just before the server went away: its session.ended will not come now
            self._spawn(self._end_here(sid, "staff_hangup", "session_end"))
        reason = self.client.stop_reason if state == "closed" else None
        if reason is not None:  # revoked or started elsewhere: this kiosk is out of service until IT acts
            self._spawn(self._out_of_service())
        self.emit("connection", {"state": state, "reason": reason})

    async def _out_of_service(self) -> None:
        await self._end_call_media()
        self.reset(by_resident=False)

    async def _tick_loop(self) -> None:
        """The controller's clock tick: the inactivity reset and the wait countdown."""
        step = min(1.0, max(0.1, self.settings.inactivity_reset_s / 10))
        while True:
            await asyncio.sleep(step)
            self.check_inactivity()
            self.refresh_wait()
            self.check_health()

    def check_health(self) -> None:
        """Send the health report when it is due (:mod:`kiosk.health_reporter`); ``health`` event after."""
        if self.health.claim(self.connection == "online"):
            self._spawn(self._report_health())

    async def _report_health(self) -> None:
        msg = await self.health.report()
        if msg is not None:
            self.emit("health", {"devices": [d.model_dump() for d in msg.devices], "rtt_ms": msg.rtt_ms})

    def check_inactivity(self) -> None:
        """Screens left untouched go back to the welcome screen (privacy), except waiting and live calls.
        A warning (``idle_warning``) comes ``inactivity_warning_s`` before, so a slow reader can stay.
        A call screen with no live media for ``inactivity_reset_s``, untouched as long, is a call nobody is
        in any more (whatever the call layer and the server missed): it ends as cut off and is cleared."""
        now = self.clock()
        idle = now - self.last_activity
        limit: float | None = None
        if self.screen == "in_call":
            if self.mesh is not None and self.mesh.primary_alive():
                self._media_dead_since = None
                return
            if self._media_dead_since is None:
                self._media_dead_since = now
            dead = now - self._media_dead_since
            limit = self.settings.inactivity_reset_s
            if dead > limit and idle > limit and self.visit.session_id is not None:
                self._media_dead_since = now  # once
                self._spawn(self._clear_dead_call(self.visit.session_id))
                return
            idle = min(idle, dead)  # warn only once the media has been gone that long too
        elif self.screen in RESETTABLE_SCREENS:
            limit = self.settings.inactivity_reset_s
        elif self.screen == "feedback":
            limit = self.settings.feedback_timeout_s
        elif self.screen == "idle" and self.language != self.settings.language:
            limit = self.settings.inactivity_reset_s  # a language left switched goes back too
        if limit is None:
            return
        if idle > limit and self.screen == "callback" and self.visit.ticket_state in ("waiting", "offered"):
            self.callback.close()  # the typed number is forgotten; the place in the queue is kept
            return
        if idle > limit and self.screen != "in_call":
            self.reset(by_resident=False)
            return
        warn = min(self.settings.inactivity_warning_s, limit / 2)
        if self.screen != "idle" and idle > limit - warn and not self._idle_warned:
            self._idle_warned = True
            self.emit("idle_warning", {"seconds_left": round(limit - idle)})

    async def _clear_dead_call(self, session_id: int) -> None:
        await self._end_here(session_id, "media_failed", "media_failed", feedback=False)
        self.reset(by_resident=False)  # nobody is there to give feedback
