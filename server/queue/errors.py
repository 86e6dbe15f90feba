"""Why a queue operation refused. Translated at the edge: to ``error`` codes in the websocket handler
(server/api/ws_handler.py) and to HTTP status codes in REST routes; the queue knows neither.

Exceptions::

    QueueError(message, details)
     ├── Invalid          the request contradicts itself (give exactly one of ...)
     ├── NotFound         no such ticket/session/service, or not yours
     ├── Forbidden        your role or skills do not allow it
     ├── Conflict         the state does not allow it now (already taken, already ended, ...)
     └── NoSpecialist     nobody on duty can serve this service; details carry the hours
"""

from __future__ import annotations

from typing import Any


class QueueError(Exception):
    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class Invalid(QueueError):
    pass


class NotFound(QueueError):
    pass


class Forbidden(QueueError):
    pass


class Conflict(QueueError):
    pass


class NoSpecialist(QueueError):
    pass
