"""Value types used inside messages (no ``type`` tag)."""

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["kiosk", "specialist", "supervisor", "it_monitor", "admin", "guest", "partner"]
StaffStatus = Literal["offline", "available", "away", "offered", "in_call", "wrap_up"]
TicketState = Literal[
    "waiting", "offered", "in_call", "wrap_up", "done", "cancelled", "abandoned", "no_specialist"
]
Need = Literal["sign_language", "written", "large_text", "supporter", "interpreter"]
PRIORITY_MAX = 2
Priority = Annotated[int, Field(ge=0, le=PRIORITY_MAX)]  # 0 normal, 1 high (優先), 2 urgent (至急)
Language = Annotated[str, Field(max_length=16)]
# 1.14: what a kiosk may send as the resident's language: a 2- or 3-letter code; the server accepts the languages
# it knows (ja, en and one per language pack, signaling/language_packs.py) and answers invalid_message otherwise
WireLanguage = Annotated[str, Field(pattern=r"^[a-z]{2,3}$")]
EndReason = Literal[
    "resident_hangup", "staff_hangup", "media_failed", "kiosk_lost", "transferred", "server_shutdown"
]
ParticipantRole = Literal["resident", "specialist", "third_party", "supervisor", "guest"]
# a guest invited by link (browser): family 家族, supporter 支援者, guardian 後見人, sign-language interpreter
# 手話通訳, interpreter 通訳
GuestRole = Literal["family", "supporter", "guardian", "sign_interpreter", "interpreter"]
GuestState = Literal["invited", "lobby", "awaiting_consent", "admitted", "refused", "left", "ended"]
# Why a call's media could not be set up, when the client knows (call.media failed, session.ended):
# the TURN server refused the credential (wrong secret, expired), or did not answer.
MediaError = Literal["turn_auth", "turn_unreachable"]
IceTransportPolicy = Literal["all", "relay"]


class Strict(BaseModel):
    """What clients send: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Lenient(BaseModel):
    """What the server sends: clients ignore fields they do not know (a newer server may add some)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class IceServer(Lenient):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class ServiceText(Lenient):
    """A service in one language (1.14): what the kiosk shows in that language."""

    name: str
    description: str = ""
    hours: str = ""


class ServiceInfo(Lenient):
    code: str
    name_ja: str
    name_en: str
    description_ja: str = ""
    description_en: str = ""
    on_duty: bool = True
    hours: str = ""
    # 1.14: the service in every language the server knows, by language code (ja, en, vi, ja-easy...); a field a
    # language pack does not give is the Japanese one
    texts: dict[str, ServiceText] = Field(default_factory=dict)

    def text(self, *languages: str) -> ServiceText:
        """The service in the first of ``languages`` the server sent (an older server sends no texts: its
        Japanese or English fields)."""
        for code in languages:
            if code in self.texts:
                return self.texts[code]
        if languages[:1] == ("en",):
            return ServiceText(name=self.name_en or self.name_ja, description=self.description_en)
        return ServiceText(name=self.name_ja, description=self.description_ja, hours=self.hours)


class QueueItem(Lenient):
    """A waiting ticket as a specialist sees it (no resident identity)."""

    ticket_id: int
    service_code: str
    branch: str
    municipality: str
    needs: list[Need] = Field(default_factory=list)
    language: Language = "ja"
    priority: int = 0
    waited_s: float
    state: TicketState
    tier: Literal["own", "shared"] = "own"


class StaffState(Lenient):
    staff_id: int
    name: str
    status: StaffStatus
    reason: str = ""


class Participant(Lenient):
    peer: str                   # "kiosk:<id>", "staff:<id>" or "guest:<invitation id>"
    role: ParticipantRole
    display_name: str = ""
    guest_role: GuestRole | None = None  # set for role "guest"


class CallStats(Strict):
    rtt_ms: float | None = Field(default=None, ge=0, le=60_000)
    loss_pct: float | None = Field(default=None, ge=0, le=100)
    bitrate_kbps: float | None = Field(default=None, ge=0, le=1_000_000)
    fps: float | None = Field(default=None, ge=0, le=240)
    frames_received: int | None = Field(default=None, ge=0)
    audio_frames_received: int | None = Field(default=None, ge=0)


# kiosk health (issue 13): what each device of a kiosk is doing, metadata only
HealthDevice = Literal["camera", "document_camera", "microphone", "speaker", "printer"]
DeviceState = Literal[
    "ok",             # present and working (camera: frames arrive; microphone: samples arrive)
    "not_installed",  # none configured on this kiosk (document camera, printer): not a fault
    "missing",        # configured or expected but cannot be opened
    "no_frames",      # camera opened but no frame within the probe's timeout
    "paper_out", "jam", "offline",  # printer states (CUPS)
    "error",          # anything else that makes it unusable; ``detail`` says what
]


class DeviceHealth(Strict):
    device: HealthDevice
    state: DeviceState
    detail: Annotated[str, Field(max_length=160)] = ""  # device names and figures only, never content


# callbacks (issue 12 item 4): a resident asks to be phoned back instead of waiting
JST = timezone(timedelta(hours=9), "JST")  # Japan time (no DST): callback bands, report days
CallbackPart = Literal["am", "pm"]  # morning / afternoon of a working day, within the callback hours
CallbackState = Literal["open", "claimed", "done"]
CallbackOutcome = Literal["reached", "no_answer", "wrong_number", "resolved"]


class CallbackBandRef(Strict):
    """A time band the resident picked: a day (Japan time) and its morning or afternoon."""

    day: date
    part: CallbackPart


class CallbackBand(Lenient):
    """A time band the server offers: ``day_offset`` counts calendar days from today (Japan time: 0 today,
    1 tomorrow), so a kiosk can say 「今日の午後」 without a clock of its own; ``starts_at``/``ends_at`` in UTC."""

    day: date
    part: CallbackPart
    day_offset: int
    starts_at: datetime
    ends_at: datetime


class CallbackItem(Lenient):
    """A callback task as its municipality's specialists see it. ``phone`` is personal data: only staff of the
    resident's municipality ever receive an item (the IT monitor gets counts only)."""

    callback_id: int
    service_code: str
    branch: str
    municipality: str
    phone: str
    language: Language = "ja"
    band: CallbackBand
    state: CallbackState
    attempts: int = 0                       # calls made that did not reach the resident (no_answer)
    claimed_by: int | None = None           # staff id
    claimed_by_name: str = ""
    outcome: CallbackOutcome | None = None  # the last outcome recorded
    note: str = ""
    created_at: datetime


# appointments (issue 12 item 3, 1.13): a slot staff booked; the resident checks in at the kiosk with its number
AppointmentState = Literal["booked", "checked_in", "served", "no_show", "cancelled"]
RESERVATION_DIGITS = 6
ReservationNumber = Annotated[str, Field(pattern=r"^[0-9]{6}$")]  # 予約番号: random, unique per municipality and day


class AppointmentItem(Lenient):
    """An appointment as the staff of its municipality see it (no name or contact: the case number only)."""

    appointment_id: int
    number: str                       # the reservation number (予約番号) the resident types at the kiosk
    day: date                         # in Japan time
    starts_at: datetime
    duration_min: int
    branch: str
    branch_code: str
    service_code: str
    staff_id: int | None = None       # the specialist it is booked with, if any
    staff_name: str = ""
    case_number: str | None = None
    state: AppointmentState
    checked_in_at: datetime | None = None
    ticket_id: int | None = None      # the ticket the check-in made
