"""Blobs over the data channel: split into chunks, reassembled and checked (docs/protocol.md §15).

No aiortc, no Qt: :class:`~signaling.peer.CallPeer` feeds a :class:`BlobAssembler` and sends what
:func:`blob_chunks` yields. One blob at a time per direction of a link: a new ``blob.begin`` drops an
unfinished one. Whatever arrives complete has the announced size and SHA-256, else :class:`TransferError` —
once per transfer: the rest of a refused transfer's chunks are dropped quietly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from signaling.protocol.channel import CHUNK_BYTES, BlobBegin, ChannelError, chunk_frame


class TransferError(ChannelError):
    """A blob that cannot be accepted: chunk out of order, of another transfer, too long, or a hash mismatch."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def blob_chunks(transfer_id: int, data: bytes) -> Iterator[bytes]:
    for index, start in enumerate(range(0, len(data), CHUNK_BYTES)):
        yield chunk_frame(transfer_id, index, data[start:start + CHUNK_BYTES])


@dataclass
class _Incoming:
    begin: BlobBegin
    parts: list[bytes]
    received: int = 0


class BlobAssembler:
    """Receiving side: :meth:`begin` then :meth:`chunk` for each chunk; the last returns the whole blob."""

    def __init__(self) -> None:
        self._current: _Incoming | None = None
        self._dead: int | None = None  # a transfer refused once: its remaining chunks are dropped quietly

    @property
    def receiving(self) -> BlobBegin | None:
        return self._current.begin if self._current is not None else None

    def begin(self, msg: BlobBegin) -> BlobBegin | None:
        """Start a blob; returns the unfinished one it drops, if any."""
        dropped = self.receiving
        self._current = _Incoming(msg, [])
        return dropped

    def chunk(self, transfer_id: int, index: int, payload: bytes) -> tuple[BlobBegin, bytes] | None:
        cur = self._current
        if cur is None or transfer_id != cur.begin.transfer_id:
            if transfer_id == self._dead:
                return None
            self._dead = transfer_id
            raise TransferError(f"chunk of transfer {transfer_id}, none such announced")
        try:
            if index != len(cur.parts):
                raise TransferError(f"chunk {index} of transfer {transfer_id}, expected {len(cur.parts)}")
            if cur.received + len(payload) > cur.begin.size or not payload:
                raise TransferError(f"transfer {transfer_id} longer than the announced {cur.begin.size} bytes")
        except TransferError:
            self._current, self._dead = None, transfer_id
            raise
        cur.parts.append(payload)
        cur.received += len(payload)
        if cur.received < cur.begin.size:
            return None
        self._current = None
        data = b"".join(cur.parts)
        if sha256_hex(data) != cur.begin.sha256:
            self._dead = transfer_id
            raise TransferError(f"transfer {transfer_id}: SHA-256 does not match")
        return cur.begin, data

    def reset(self) -> None:
        self._current = None
