"""Closed enums for error codes (in ``error`` frames) and WebSocket close codes.

Codes are stable strings: clients switch on them, humans read ``message``.
"""

from enum import IntEnum, StrEnum


class ErrorCode(StrEnum):
    BAD_JSON = "bad_json"                    # frame is not a JSON object
    UNKNOWN_TYPE = "unknown_type"            # "type" is not a known message
    INVALID_MESSAGE = "invalid_message"      # fields missing or of the wrong type
    NOT_AUTHENTICATED = "not_authenticated"  # first frame was not auth
    AUTH_FAILED = "auth_failed"              # token wrong, expired or revoked
    FORBIDDEN = "forbidden"                  # role may not send this message
    NOT_FOUND = "not_found"                  # ticket/session/service unknown or not yours
    CONFLICT = "conflict"                    # state does not allow it (already taken, ended...)
    NO_SPECIALIST = "no_specialist"          # nobody on duty for this service
    RATE_LIMITED = "rate_limited"            # too many messages
    INTERNAL = "internal"                    # server bug; logged with the request id


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002     # sent by the WebSocket layer: a frame that breaks RFC 6455 (bad opcode, unmasked...)
    INVALID_DATA = 1007       # sent by the WebSocket layer: a text frame that is not valid UTF-8
    POLICY_VIOLATION = 1008   # no/invalid auth, bad origin, flood
    MESSAGE_TOO_BIG = 1009    # frame over 64 KiB
    INTERNAL_ERROR = 1011
    REVOKED = 4001            # kiosk revoked or staff disabled
    REPLACED = 4002           # same principal connected again elsewhere
    CREDENTIALS_CHANGED = 4003  # staff role changed: reconnect with a fresh (refreshed) token
    UNAUTHENTICATED = 4401    # monitor feed: token missing, invalid or expired (HTTP 401)
    ROLE_FORBIDDEN = 4403     # monitor feed: this role may not watch (HTTP 403)
