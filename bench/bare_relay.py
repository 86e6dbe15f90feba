"""Bare baseline for bench/signaling_load.py: a FastAPI WebSocket relay with no protocol logic.

It does the least a signaling relay can do, so that its cost per connection
and per message is the floor to compare the Madoguchi hub against:

* accepts ``/ws`` (echoing the ``madoguchi.v1`` subprotocol when offered);
* the first frame names the peer: ``{"type": "auth", "id": .., "token": "<peer>"}``
  (the token is taken as the peer name, nothing is checked) and gets
  ``{"type": "welcome", "ref": <id>, "peer": <peer>}``;
* every later frame is parsed once (``json.loads``); one with a ``"to"``
  field is forwarded unchanged to that peer, anything else is echoed back.

It runs under uvicorn with the same WebSocket settings as ``server/run.py``
(websockets-sansio, 64 KiB max frame, no per-message deflate, ping 10 s /
timeout 20 s). signaling_load.py reads those from ``server.run.uvicorn_config``
and passes them on the command line, so the two stay identical; the defaults
here are the protocol constants.

    .venv/bin/python bench/bare_relay.py --port 8501
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from signaling.protocol.version import MAX_FRAME_BYTES, PING_INTERVAL_S, SUBPROTOCOL


def install_gc_stats(path: str, interval_s: float = 0.5) -> None:
    """Record garbage-collector pauses per generation into ``path`` (JSON, rewritten every interval).

    Diagnostics only (a callback around each collection, ~1 µs); signaling_load.py reads it
    to tell GC pauses apart from the rest of a latency tail.
    """
    stats: dict[str, Any] = {"collections": [0, 0, 0], "pause_ms": [0.0, 0.0, 0.0],
                             "max_pause_ms": [0.0, 0.0, 0.0], "frozen": 0}
    started = [0.0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        gen = int(info.get("generation", 0))
        pause = (time.perf_counter() - started[0]) * 1000
        stats["collections"][gen] += 1
        stats["pause_ms"][gen] += pause
        stats["max_pause_ms"][gen] = max(stats["max_pause_ms"][gen], pause)

    def writer() -> None:
        tmp = f"{path}.tmp"
        while True:
            time.sleep(interval_s)
            with contextlib.suppress(OSError):
                with open(tmp, "w") as f:
                    json.dump(stats, f)
                os.replace(tmp, path)

    gc.callbacks.append(on_gc)
    threading.Thread(target=writer, daemon=True, name="gc-stats").start()
    # signaling_load.py --server-gc-freeze: move every object alive now (the idle connections
    # included) to the permanent generation, so that full collections stop scanning them.
    def freeze(*_: Any) -> None:
        gc.freeze()
        stats["frozen"] = gc.get_freeze_count()  # walks the whole permanent generation: once only

    signal.signal(signal.SIGUSR1, freeze)


def exit_with_parent(parent_pid: int) -> None:
    """Exit if the process that started us is gone (the bench never leaves a server behind)."""
    if parent_pid <= 0:
        return

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def create_app() -> FastAPI:
    app = FastAPI()
    peers: dict[str, WebSocket] = {}
    app.state.peers = peers

    @app.websocket("/ws")
    async def ws_endpoint(ws: WebSocket) -> None:
        offered = ws.scope.get("subprotocols", [])
        await ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        peer = ""
        try:
            first = json.loads(await ws.receive_text())
            peer = str(first.get("token") or f"anon:{id(ws)}")
            peers[peer] = ws
            await ws.send_text(json.dumps({"type": "welcome", "ref": first.get("id"), "peer": peer}))
            while True:
                text = await ws.receive_text()
                to = json.loads(text).get("to")
                if to is None:
                    await ws.send_text(text)
                    continue
                target = peers.get(to)
                if target is not None:
                    with contextlib.suppress(Exception):
                        await target.send_text(text)
        except (WebSocketDisconnect, ValueError, AttributeError, RuntimeError):
            pass
        finally:
            if peer and peers.get(peer) is ws:
                del peers[peer]

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8501)
    ap.add_argument("--ws", default="websockets-sansio")
    ap.add_argument("--ws-max-size", type=int, default=MAX_FRAME_BYTES)
    ap.add_argument("--ws-per-message-deflate", type=int, choices=(0, 1), default=0)
    ap.add_argument("--ws-ping-interval", type=float, default=PING_INTERVAL_S)
    ap.add_argument("--ws-ping-timeout", type=float, default=PING_INTERVAL_S * 2)
    ap.add_argument("--gc-stats", default="", help="write GC pause statistics to this JSON file")
    ap.add_argument("--parent-pid", type=int, default=0, help="exit when this process is gone")
    args = ap.parse_args()
    exit_with_parent(args.parent_pid)
    if args.gc_stats:
        install_gc_stats(args.gc_stats)
    config = uvicorn.Config(
        create_app(), host=args.host, port=args.port, ws=args.ws, ws_max_size=args.ws_max_size,
        ws_per_message_deflate=bool(args.ws_per_message_deflate), ws_ping_interval=args.ws_ping_interval,
        ws_ping_timeout=args.ws_ping_timeout, log_config=None, access_log=False, lifespan="on",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
