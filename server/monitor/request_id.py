"""Request ids: ``X-Request-ID`` in and out, and on every log line written while serving that request.

A pure ASGI middleware (it also covers WebSocket connections: every line the
hub logs for a socket carries the id of the connection's upgrade request).
The id is put on log records by a record factory; records made with
``extra={"request_id": ...}`` keep their own value.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
request_id_var: ContextVar[str | None] = ContextVar("madoguchi_request_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")  # anything else from outside is replaced, never logged
_QUIET_PATHS = ("/metrics", "/healthz", "/readyz")
log = logging.getLogger("madoguchi.http")


class _RequestId:
    """Non-data descriptor: ``record.request_id`` is the id captured when the record was made.

    Being a non-data descriptor, an ``extra={"request_id": ...}`` in the instance dict wins, and
    ``hasattr(record, "request_id")`` is False outside a request (the JSON formatter then omits it).
    """

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        rid = obj.__dict__.get("_madoguchi_rid")
        if rid is None:
            raise AttributeError("request_id")
        return rid


class RequestLogRecord(logging.LogRecord):
    request_id = _RequestId()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._madoguchi_rid = request_id_var.get()


def _install_record_factory() -> None:
    current = logging.getLogRecordFactory()
    if getattr(current, "_madoguchi", False):
        return
    if current is logging.LogRecord:
        factory: Any = RequestLogRecord
    else:  # someone else installed a factory: wrap it
        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = current(*args, **kwargs)
            rid = request_id_var.get()
            if rid is not None and "request_id" not in record.__dict__:
                record.request_id = rid
            return record

        factory._madoguchi = True
    logging.setLogRecordFactory(factory)


RequestLogRecord._madoguchi = True  # type: ignore[attr-defined]


def incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID.match(text) else None
    return None


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope) or uuid.uuid4().hex
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        status: list[int] = []
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.http.response.start"):
                MutableHeaders(scope=message)[HEADER] = rid
                status.append(int(message["status"]))
            elif message["type"] == "websocket.accept":
                headers = list(message.get("headers") or [])
                headers.append((HEADER.lower().encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                path = scope.get("path", "")
                level = logging.DEBUG if path in _QUIET_PATHS else logging.INFO
                log.log(level, "%s %s %s %.1fms", scope.get("method", ""), path, status[0] if status else "-",
                        (time.perf_counter() - started) * 1000)
            request_id_var.reset(token)


def install_request_ids(app: Any) -> None:
    """Call once from the app factory, before the app starts."""
    _install_record_factory()
    app.add_middleware(RequestIdMiddleware)
