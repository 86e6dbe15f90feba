"""Scripts shared by the server's own pages (/monitor, /admin, /api-docs): one sign-in for all of them."""

from server.web_common.routes import router

__all__ = ["router"]
