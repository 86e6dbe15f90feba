"""What every admin route shares: the administrator and their scope, and one translation of admin errors to HTTP.

A rule broken by a field is answered as FastAPI answers a validation error — 422 (409 for a clash) with
``detail: [{"loc": ["body", field], "msg": ..., "type": "madoguchi.<code>", "ctx": {...}}]`` — so that a
client shows every error next to its field in one way (the admin page says ``type`` in the reader's language).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException

from server.admin_ops import AdminError, Conflict, Invalid
from server.admin_scope import OutOfScope, Scope
from server.api.deps import Ctx, require_roles
from server.db.models import Staff

Admin = Annotated[Staff, Depends(require_roles("admin"))]


def admin_scope(staff: Admin, ctx: Ctx) -> Scope:
    return Scope.of(staff, ctx.settings.region_admin_municipality)


AdminScope = Annotated[Scope, Depends(admin_scope)]


def admin_http(exc: AdminError | OutOfScope) -> HTTPException:
    if isinstance(exc, OutOfScope):
        return HTTPException(403, str(exc))
    if isinstance(exc, Invalid):
        loc = ["body", exc.field] if exc.field else ["body"]
        return HTTPException(409 if isinstance(exc, Conflict) else 422,
                             [{"loc": loc, "msg": str(exc), "type": f"madoguchi.{exc.code}", "ctx": exc.params}])
    return HTTPException(404, str(exc))
