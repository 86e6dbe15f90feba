"""IT monitoring: the ``/monitor`` wall-display page, its live feed, and request ids on every log line.

The feed is built from an explicit allow-list (:mod:`server.monitor.feed`):
metadata and call quality only, never resident data, notes, chat or SDP.
"""

from server.monitor.request_id import install_request_ids, request_id_var
from server.monitor.routes import router

__all__ = ["install_request_ids", "request_id_var", "router"]
