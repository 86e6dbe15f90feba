"""``madoguchi console``: the staff console window (Qt and asyncio on one qasync loop).

:func:`run_gui` shows the sign-in dialog (username pre-filled with ``--user``; with the password
given too, e.g. ``MADOGUCHI_CONSOLE_PASSWORD`` for ``make demo``, it signs in at once), then the
console window. Closing the window ends a call in progress properly (hang up or leave) first.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtWidgets import QApplication

from signaling.qt.loop import log_screen_shown, run_app, stop_on_signals
from signaling.tls import ServerCertificateError
from staff_console.controller import NotForConsole, StaffController
from staff_console.services.server_api import ApiError
from staff_console.settings import ConsoleSettings
from staff_console.ui import style
from staff_console.ui.login import LoginDialog
from staff_console.ui.text import Texts
from staff_console.ui.window import ConsoleWindow

log = logging.getLogger("madoguchi.console")


def _speaker(settings: ConsoleSettings) -> Any:
    """The shared Qt speaker output (mixes every remote participant), or None without QtMultimedia."""
    try:
        from signaling.qt.audio import AudioOutput
    except ImportError as exc:
        log.warning("no speaker output: %s", exc)
        return None
    return AudioOutput(settings.speaker_device)


class ConsoleApp:
    """Sign-in, then the window; resolves :attr:`done` when the window (or the sign-in) is closed."""

    def __init__(self, settings: ConsoleSettings, username: str | None = None, password: str | None = None) -> None:
        self.settings = settings
        self.texts = Texts(settings.language)
        self.ctl = StaffController(settings)
        self.audio = _speaker(settings)
        if self.audio is not None:
            self.ctl.on_remote_audio = self.audio.push
        self.done = asyncio.Event()
        self.window: ConsoleWindow | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.login = LoginDialog(self.texts, settings.server_url, username or "")
        self.login.submitted.connect(lambda u, p: self._spawn(self.sign_in(u, p)))
        self.login.rejected.connect(self.done.set)
        self.login.language_changed.connect(self._login_language)
        self._auto = (username, password) if username and password else None

    def start(self) -> None:
        self.login.show()
        log_screen_shown("login")
        if self._auto is not None:
            self.login.password.setText(self._auto[1])
            self.login._submit()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _login_language(self, language: str) -> None:
        self.texts.set_language(language)
        self.login.retranslate()

    async def sign_in(self, username: str, password: str) -> bool:
        try:
            await self.ctl.login(username, password)
        except ApiError as exc:
            self.login.show_error({401: "login.wrong", 429: "login.too_many"}.get(exc.status, "login.failed"))
            return False
        except NotForConsole:
            self.login.show_error("login.not_for_console")
            return False
        except ServerCertificateError as exc:
            log.warning("sign-in failed: %s", exc)
            self.login.show_error("login.certificate")
            return False
        except Exception as exc:  # unreachable server: httpx/OS errors of many kinds
            log.warning("sign-in failed: %s", exc)
            self.login.show_error("login.unreachable")
            return False
        self.window = ConsoleWindow(self.ctl, self.texts, self.audio)
        self.window.closing.connect(self.done.set)
        self.window.show()
        self.login.hide()
        log_screen_shown("console")
        return True

    async def shutdown(self) -> None:
        """End a call in progress properly, stop the controller and the speaker (its timer) and the windows."""
        call = self.ctl.call
        if call is not None and not call.ended and self.ctl.connection == "online":
            log.info("stopping: ending the call")
            await self.ctl.hang_up()
        log.info("stopping: the connection and the console's work")
        await self.ctl.stop()
        if self.audio is not None:
            self.audio.close()
        for widget in (self.window, self.login):
            if widget is not None:
                widget.close()
                widget.deleteLater()
        log.info("stopping: done")

    stop = shutdown


def run_gui(settings: ConsoleSettings, username: str | None = None, password: str | None = None) -> int:
    async def main(app: QApplication) -> int:
        app.setQuitOnLastWindowClosed(False)
        style.apply(app)
        console = ConsoleApp(settings, username, password)
        stop_on_signals(console.done.set)  # a service manager or Ctrl+C: sign out properly, exit 0
        console.start()
        await console.done.wait()
        await console.shutdown()
        return 0

    return run_app(main)
