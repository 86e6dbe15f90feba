"""The server's edge: what a connection must satisfy before the application sees it.

- :mod:`server.edge.guard`: connection caps per client address and per node, and the request timeout
  (uvicorn protocol subclasses: they act before any ASGI code runs).
- :mod:`server.edge.web`: the ``Host`` allow-list (DNS rebinding) and CORS for browser clients.
- :mod:`server.edge.ops`: who may read ``/metrics`` and ``/openapi.json``.
- TLS: uvicorn serves HTTPS/WSS when ``MADOGUCHI_TLS_CERT``/``MADOGUCHI_TLS_KEY`` are set (:mod:`server.run`).
"""
