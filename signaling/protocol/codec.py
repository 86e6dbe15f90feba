"""Parse and serialise frames; raise ProtocolError with a stable code on bad input."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import ClientMessage, ServerMessage, client_adapter, server_adapter


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


def _load(text: str | bytes) -> dict[str, Any]:
    try:
        obj = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(ErrorCode.BAD_JSON, f"frame is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(ErrorCode.BAD_JSON, "frame must be a JSON object")
    return obj


def _validate(obj: dict[str, Any], adapter: Any, known: frozenset[str]) -> Any:
    ref = obj.get("id") if isinstance(obj.get("id"), str) else None
    typ = obj.get("type")
    if typ is not None and not isinstance(typ, str):  # a list or object is not hashable: never a set lookup
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"\"type\" must be a string, not {type(typ).__name__}", ref)
    if typ not in known:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {typ!r}", ref)
    try:
        return adapter.validate_python(obj)
    except ValidationError as exc:
        errs = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, f"invalid {typ}: {errs}", ref) from None


def _types(adapter: Any) -> frozenset[str]:
    schema = adapter.json_schema()
    return frozenset(schema["discriminator"]["mapping"].keys())


CLIENT_TYPES = _types(client_adapter)
SERVER_TYPES = _types(server_adapter)


def parse_client(text: str | bytes) -> ClientMessage:
    return _validate(_load(text), client_adapter, CLIENT_TYPES)  # type: ignore[no-any-return]


def parse_server(text: str | bytes) -> ServerMessage:
    return _validate(_load(text), server_adapter, SERVER_TYPES)  # type: ignore[no-any-return]


def dump(msg: BaseModel) -> str:
    return msg.model_dump_json(exclude_none=False)
