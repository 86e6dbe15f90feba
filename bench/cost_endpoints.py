"""The endpoint processes of ``bench/kiosk_cost.py``: each runs alone, so its CPU can be read from /proc.

    python -m bench.cost_endpoints kiosk            the kiosk program (KioskApp: window, speaker, controller)
    python -m bench.cost_endpoints console USER     the staff console program (ConsoleApp, signed in as USER)
    python -m bench.cost_endpoints bare offer|answer [--qasync]   a bare aiortc endpoint: one RTCPeerConnection
                                                    sending the synthetic VGA 15 fps video and tone, draining what it
                                                    receives (--qasync: on a Qt + qasync loop, as the kiosk runs)

Kiosk and console take their settings from the environment (``MADOGUCHI_KIOSK_*``, ``MADOGUCHI_CONSOLE_*``) as the
installed programs do, and run on the qasync loop with their windows shown (offscreen in the bench). Commands come
as JSON lines on stdin (``{"cmd": ...}``); events go out as JSON lines on stdout prefixed with ``@@`` (logs go to
stderr). The orchestrator only reads and writes these lines: every step a person would take goes through the
programs' own controllers.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

PREFIX = "@@"


def say(event: str, **data: Any) -> None:
    sys.stdout.write(PREFIX + json.dumps({"event": event, **data}, default=str) + "\n")
    sys.stdout.flush()


def command_queue() -> asyncio.Queue[dict[str, Any]]:
    """stdin's JSON lines, read on a thread (the qasync loop has no pipe reader), on the running loop's queue."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(queue.put_nowait, json.loads(line))
        loop.call_soon_threadsafe(queue.put_nowait, {"cmd": "quit"})

    threading.Thread(target=read, daemon=True, name="stdin").start()
    return queue


async def serve(handlers: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]) -> None:
    """Run each command's handler (in order); ``quit`` ends."""
    queue = command_queue()
    while True:
        cmd = await queue.get()
        name = cmd.get("cmd")
        if name == "quit":
            return
        try:
            result = await handlers[str(name)](cmd)
        except Exception as exc:  # reported to the orchestrator, which fails the run
            logging.exception("command %s failed", name)
            say("error", cmd=name, error=repr(exc))
            continue
        say("done", cmd=name, result=result)


# ------------------------------------------------------------------ kiosk
async def kiosk_main(app: Any) -> int:
    from kiosk.app import KioskApp
    from kiosk.services import credentials
    from kiosk.settings import KioskSettings

    settings = KioskSettings()
    cred = credentials.load(settings.credential_file)
    assert cred is not None, "the bench enrolls the kiosk first"
    kiosk = KioskApp(settings, cred)
    ctl = kiosk.controller
    await kiosk.start()
    kiosk.window.resize(*[int(v) for v in settings.window_size.split("x")])
    kiosk.window.show()
    await ctl.client.wait_online(60)

    tasks: set[asyncio.Future[Any]] = set()

    def spawn(coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def on_consent(_d: dict[str, Any]) -> None:  # the resident agrees to the guest
        spawn(ctl.answer_guest(True))

    ctl.on("guest_consent", on_consent)
    ctl.on("call_started", lambda d: say("call_started", session_id=d["session_id"]))
    ctl.on("document", lambda d: say("document", **d))

    def ended(d: dict[str, Any]) -> None:
        say("call_ended", reason=d["reason"])
        spawn(ctl.submit_feedback(5, True))

    ctl.on("call_ended", ended)

    async def visit(cmd: dict[str, Any]) -> bool:
        ctl.begin()
        return await ctl.request_service(cmd.get("service", "employment"), [])

    async def frames(_cmd: dict[str, Any]) -> dict[str, Any]:
        page = kiosk.window.call
        link = ctl.mesh.link() if ctl.mesh is not None else None
        out: dict[str, Any] = {"remote": link.call.video_frames_received if link is not None else 0,
                               "links": {p: lk.call.video_frames_received for p, lk in ctl.mesh.links.items()}
                               if ctl.mesh is not None else {}}
        out["painted_remote"] = page.video.frames_painted
        out["painted_self"] = page.self_view.frames_painted
        return out

    async def document(cmd: dict[str, Any]) -> bool:
        if cmd.get("on"):
            return await ctl.show_document()
        await ctl.stop_document()
        return True

    profiler: list[Any] = []

    async def profile(cmd: dict[str, Any]) -> str | None:
        """Diagnosis: cProfile of the main thread (Python, Qt callbacks, the loop) between on and off."""
        import cProfile

        if cmd.get("on"):
            profiler.append(cProfile.Profile())
            profiler[-1].enable()
            return None
        prof = profiler.pop()
        prof.disable()
        _write_profile(prof, str(cmd["path"]))
        return str(cmd["path"])

    async def diagnose(cmd: dict[str, Any]) -> dict[str, Any]:
        """Diagnosis only: switch a part of the program off for the current call, to see what it costs."""
        if cmd.get("paint") is False:  # the call screen stops painting video
            kiosk.window.call._frames.stop()
        if cmd.get("speaker") is False and kiosk.audio is not None:  # no mixing, no remote audio taken
            kiosk.audio._timer.stop()
            ctl.on_remote_audio = None
        return {"paint": kiosk.window.call._frames.isActive(),
                "speaker": kiosk.audio is not None and kiosk.audio._timer.isActive()}

    async def restore(_cmd: dict[str, Any]) -> bool:
        if kiosk.audio is not None:
            kiosk.audio._timer.start()
            ctl.on_remote_audio = kiosk.audio.push
        return True

    say("ready", pid=os.getpid(), kiosk_id=cred.kiosk_id)
    await serve({"visit": visit, "frames": frames, "document": document, "profile": profile,
                 "diagnose": diagnose, "restore": restore,
                 "screen": lambda _c: _const(kiosk.window.current_page().name)})
    await kiosk.stop()
    return 0


def _write_profile(prof: Any, path: str) -> None:
    import pstats

    prof.dump_stats(path)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(40)
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(60)
    Path(path + ".txt").write_text(out.getvalue())


async def _const(value: Any) -> Any:
    return value


# ------------------------------------------------------------------ console
async def console_main(app: Any, username: str) -> int:
    from signaling.observer import wait_for
    from staff_console.app import ConsoleApp
    from staff_console.settings import ConsoleSettings
    from staff_console.ui import style

    style.apply(app)
    console = ConsoleApp(ConsoleSettings(), username)
    ctl = console.ctl
    console.start()  # the sign-in dialog, then what its button does
    assert await console.sign_in(username, os.environ.get("MADOGUCHI_CONSOLE_PASSWORD", "madoguchi-demo"))
    assert ctl.client is not None
    await ctl.client.wait_online(60)
    tasks: set[asyncio.Future[Any]] = set()

    def spawn(coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    ctl.on("offer", lambda _d: spawn(ctl.accept()))  # the specialist answers at once
    ctl.on("call_status", lambda d: say("call_status", status=d.get("status"), peer=d.get("peer")))
    ctl.on("call_ended", lambda d: say("call_ended", reason=d.get("reason")))
    ctl.on("guest_lobby", lambda d: say("guest_lobby", ids=[e.invitation_id for e in d["entries"]]))

    async def available(_cmd: dict[str, Any]) -> bool:
        return await ctl.set_available()

    async def hang_up(_cmd: dict[str, Any]) -> dict[str, bool]:
        wrapup = asyncio.ensure_future(wait_for(ctl, "wrapup", 60))
        ok = await ctl.hang_up()
        await wrapup  # session.ended may come after the reply
        ctl.update_note(category="consultation", summary="bench")
        done = await ctl.complete_wrapup()
        return {"hung_up": ok, "wrapup_done": done}

    async def invite(cmd: dict[str, Any]) -> bool:
        colleagues = await ctl.refresh_colleagues()
        staff = next(c for c in colleagues if c.get("username") == cmd["username"])
        return await ctl.invite(int(staff["id"]))

    async def invite_guest(_cmd: dict[str, Any]) -> dict[str, Any]:
        entry = await ctl.invite_guest("sign_interpreter", "ベンチ 手話")
        assert entry is not None, "no room for a guest"
        return {"link": entry.link, "invitation_id": entry.invitation_id}

    async def admit(cmd: dict[str, Any]) -> bool:
        return await ctl.admit_guest(int(cmd["invitation_id"]), True)

    async def frames(_cmd: dict[str, Any]) -> dict[str, Any]:
        return {"links": {p: lk.call.video_frames_received for p, lk in ctl.mesh.links.items()}
                if ctl.mesh is not None else {}, "me": ctl.my_peer}

    say("ready", pid=os.getpid(), me=ctl.me)
    await serve({"available": available, "hang_up": hang_up, "invite": invite, "invite_guest": invite_guest,
                 "admit": admit, "frames": frames, "leave": lambda _c: ctl.leave(),
                 "join": lambda c: ctl.join_silently(int(c["session_id"]))})
    await console.shutdown()
    return 0


# ------------------------------------------------------------------ bare aiortc
async def bare_main(role: str) -> int:
    """One RTCPeerConnection (host candidates, no ICE servers) with the synthetic VGA 15 fps video and tone the
    kiosk sends; what it receives is decoded (aiortc's receiver always decodes) and drained, frames counted."""
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

    from signaling.media import SyntheticVideoTrack, ToneAudioTrack

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video, audio = SyntheticVideoTrack(640, 480, 15), ToneAudioTrack()
    counts = {"video": 0, "audio": 0}
    drains: list[asyncio.Task[None]] = []

    async def drain(track: MediaStreamTrack) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            counts[track.kind] += 1

    pc.on("track", lambda track: drains.append(asyncio.ensure_future(drain(track))))
    queue = command_queue()
    if role == "offer":
        pc.addTransceiver(audio, direction="sendrecv")
        pc.addTransceiver(video, direction="sendrecv")
        await pc.setLocalDescription(await pc.createOffer())
        say("sdp", sdp=pc.localDescription.sdp)
        answer = await queue.get()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    else:
        say("ready", pid=os.getpid())
        offer = await queue.get()
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer["sdp"], type="offer"))
        pc.addTrack(audio)
        pc.addTrack(video)
        await pc.setLocalDescription(await pc.createAnswer())
        say("sdp", sdp=pc.localDescription.sdp)
    while True:
        cmd = await queue.get()
        if cmd.get("cmd") == "frames":
            say("done", cmd="frames", result={"remote": counts["video"], "audio": counts["audio"]})
        elif cmd.get("cmd") == "quit":
            break
    await pc.close()
    for task in drains:
        task.cancel()
    return 0


def main() -> None:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s cost-endpoint %(name)s: %(message)s")
    role = sys.argv[1]
    if role == "bare" and "--qasync" not in sys.argv:
        with contextlib.suppress(KeyboardInterrupt):
            raise SystemExit(asyncio.run(bare_main(sys.argv[2])))
    from signaling.qt.loop import run_app

    if role == "bare":  # diagnosis: the same bare endpoint on the kiosk's event loop (Qt + qasync), no window
        raise SystemExit(run_app(lambda _app: bare_main(sys.argv[2]), [sys.argv[0]]))
    if role == "kiosk":
        raise SystemExit(run_app(kiosk_main, [sys.argv[0]]))
    if role == "console":
        user = sys.argv[2]
        raise SystemExit(run_app(lambda app: console_main(app, user), [sys.argv[0]]))
    raise SystemExit(f"unknown role {role!r}")


if __name__ == "__main__":
    main()
