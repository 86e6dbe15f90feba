"""The server's edge: what a connection must satisfy before the application sees it.

- :mod:`server.edge.guard`: connection caps per client address and per node, and the request timeout
  (uvicorn protocol subclasses: they act before any ASGI code runs).
- :mod:`server.edge.web`: the ``Host`` allow-list (DNS rebinding) and CORS for browser clients.
- :mod:`server.edge.ops`: who may read ``/metrics`` and ``/openapi.json``.
- :mod:`server.edge.tls`: HTTPS/WSS when a certificate is configured.
"""
