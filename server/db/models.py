"""The domain (DESIGN §3): one module, one metadata, one Alembic history.

Times are stored as UTC. ``Note`` holds sensitive consultation content
(要配慮個人情報): only routes that check roles may load it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from server.db.base import Base, utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite returns naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Municipality(Base):
    __tablename__ = "municipality"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ja: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    # supervisors of other municipalities may listen in (session.join) to this municipality's calls; off by default
    outside_supervision: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    branches: Mapped[list[Branch]] = relationship(back_populates="municipality")


class Branch(Base):
    __tablename__ = "branch"
    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_ja: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    distance_km: Mapped[float] = mapped_column(Float, default=0.0)  # one way, to Kitami city hall
    municipality: Mapped[Municipality] = relationship(back_populates="branches", lazy="joined")


class Kiosk(Base):
    __tablename__ = "kiosk"
    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    credential_hash: Mapped[str | None] = mapped_column(String(256))
    enroll_code_hash: Mapped[str | None] = mapped_column(String(256))
    enroll_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    selfcheck_pin_hash: Mapped[str | None] = mapped_column(String(256))  # argon2 of the IT self-check PIN
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    app_version: Mapped[str] = mapped_column(String(64), default="")
    screen: Mapped[str] = mapped_column(String(16), default="idle")
    branch: Mapped[Branch] = relationship(lazy="joined")


class KioskHealth(Base):
    """The latest ``kiosk.health`` report of each kiosk (issue 13): device states, RTT, software version.
    Metadata only: device names and figures, never images, sound or anything a resident did."""

    __tablename__ = "kiosk_health"
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosk.id", ondelete="CASCADE"), primary_key=True)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    app_version: Mapped[str] = mapped_column(String(64), default="")
    rtt_ms: Mapped[float | None] = mapped_column(Float)
    devices: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{device, state, detail}]


class Service(Base):

    __tablename__ = "service"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_ja: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    description_ja: Mapped[str] = mapped_column(String(256), default="")
    description_en: Mapped[str] = mapped_column(String(256), default="")
    hours_ja: Mapped[str] = mapped_column(String(128), default="")
    hours_en: Mapped[str] = mapped_column(String(128), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=True)  # in the wide-area pool
    is_general: Mapped[bool] = mapped_column(Boolean, default=False)  # "not sure" lands here
    sort_order: Mapped[int] = mapped_column(Integer, default=0)


class StaffSkill(Base):
    __tablename__ = "staff_skill"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"), primary_key=True)


StaffRole = Literal["specialist", "supervisor", "it_monitor", "admin", "partner"]
# partner: someone from outside the municipality's welfare section (相談支援事業所, 就業・生活支援センター, 後見人,
# interpreter): joins a call only when invited; reads no notes, history or queue
STAFF_ROLES: tuple[str, ...] = get_args(StaffRole)


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # a StaffRole
    password_hash: Mapped[str] = mapped_column(String(256))
    capabilities: Mapped[list[str]] = mapped_column(JSON, default=list)  # needs they can serve
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["ja"])
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # bumped on password reset, role change and disable: access tokens of an older version are refused
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # live routing state, in the database so that several nodes agree
    status: Mapped[str] = mapped_column(String(16), default="offline")
    status_reason: Mapped[str] = mapped_column(String(64), default="")
    idle_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    skills: Mapped[list[Service]] = relationship(secondary="staff_skill", lazy="selectin")
    municipality: Mapped[Municipality] = relationship(lazy="joined")


class RefreshToken(Base):
    """A staff refresh token, stored as its SHA-256 (the token is 256 random bits). Each use rotates it: the
    used row is marked, a new one of the same family issued; a used token presented again revokes the family."""

    __tablename__ = "refresh_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32), index=True)  # one login's chain of rotations
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # rotated: never valid again
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Case(Base):
    """A resident's continuing matter in one municipality (issue 12 item 2): the only place a name or a contact may
    live. ``number`` (``KIT-2026-0042``, signaling/protocol/case_number.py) is unique within the municipality.
    ``name`` and ``contact`` are read only by specialists and supervisors of ``municipality_id``
    (server/api/routes/cases.py); the case goes with the record type ``session`` once none of its sessions or
    tickets is left (server/retention). Sessions link to it by ``CallSession.case_id``; notes through them."""

    __tablename__ = "resident_case"
    __table_args__ = (UniqueConstraint("municipality_id", "number", name="uq_resident_case_number"),
                      UniqueConstraint("municipality_id", "year", "serial", name="uq_resident_case_serial"))
    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    number: Mapped[str] = mapped_column(String(24))
    year: Mapped[int] = mapped_column(Integer)
    serial: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(64), default="")
    contact: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))


class Ticket(Base):
    __tablename__ = "ticket"
    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosk.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(8), default="ja")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(16), index=True, default="waiting")
    arrival_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # kept across transfers
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    offered_to_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    target_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # named transfer
    declined_by: Mapped[list[int]] = mapped_column(JSON, default=list)
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last decline; declined_by expires
    transfer_count: Mapped[int] = mapped_column(Integer, default=0)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # the case the resident presented (its number typed at the kiosk), and its last specialist, preferred by
    # routing until prefer_until (MADOGUCHI_CASE_PREFER_WAIT_S after arrival; server/queue/routing.py)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("resident_case.id"), index=True)
    preferred_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    prefer_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # an appointment's ticket (issue 12 item 3): not offered before this, then ahead of walk-ins (routing.py)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    service: Mapped[Service] = relationship(lazy="joined")
    branch: Mapped[Branch] = relationship(lazy="joined")
    case: Mapped[Case | None] = relationship(lazy="joined")


APPOINTMENT_STATES = ("booked", "checked_in", "served", "no_show", "cancelled")


class Appointment(Base):
    """A slot staff booked for a resident (issue 12 item 3): a service at a branch at a time, optionally with a
    specialist and under a case. ``number`` (予約番号, six random digits) is unique within the municipality and the
    day (Japan time) and is what the resident types at the kiosk. ``state``: booked → checked_in (``ticket_id``, the
    place in the queue) → served; or no_show (not checked in ``appointment_no_show_s`` after its start), or
    cancelled. Kept with the call metadata (record type ``session``)."""

    __tablename__ = "appointment"
    __table_args__ = (UniqueConstraint("municipality_id", "day", "number", name="uq_appointment_number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    day: Mapped[date] = mapped_column(Date, index=True)  # of starts_at, in Japan time
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    duration_min: Mapped[int] = mapped_column(Integer)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("resident_case.id"), index=True)
    number: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), index=True, default="booked")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # served, released or cancelled
    service: Mapped[Service] = relationship(lazy="joined")
    branch: Mapped[Branch] = relationship(lazy="joined")
    staff: Mapped[Staff | None] = relationship(lazy="joined", foreign_keys=[staff_id])
    case: Mapped[Case | None] = relationship(lazy="joined")


class CallSession(Base):
    """One call (a 'session' in the domain; named to avoid clashing with ORM sessions)."""

    __tablename__ = "call_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosk.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"), index=True)
    ticket_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    media_connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    media_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last report on the media, either side
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wrapup_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(32))
    setup_ms: Mapped[float | None] = mapped_column(Float)
    transferred_from_id: Mapped[int | None] = mapped_column(ForeignKey("call_session.id"))
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # summary per side
    participants: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # join/leave log
    case_id: Mapped[int | None] = mapped_column(ForeignKey("resident_case.id"), index=True)  # the case it is under
    service: Mapped[Service] = relationship(lazy="joined")
    branch: Mapped[Branch] = relationship(lazy="joined")
    staff: Mapped[Staff] = relationship(lazy="joined")


class Note(Base):
    """Consultation record. Sensitive: belongs to the resident's municipality."""

    __tablename__ = "note"
    __table_args__ = (UniqueConstraint("session_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("call_session.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    category: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up_by: Mapped[str] = mapped_column(String(128), default="")
    referral_org: Mapped[str] = mapped_column(String(128), default="")
    shared: Mapped[bool] = mapped_column(Boolean, default=False)  # readable by other municipalities
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Attachment(Base):
    """A document still the specialist kept with a session's record (issue 11, item 1). Sensitive like the
    note: the same readers (routes/attachments.py) and the note's retention period (record type ``note``)."""

    __tablename__ = "attachment"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("call_session.id"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(32), default="document_still")
    mime: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class FormConfirmation(Base):
    """A form the specialist filled during the call and showed on the kiosk for the resident to confirm (書かない窓口,
    issue 11 item 4): one row per session and form, its latest revision. ``content`` is consultation content
    (:class:`signaling.protocol.forms.FormContent`): the note's readers only (routes/forms.py) and the note's
    retention period (record type ``note``). ``content_hash``: SHA-256 of its canonical JSON; the kiosk's answer
    must name it. ``state``: pending → confirmed | change_requested; a resend makes a new revision, pending."""

    __tablename__ = "form_confirmation"
    __table_args__ = (UniqueConstraint("session_id", "form_code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("call_session.id"), index=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    form_code: Mapped[str] = mapped_column(String(32))
    form_version: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    sent_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    kiosk_id: Mapped[int | None] = mapped_column(ForeignKey("kiosk.id"))  # the kiosk that answered
    changes: Mapped[list[str]] = mapped_column(JSON, default=list)  # field keys marked 「ここがちがう」
    change_reason: Mapped[str | None] = mapped_column(String(16))  # wrong | explain


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("call_session.id"), unique=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosk.id"))
    rating: Mapped[int] = mapped_column(Integer)
    saved_trip: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GuestInvitation(Base):
    """A one-time link for a guest (family, supporter, guardian, interpreter) to join one call from a browser.
    Only the token's SHA-256 is kept. ``state``: invited → lobby (link used) → awaiting_consent (the specialist
    admitted) → admitted (the resident agreed); or refused (``refused_by`` staff/resident), left, ended."""

    __tablename__ = "guest_invitation"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("call_session.id"), index=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    role: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(20), default="invited")
    refused_by: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Callback(Base):
    """A resident's request to be phoned back (折り返し電話, issue 12 item 4). ``phone`` is personal data: read only
    by staff of ``municipality_id`` (server/queue/callbacks.py), purged with the record type ``callback``
    (server/retention). ``state``: open → claimed → done, or back to open after a ``no_answer`` (``attempts``)."""

    __tablename__ = "callback"
    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosk.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id"))
    phone: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="ja")
    band_part: Mapped[str] = mapped_column(String(4))  # am | pm
    band_starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    band_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(16), index=True, default="open")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    service: Mapped[Service] = relationship(lazy="joined")
    branch: Mapped[Branch] = relationship(lazy="joined")
    claimed_by: Mapped[Staff | None] = relationship(lazy="joined")


class BranchCall(Base):
    """A resident at a kiosk called a person at the branch (「支所の職員を呼ぶ」, issue 12 item 6): who was called
    when, and who acknowledged. Kept with the call metadata (record type ``session``)."""

    __tablename__ = "branch_call"
    id: Mapped[int] = mapped_column(primary_key=True)
    kiosk_id: Mapped[int] = mapped_column(ForeignKey("kiosk.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branch.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recipients: Mapped[list[int]] = mapped_column(JSON, default=list)  # staff ids told
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    branch: Mapped[Branch] = relationship(lazy="joined")


class AuditEvent(Base):
    """Append-only and hash-chained (server/audit): row ``seq`` carries ``prev_hash``, the hash of row ``seq - 1``
    (or of the last purged row, see :class:`AuditCheckpoint`), and ``hash`` over its own canonical encoding plus
    ``prev_hash``. Rows are written only by :func:`server.db.audit.audit` (at commit, under the chain lock); the
    database refuses UPDATE and DELETE (triggers, server/audit/guard.py), and so does the ORM (listener below)."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True, index=True)  # 1, 2, 3, ... without gaps
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # "staff:3", "kiosk:2", "system"
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A purged prefix of the chain (retention): rows up to ``through_seq`` were deleted; ``hash`` was the hash of
    row ``through_seq``, so the first remaining row's ``prev_hash`` must equal it. Append-only as well."""

    __tablename__ = "audit_checkpoint"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    through_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    hash: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())  # time of the newest purged row
    actor: Mapped[str] = mapped_column(String(64))


class AuditPurgePermit(Base):
    """Present only inside the purge transaction: the database triggers let a DELETE of audit rows through only
    while a permit naming a checkpoint at or past the row exists (server/audit/purge.py)."""

    __tablename__ = "audit_purge_permit"
    through_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class AuditLogIsAppendOnly(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _guard_audit(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent | AuditCheckpoint):
            raise AuditLogIsAppendOnly("audit events cannot be changed or deleted")
    for obj in session.new:
        if isinstance(obj, AuditEvent):
            raise AuditLogIsAppendOnly("audit events are chained: write them with server.db.audit.audit()")
