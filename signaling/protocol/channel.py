"""The peer-to-peer data channel's messages (channel ``madoguchi``, docs/protocol.md §15): one place for all.

Text messages are JSON objects tagged by ``kind``; one pydantic model per kind, parsed by :func:`parse_text`.
Unknown kinds are ignored by the receiver (:class:`UnknownKind`), so adding one is a minor protocol change.
Binary messages are chunks of a blob announced by ``blob.begin`` (:func:`chunk_frame` / :func:`parse_chunk`)::

    magic b"MDB1" | transfer_id (uint32, big endian) | index (uint32) | up to CHUNK_BYTES of payload

A blob (a document-camera still, a PDF shown or printed) is sent as ``blob.begin`` {size, sha256, ...} then its
chunks in order on the ordered, reliable channel; the receiver checks index, size and SHA-256
(:mod:`signaling.transfer`), so what arrives is byte-identical to what was sent, or refused. Pure: pydantic and
the standard library only.
"""

from __future__ import annotations

import json
import struct
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

CHUNK_MAGIC = b"MDB1"
CHUNK_HEADER = struct.Struct("!4sII")
CHUNK_BYTES = 16 * 1024  # payload per binary message: within every WebRTC stack's interoperable message size
MAX_BLOB_BYTES = 16 * 1024 * 1024  # one blob: a 8 MP still as PNG fits; anything larger is refused at blob.begin
MAX_TEXT_BYTES = 64 * 1024
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024  # a PDF the specialist shows on the kiosk (a form, a leaflet)
MAX_DOCUMENT_PAGES = 200
Id32 = Annotated[int, Field(ge=1, le=2**32 - 1)]


class ChannelError(ValueError):
    """A data-channel message that is not valid (bad JSON, a known kind with bad fields, a bad chunk)."""


class UnknownKind(ChannelError):
    """A JSON object of a kind this version does not know: ignored (forward compatibility)."""


class _Msg(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Heartbeat(_Msg):
    kind: Literal["hb"] = "hb"


class Chat(_Msg):
    kind: Literal["chat"] = "chat"
    text: str


class Control(_Msg):
    kind: Literal["ctl"] = "ctl"
    data: dict[str, Any]


class Bye(_Msg):
    kind: Literal["bye"] = "bye"


class DocCamera(_Msg):
    """Kiosk → others: its video track now carries the document camera (``showing``) or the face camera again.
    ``width``/``height``: the document camera's full resolution, the size of a still."""

    kind: Literal["doc.camera"] = "doc.camera"
    showing: bool
    width: Annotated[int, Field(ge=1, le=16384)] | None = None
    height: Annotated[int, Field(ge=1, le=16384)] | None = None


class StillRequest(_Msg):
    """Specialist → kiosk: capture one still at the document camera's full resolution and send it as a blob."""

    kind: Literal["still.request"] = "still.request"
    request_id: Id32


StillErrorCode = Literal["not_showing", "capture_failed", "busy"]


class StillError(_Msg):
    """Kiosk → specialist: no still for ``request_id`` (no document shown, the camera failed, one already going)."""

    kind: Literal["still.error"] = "still.error"
    request_id: Id32
    code: StillErrorCode


BlobPurpose = Literal["still", "document", "print"]
BlobMime = Literal["image/jpeg", "image/png", "application/pdf"]


class BlobBegin(_Msg):
    """Announces a blob whose chunks follow: its size and SHA-256 (hex) are checked on arrival."""

    kind: Literal["blob.begin"] = "blob.begin"
    transfer_id: Id32
    purpose: BlobPurpose
    mime: BlobMime
    size: Annotated[int, Field(ge=1, le=MAX_BLOB_BYTES)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    request_id: Id32 | None = None  # the still.request it answers; a print: the print's own id
    width: Annotated[int, Field(ge=1, le=16384)] | None = None
    height: Annotated[int, Field(ge=1, le=16384)] | None = None
    name: Annotated[str, Field(max_length=120)] | None = None  # a document's title, shown to the resident

    @model_validator(mode="after")
    def _purpose_fits(self) -> BlobBegin:
        if self.purpose in ("document", "print") and (self.mime != "application/pdf"
                                                      or self.size > MAX_DOCUMENT_BYTES):
            raise ValueError(f"a document is a PDF of at most {MAX_DOCUMENT_BYTES} bytes")
        if self.purpose == "print" and self.request_id is None:
            raise ValueError("a PDF to print names its print (request_id)")
        if self.purpose == "still" and not self.mime.startswith("image/"):
            raise ValueError("a still is an image")
        return self

    @property
    def chunks(self) -> int:
        return -(-self.size // CHUNK_BYTES)


class DocShown(_Msg):
    """Kiosk → specialist: the PDF of ``transfer_id`` is on the kiosk's screen, ``pages`` pages, at ``page``."""

    kind: Literal["doc.shown"] = "doc.shown"
    transfer_id: Id32
    pages: Annotated[int, Field(ge=1, le=MAX_DOCUMENT_PAGES)]
    page: Annotated[int, Field(ge=0, lt=MAX_DOCUMENT_PAGES)]


DocErrorCode = Literal["too_large", "not_pdf", "unreadable", "too_many_pages", "unsupported", "transfer_failed"]


class DocError(_Msg):
    """Kiosk → specialist (or the console to itself, before sending): the PDF is refused, and why."""

    kind: Literal["doc.error"] = "doc.error"
    code: DocErrorCode
    transfer_id: Id32 | None = None


class DocPage(_Msg):
    """Specialist → kiosk: show this page (0-based) of the PDF shown."""

    kind: Literal["doc.page"] = "doc.page"
    page: Annotated[int, Field(ge=0, lt=MAX_DOCUMENT_PAGES)]


class DocPointer(_Msg):
    """Specialist → kiosk: the pointer on ``page`` at (x, y), fractions of the page's width and height from its
    top left; x and y null: the pointer is hidden."""

    kind: Literal["doc.pointer"] = "doc.pointer"
    page: Annotated[int, Field(ge=0, lt=MAX_DOCUMENT_PAGES)]
    x: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    y: Annotated[float, Field(ge=0.0, le=1.0)] | None = None


class DocClose(_Msg):
    """Specialist → kiosk: the PDF is no longer shown (the kiosk forgets it)."""

    kind: Literal["doc.close"] = "doc.close"


class PrintRequest(_Msg):
    """Specialist → kiosk: print the PDF shown on the kiosk (``transfer_id`` of its ``doc.shown``) at the branch's
    printer. A PDF not shown is sent to print as a blob of purpose ``print`` instead (its ``request_id``)."""

    kind: Literal["print.request"] = "print.request"
    request_id: Id32
    transfer_id: Id32


PrintState = Literal["printing", "done", "paper_out", "no_printer", "failed"]
PRINT_FINAL_STATES: frozenset[str] = frozenset({"done", "paper_out", "no_printer", "failed"})


class PrintStatus(_Msg):
    """Kiosk → specialist: how the print ``request_id`` goes: ``printing`` (handed to the printer), then one final
    state. ``reason``: why, as a keyword (CUPS's, e.g. ``media-empty-error``, or ``busy``, ``no-document``,
    ``timeout``, ``not-configured``); ``pages``: the PDF's page count when known."""

    kind: Literal["print.status"] = "print.status"
    request_id: Id32
    state: PrintState
    pages: Annotated[int, Field(ge=1, le=MAX_DOCUMENT_PAGES)] | None = None
    reason: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = None


_MODELS = (Heartbeat, Chat, Control, Bye, DocCamera, StillRequest, StillError, BlobBegin, DocShown, DocError, DocPage,
           DocPointer, DocClose, PrintRequest, PrintStatus)
ChannelMessage = Annotated[
    Heartbeat | Chat | Control | Bye | DocCamera | StillRequest | StillError | BlobBegin | DocShown | DocError
    | DocPage | DocPointer | DocClose | PrintRequest | PrintStatus,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[ChannelMessage] = TypeAdapter(ChannelMessage)
KINDS = frozenset(m.model_fields["kind"].default for m in _MODELS)


def parse_text(raw: str | bytes) -> ChannelMessage:
    """One JSON message; :class:`UnknownKind` for a kind this version does not know, :class:`ChannelError`
    for anything malformed."""
    if len(raw) > MAX_TEXT_BYTES:
        raise ChannelError(f"text message of {len(raw)} bytes (at most {MAX_TEXT_BYTES})")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ChannelError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise ChannelError("not an object with a kind")
    if data["kind"] not in KINDS:
        raise UnknownKind(data["kind"])
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ChannelError(f"bad {data['kind']}: {exc.errors()[0]['msg']}") from None


def dump_text(msg: _Msg) -> str:
    return json.dumps(msg.model_dump(exclude_none=True), ensure_ascii=False)


def is_chunk(raw: str | bytes) -> bool:
    return isinstance(raw, bytes | bytearray) and raw[:4] == CHUNK_MAGIC


def chunk_frame(transfer_id: int, index: int, payload: bytes) -> bytes:
    return CHUNK_HEADER.pack(CHUNK_MAGIC, transfer_id, index) + payload


def parse_chunk(raw: bytes) -> tuple[int, int, bytes]:
    """(transfer_id, index, payload) of a binary chunk."""
    if len(raw) < CHUNK_HEADER.size or raw[:4] != CHUNK_MAGIC:
        raise ChannelError("not a chunk")
    if len(raw) > CHUNK_HEADER.size + CHUNK_BYTES:
        raise ChannelError(f"chunk of {len(raw)} bytes (at most {CHUNK_HEADER.size + CHUNK_BYTES})")
    _, transfer_id, index = CHUNK_HEADER.unpack_from(raw)
    return transfer_id, index, bytes(raw[CHUNK_HEADER.size:])
