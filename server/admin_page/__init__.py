"""``/admin``: the administrators' page (issue 13 item 1), served by the server itself."""

from server.admin_page.routes import router

__all__ = ["router"]
