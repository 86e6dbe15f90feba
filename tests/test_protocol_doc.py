"""docs/protocol.md cannot drift from signaling.protocol: its JSON examples must validate against the
real models, and every message type, error code and close code in the code must be documented."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from signaling.protocol.channel import KINDS, parse_text
from signaling.protocol.codec import CLIENT_TYPES, SERVER_TYPES, ProtocolError, parse_client, parse_server
from signaling.protocol.errors import CloseCode, ErrorCode
from signaling.protocol.version import PROTOCOL_VERSION, SUBPROTOCOL

DOC = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
UP, DOWN = "client → server", "server → client"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
HEADING = re.compile(r"^(#{1,6})\s+(.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    line: int
    heading: str
    text: str

    @property
    def direction(self) -> str | None:
        return UP if UP in self.heading else DOWN if DOWN in self.heading else None

    @property
    def heading_type(self) -> str | None:
        """The message type a section heading names, e.g. ### `ticket.create` (client → server)."""
        m = re.match(r"`([a-z.]+)`", self.heading)
        return m.group(1) if m and m.group(1) in CLIENT_TYPES | SERVER_TYPES else None


def _doc() -> str:
    return DOC.read_text("utf-8")


def _json_blocks() -> list[Block]:
    text = _doc()
    headings = [(m.start(), m.group(2).strip()) for m in HEADING.finditer(text)]
    out = []
    for m in FENCE.finditer(text):
        if m.group(1) != "json":
            continue
        heading = next((h for pos, h in reversed(headings) if pos < m.start()), "")
        out.append(Block(text.count("\n", 0, m.start()) + 1, heading, m.group(2)))
    return out


def _messages() -> list[tuple[Block, dict[str, Any]]]:
    out = []
    for block in _json_blocks():
        obj = json.loads(block.text)
        if isinstance(obj, dict) and "type" in obj:
            out.append((block, obj))
    return out


def _validate(block: Block) -> set[str]:
    """The directions in which the block is a valid frame."""
    ok: set[str] = set()
    for direction, parse in ((UP, parse_client), (DOWN, parse_server)):
        try:
            parse(block.text)
        except ProtocolError:
            continue
        ok.add(direction)
    return ok


def test_doc_has_json_examples() -> None:
    assert len(_messages()) >= len(CLIENT_TYPES) + len(SERVER_TYPES)


@pytest.mark.parametrize("block", _json_blocks(), ids=lambda b: f"line{b.line}")
def test_json_block_is_valid_json(block: Block) -> None:
    json.loads(block.text)


@pytest.mark.parametrize("block", [b for b, _ in _messages()], ids=lambda b: f"line{b.line}")
def test_message_example_validates(block: Block) -> None:
    ok = _validate(block)
    assert ok, f"line {block.line}: not a valid client or server frame"
    if block.direction is not None:
        assert block.direction in ok, f"line {block.line}: under '{block.heading}' but valid only as {ok}"
    obj = json.loads(block.text)
    if block.heading_type is not None:
        assert obj["type"] == block.heading_type, f"line {block.line}: {obj['type']} under '{block.heading}'"
    if obj["type"] == "error" and DOWN in ok:
        assert obj["code"] in {c.value for c in ErrorCode}, f"line {block.line}: unknown error code"
    if obj["type"] == "welcome":
        assert obj["protocol_version"] == PROTOCOL_VERSION


@pytest.mark.parametrize(("direction", "typ"), [(UP, t) for t in sorted(CLIENT_TYPES)]
                         + [(DOWN, t) for t in sorted(SERVER_TYPES)])
def test_every_message_type_has_a_section_and_an_example(direction: str, typ: str) -> None:
    headings = [m.group(2).strip() for m in HEADING.finditer(_doc())]
    assert f"`{typ}` ({direction})" in headings, f"no section '### `{typ}` ({direction})'"
    examples = [b for b, obj in _messages() if obj["type"] == typ and direction in _validate(b)]
    assert examples, f"no valid {direction} JSON example of {typ}"


def test_every_type_and_code_is_mentioned() -> None:
    doc = _doc()
    missing = [t for t in sorted(CLIENT_TYPES | SERVER_TYPES) if f"`{t}`" not in doc]
    missing += [c.value for c in ErrorCode if f"`{c.value}`" not in doc]
    missing += [f"{c.value} {c.name}" for c in CloseCode
                if not re.search(rf"^\|\s*{c.value}\s*\|\s*`{c.name}`", doc, re.MULTILINE)]
    assert not missing, f"not documented: {missing}"


def test_version_and_subprotocol_are_current() -> None:
    doc = _doc()
    assert f'`PROTOCOL_VERSION` = `"{PROTOCOL_VERSION}"`' in doc
    assert f"`SUBPROTOCOL` = `{SUBPROTOCOL}`" in doc
    assert f"(`{SUBPROTOCOL}`, protocol version {PROTOCOL_VERSION})" in doc.splitlines()[0]


def test_every_data_channel_kind_is_documented_with_a_valid_example() -> None:
    """§15: each kind of signaling/protocol/channel.py is in the table, and each JSON example with a ``kind``
    parses as that kind."""
    doc = _doc()
    section = doc[doc.index("## 15. The peer-to-peer data channel"):doc.index("## 16. Versioning")]
    missing = [k for k in sorted(KINDS) if f'"kind": "{k}"' not in section and f"`{k}`" not in section]
    assert not missing, f"data-channel kinds not in §15: {missing}"
    examples = [b for b in _json_blocks() if '"kind"' in b.text]
    assert examples
    for block in examples:
        msg = parse_text(block.text)
        assert msg.kind == json.loads(block.text)["kind"], f"line {block.line}"
