"""Browser-facing edge: the ``Host`` allow-list and CORS, applied to REST and ``/ws`` alike.

- ``MADOGUCHI_ALLOWED_HOSTS``: a request (HTTP or WebSocket upgrade) whose ``Host`` is not listed gets
  HTTP 400. This is what stops DNS rebinding: a page on ``evil.example`` whose name now resolves to the server
  sends ``Host: evil.example`` (and a matching ``Origin``, which alone would look same-origin).
- ``MADOGUCHI_ALLOWED_ORIGINS``: the one list of browser origins allowed besides the server's own. REST gets
  it through Starlette's CORS middleware (preflight answered, nothing allowed by default); ``/ws`` and the
  monitor feed check the same list themselves (:func:`server.api.ws.origin_allowed`: CORS does not cover
  WebSockets).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from server.settings import Settings

CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
CORS_HEADERS = ["Authorization", "Content-Type", "X-Request-ID"]


def install_web_edge(app: FastAPI, settings: Settings) -> None:
    """Call from the app factory before the request-id middleware (which must stay outermost)."""
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins), allow_methods=CORS_METHODS,
                       allow_headers=CORS_HEADERS, expose_headers=["X-Request-ID"], allow_credentials=False,
                       max_age=600)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts), www_redirect=False)
