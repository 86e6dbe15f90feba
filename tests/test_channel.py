"""The data channel's typed messages and blobs (signaling/protocol/channel.py, signaling/transfer.py): parsing
refuses what is malformed, and over real aiortc peers a blob arrives byte-identical or not at all."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest

from signaling.protocol.channel import (
    CHUNK_BYTES,
    MAX_BLOB_BYTES,
    BlobBegin,
    ChannelError,
    DocCamera,
    StillRequest,
    UnknownKind,
    chunk_frame,
    dump_text,
    parse_chunk,
    parse_text,
)
from signaling.transfer import BlobAssembler, TransferError, blob_chunks
from tests.support import eventually
from tests.test_peer import MakePeer, connect, make_peer  # noqa: F401  (the fixture)

pytestmark = pytest.mark.timeout(120)


def begin_for(data: bytes, transfer_id: int = 1, **over: Any) -> BlobBegin:
    fields: dict[str, Any] = {"transfer_id": transfer_id, "purpose": "still", "mime": "image/jpeg",
                              "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), **over}
    return BlobBegin(**fields)


def test_parsing_refuses_the_malformed_and_skips_the_unknown() -> None:
    assert parse_text(dump_text(StillRequest(request_id=3))) == StillRequest(request_id=3)
    assert parse_text('{"kind": "doc.camera", "showing": true, "width": 2592, "height": 1944}') == DocCamera(
        showing=True, width=2592, height=1944)
    with pytest.raises(UnknownKind):
        parse_text('{"kind": "doc.future", "x": 1}')
    for bad in ("not json", "[1]", '{"text": "no kind"}', '{"kind": "still.request", "request_id": 0}',
                '{"kind": "chat", "text": 5}',
                '{"kind": "blob.begin", "transfer_id": 1, "purpose": "still", "mime": "image/jpeg", "size": '
                f'{MAX_BLOB_BYTES + 1}, "sha256": "{"0" * 64}"}}',
                '{"kind": "blob.begin", "transfer_id": 1, "purpose": "still", "mime": "text/html", "size": 5, '
                f'"sha256": "{"0" * 64}"}}',
                '{"kind": "chat", "text": "' + "x" * 70_000 + '"}'):
        with pytest.raises(ChannelError) as info:
            parse_text(bad)
        assert not isinstance(info.value, UnknownKind), bad


def test_the_assembler_checks_order_length_and_hash() -> None:
    data = os.urandom(CHUNK_BYTES * 2 + 5)
    a = BlobAssembler()
    a.begin(begin_for(data))
    parts = list(blob_chunks(1, data))
    assert len(parts) == 3
    assert a.chunk(*parse_chunk(parts[0])) is None
    with pytest.raises(TransferError, match="expected 1"):
        a.chunk(*parse_chunk(parts[2]))  # one missing: the transfer is dropped
    assert a.chunk(*parse_chunk(parts[1])) is None  # the rest of a refused transfer: dropped quietly, once refused
    with pytest.raises(TransferError, match="none such"):
        a.chunk(*parse_chunk(blob_chunks(9, data).__next__()))
    a.begin(begin_for(data, sha256="0" * 64))
    for p in parts[:-1]:
        a.chunk(*parse_chunk(p))
    with pytest.raises(TransferError, match="SHA-256"):
        a.chunk(*parse_chunk(parts[-1]))
    a.begin(begin_for(data[:10]))
    with pytest.raises(TransferError, match="longer"):
        a.chunk(*parse_chunk(parts[0]))


async def test_a_blob_over_real_peers_arrives_byte_identical_and_a_broken_one_is_refused(
        make_peer: MakePeer) -> None:  # noqa: F811
    sender, receiver = make_peer(media=False), make_peer(media=False)
    got: list[tuple[BlobBegin, bytes]] = []
    errors: list[str] = []
    chats: list[str] = []
    receiver.on_blob = lambda begin, data: got.append((begin, data))
    receiver.on_blob_error = errors.append
    receiver.on_chat = chats.append
    await connect(sender, receiver)
    await sender.wait_channel_open()
    await receiver.wait_channel_open()

    data = os.urandom(3 * 1024 * 1024 + 17)  # several times the sender's high-water mark: it must wait to drain
    await sender.send_blob(begin_for(data, 1), data)
    sender.send_chat("after the blob")
    await eventually(lambda: got and chats, what="the blob, then the chat line")
    assert got[0][1] == data and got[0][0].transfer_id == 1

    # a chunk out of order: refused with an error, nothing delivered, the link goes on
    small = os.urandom(CHUNK_BYTES + 100)
    sender.send_message(begin_for(small, 2))
    channel = sender._channel
    assert channel is not None
    channel.send(chunk_frame(2, 1, small[CHUNK_BYTES:]))
    await eventually(lambda: errors, what="the refusal")
    assert "expected 0" in errors[0]
    channel.send(b"MDB1garbage")  # a header that is too short: refused, no crash
    channel.send('{"kind": "doc.future"}')  # an unknown kind: ignored quietly
    await sender.send_blob(begin_for(small, 3), small)
    await eventually(lambda: len(got) == 2, what="the next blob")
    assert got[1][1] == small and len(errors) == 2
    assert receiver.media_alive and sender.media_alive
