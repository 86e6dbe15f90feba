"""The guest's browser page (same origin, plain HTML/JS, no build step): routes in :mod:`.routes`."""

from server.guest_page.routes import router

__all__ = ["router"]
