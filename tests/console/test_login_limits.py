"""Issue 10: the console's sign-in page says so when the server limits attempts (429), in the chosen language."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from staff_console.app import ConsoleApp
from staff_console.settings import ConsoleSettings
from tests.console.conftest import scene
from tests.integration.calls import SMALL
from tests.support import eventually

LEFT = Qt.MouseButton.LeftButton


async def test_too_many_attempts_are_explained(tmp_path: Path) -> None:
    async with scene(tmp_path, login_limit_per_account="1/minute") as (cenv, windows):
        console = ConsoleApp(ConsoleSettings(server_url=cenv.url, **SMALL))  # type: ignore[arg-type]
        windows.track(console)
        console.start()
        console.login.username.setText("takahashi")
        console.login.password.setText("wrong")
        QTest.mouseClick(console.login.button, LEFT)
        wrong = console.texts.t("login.wrong")
        await eventually(lambda: console.login.error.isVisible() and console.login.error.text() == wrong)
        console.login.password.setText("madoguchi-demo")  # right, but the account's window is used up
        QTest.mouseClick(console.login.button, LEFT)
        limited = console.texts.t("login.too_many")
        await eventually(lambda: console.login.error.text() == limited, what="429 explained")
        assert console.window is None and "試行が多すぎます" in limited
