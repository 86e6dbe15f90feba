"""The ``/ws`` endpoint: Origin check, subprotocol, then the hub takes the socket."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from signaling.hub import Hub
from signaling.protocol.errors import CloseCode
from signaling.protocol.version import SUBPROTOCOL

router = APIRouter()


class StarletteTransport:
    """Adapts a Starlette WebSocket to the hub's Transport (binary frames become bad JSON)."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def send_text(self, data: str) -> None:
        await self.ws.send_text(data)

    async def receive_text(self) -> str:
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("text") is not None:
            return str(message["text"])
        return bytes(message.get("bytes") or b"").decode("utf-8", errors="replace")

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self.ws.application_state == WebSocketState.CONNECTED:
            await self.ws.close(code, reason)


def origin_allowed(ws: WebSocket, allowed: list[str]) -> bool:
    """Native clients send no Origin. Browsers must come from the server itself or a listed origin."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    host = ws.headers.get("host", "")
    return origin in allowed or origin in (f"http://{host}", f"https://{host}")


@router.websocket("/ws")
async def ws_endpoint(ws: WebSocket) -> None:
    ctx = ws.app.state.ctx
    if not origin_allowed(ws, ctx.settings.allowed_origins):
        await ws.close(CloseCode.POLICY_VIOLATION, "origin not allowed")
        return
    if SUBPROTOCOL not in ws.scope.get("subprotocols", []):
        await ws.close(CloseCode.POLICY_VIOLATION, f"subprotocol {SUBPROTOCOL} required")
        return
    await ws.accept(subprotocol=SUBPROTOCOL)
    hub: Hub = ws.app.state.hub
    await hub.serve(StarletteTransport(ws))
