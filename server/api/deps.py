"""Request dependencies: DB session, the current staff member from a bearer token, role checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import InvalidToken, decode_token
from server.context import AppContext
from server.db.models import Staff

bearer = HTTPBearer(auto_error=False)


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_ctx(request).maker() as db:
        yield db


async def current_staff(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    db: Annotated[AsyncSession, Depends(get_db)],
) -> Staff:
    if creds is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    try:
        claims = decode_token(get_ctx(request).settings.secret_key, creds.credentials)
    except InvalidToken as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
    if claims.kind != "staff":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "staff token required")
    staff = await db.get(Staff, claims.principal_id)
    await db.commit()  # end the look-up's transaction: on SQLite it holds the write lock (BEGIN IMMEDIATE)
    if staff is None or not staff.active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "account unknown or disabled")
    if claims.ver != staff.token_version:  # issued before a password reset or role change
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "token revoked: refresh or log in again",
                            headers={"WWW-Authenticate": "Bearer"})
    return staff


def require_roles(*roles: str) -> Callable[..., Coroutine[Any, Any, Staff]]:
    async def dep(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
        if staff.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"role {staff.role} may not do this")
        return staff

    return dep


DB = Annotated[AsyncSession, Depends(get_db)]
CurrentStaff = Annotated[Staff, Depends(current_staff)]
Ctx = Annotated[AppContext, Depends(get_ctx)]
