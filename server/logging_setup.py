"""Structured logs: one JSON object per line, with request/session ids when known.

What the server logs never carries consultation content or secrets, at any level (issue 10; tested at DEBUG
by tests/test_log_privacy.py): SQL parameters are hidden by the engine (``hide_parameters``), SQLAlchemy's
row logging (its DEBUG level) and the WebSocket library's frame dumps (DEBUG) are held at INFO when the server
runs at DEBUG (at WARNING otherwise), and repeated lines are limited (:mod:`server.log_limit`).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from server.log_limit import RepeatLimiter

# third-party loggers whose DEBUG output would carry data: SQL result rows (notes, password hashes) and
# WebSocket frames (chat relays, SDP, tokens in the auth frame)
DATA_LOGGERS = ("sqlalchemy", "websockets", "aiosqlite", "asyncpg", "hpack", "httpcore", "httpx")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
               "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        for key in ("request_id", "session_id", "peer", "suppressed"):
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "INFO", json_lines: bool = True, *, repeat_limit: int = 10,
                  repeat_window_s: float = 60.0) -> RepeatLimiter:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    limiter = RepeatLimiter(repeat_limit, repeat_window_s)
    handler.addFilter(limiter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # at DEBUG their INFO (SQL statements, parameters hidden; connection events) is shown, never their DEBUG;
    # otherwise only their warnings (SQLAlchemy's own default: at INFO it would log every statement)
    floor = logging.INFO if root.getEffectiveLevel() <= logging.DEBUG else logging.WARNING
    for name in DATA_LOGGERS:
        logging.getLogger(name).setLevel(floor)
    return limiter
