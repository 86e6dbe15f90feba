"""The wire contract, pure pydantic + stdlib: shared by server, kiosk and console."""

from signaling.protocol.errors import CloseCode, ErrorCode
from signaling.protocol.version import PROTOCOL_VERSION, SUBPROTOCOL

__all__ = ["PROTOCOL_VERSION", "SUBPROTOCOL", "CloseCode", "ErrorCode"]
