"""Every screen in each language: rendered to docs/screenshots, and no string left in the other language.

Walks the real window against a real server and a real (headless) console, so the
screens show real services, a real queue position and real video.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kiosk.app import I18N
from kiosk.ui.admin import EnrollPage
from kiosk.ui.theme import MIN_TOUCH_MM, TEXT_PAIRS, contrast
from signaling.i18n import Catalog
from signaling.observer import wait_for
from tests.integration.calls import kiosk_controller, staff_controller
from tests.kiosk.helpers import (
    SIZE,
    TEST_PIN,
    a11y_problems,
    choose_language,
    click,
    kiosk_app,
    shot,
    visible_texts,
    wrong_language,
)
from tests.pdfs import make_pdf
from tests.support import WAIT_S, Env, eventually
from tests.test_guest_access import guest_client


async def guest_in_lobby(env: Env, link: str):  # type: ignore[no-untyped-def]
    """A guest (protocol only, no media) who opened ``link`` and waits in the lobby."""
    client, _inbox = await guest_client(env, link[link.index("/g/"):])
    return client

CHAT = {"ja": "こんにちは。高橋です。今日はどうされましたか？",
        "en": "Hello, I am Takahashi. How can I help you today?"}


@pytest.mark.parametrize("language", ["ja", "en"])
async def test_every_screen_in_one_language(sqlite_env: Env, tmp_path: Path, language: str) -> None:
    env = sqlite_env
    console = await staff_controller(env, "takahashi")
    (tmp_path / "ahead").mkdir()
    ahead = await kiosk_controller(env, tmp_path / "ahead")  # another resident, a step ahead of ours
    app = await kiosk_app(env, tmp_path, document_camera_width=1600, document_camera_height=1200)
    ctl, w = app.controller, app.window
    texts: dict[str, list[tuple[str, str]]] = {}

    a11y: dict[str, list[str]] = {}

    async def capture(name: str) -> None:
        await shot(w, name, language)
        texts[name] = visible_texts(w)
        a11y[name] = a11y_problems(w, w.metrics.mm(MIN_TOUCH_MM))

    async def switch_language() -> None:
        if ctl.language != language:
            choose_language(w, language)
            await eventually(lambda: ctl.language == language and w.ctx.language == language)

    try:
        await switch_language()
        await capture("welcome")
        assert w.focusWidget() is w.welcome.start  # the one obvious button has the keyboard focus

        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        await capture("services")

        click(w.services_page.buttons["guardianship"])  # nobody for guardianship is signed in
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "no_specialist")
        await capture("no_specialist")

        click(w.nospec.other)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.toggles["written"])
        await capture("needs")

        # a resident ahead of ours is talking to the only specialist on duty: ours waits, with an honest
        # estimate from the server counted down on the kiosk
        assert await console.set_available()
        first = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        ahead.begin()
        assert await ahead.request_service("employment")
        await first
        assert await console.accept()
        await eventually(lambda: ahead.screen == "in_call")
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "waiting")
        await eventually(lambda: w.waiting.ticket.get("position") is not None
                         and w.waiting.ticket.get("wait", {}).get("kind") == "minutes", what="a wait in minutes")
        await capture("waiting")

        assert await console.hang_up()
        await eventually(lambda: console.wrapup is not None)
        assert await console.save_note("就労支援", "前の相談")
        offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        assert await console.finish_wrapup()
        await offer
        assert await console.accept()
        await eventually(lambda: ctl.screen == "in_call")
        await eventually(lambda: w.call.video.frames_painted > 0 and w.call.self_view.frames_painted > 0,
                         what="video painted")
        await eventually(lambda: console.mesh is not None and console.mesh.link() is not None
                         and console.mesh.link().call._channel_open.is_set())  # type: ignore[union-attr]
        assert console.send_chat(CHAT[language])
        assert w.call.keyboard_open  # a written call (筆談) opens with the on-screen keyboard; under it the phrases
        click(w.call.keyboard_toggle)
        click(w.call.quick[2])  # "please say that again"
        await eventually(lambda: w.call.chat.count() == 2)
        await eventually(lambda: w.call.level != "unknown", what="a quality report")
        await capture("call")

        # the specialist admits a guest (a sign-language interpreter by link): the resident is asked first
        name = "山田 花子" if language == "ja" else "Hanako Yamada"  # a name is data; the screen's language checker
        entry = await console.invite_guest("sign_interpreter", name)
        assert entry is not None
        guest = await guest_in_lobby(env, entry.link)
        await eventually(lambda: console.guests.lobby(), what="the guest in the console's lobby")
        assert await console.admit_guest(entry.invitation_id, True)
        await eventually(lambda: w.guest_consent.isVisible(), what="the guest announced on the kiosk")
        await capture("guest_consent")
        assert name in w.guest_consent.title.text()
        refused = asyncio.ensure_future(wait_for(console, "guest_state", WAIT_S,
                                                 lambda d: d["entry"].state == "refused"))
        click(w.guest_consent.refuse)
        assert (await refused)["entry"].refused_by == "resident"
        assert not w.guest_consent.isVisible()
        await guest.close()

        # the resident shows a paper: the document camera takes the call's video (the self-view shows it too)
        assert w.call.document.isVisible()
        shown = asyncio.ensure_future(wait_for(console, "document", WAIT_S, lambda d: d["showing"]))
        click(w.call.document)
        await shown
        await eventually(lambda: w.call.showing_document and w.call.document_note.isVisible()
                         and ctl.local_frame() is not None and ctl.local_frame().width == 1280,
                         what="the document on the kiosk's self-view")
        await eventually(lambda: w.call.document.isEnabled())
        await capture("call_document")
        hidden = asyncio.ensure_future(wait_for(console, "document", WAIT_S, lambda d: not d["showing"]))
        click(w.call.document)  # 「カメラに戻す」
        await hidden
        await eventually(lambda: not w.call.showing_document and not w.call.document_note.isVisible())

        # the specialist shows a form (PDF), turns to page 2 and points at a line; a tap enlarges it
        assert await console.share_pdf(make_pdf(3, "利用申請書" if language == "ja" else "Application form"),
                                       "利用申請書" if language == "ja" else "Application form")
        await eventually(lambda: w.call.shared.isVisible() and w.call.shared.pdf is not None, what="the PDF shown")
        await eventually(lambda: console.sharing.shown, what="doc.shown at the console")
        assert console.turn_page(1)
        await eventually(lambda: w.call.shared.page == 1, what="page 2 on the kiosk")
        assert console.point(0.3, 0.42, force=True)
        await eventually(lambda: w.call.shared.pointer == (0.3, 0.42), what="the pointer on the kiosk")
        await capture("call_shared_doc")
        click(w.call.shared)
        await eventually(lambda: w.call.shared_large and not w.call.side.isVisible())
        await capture("call_shared_doc_large")
        click(w.call.shared)
        await eventually(lambda: not w.call.shared_large and w.call.side.isVisible())
        console.stop_sharing()
        await eventually(lambda: not w.call.shared.isVisible(), what="the PDF gone from the kiosk")

        click(w.call.end)
        await capture("call_end_confirm")
        click(w.call.end_yes)
        await eventually(lambda: ctl.screen == "feedback")
        click(w.feedback.faces[3])
        click(w.feedback.trip_yes)
        await capture("feedback")
        w.feedback.set_cut_off(True)  # as after media_failed / kiosk_lost
        await capture("feedback_cut_off")
        w.feedback.set_cut_off(False)
        click(w.feedback.send)
        await eventually(lambda: ctl.screen == "idle")
        assert ctl.language == ctl.settings.language  # the privacy reset also resets the language
        await switch_language()
        await capture("thanks")

        w.offline.set_online(False, ticket_kept=True)
        w.offline._appear()
        await capture("offline")
        w.offline.set_stopped("revoked")
        await capture("out_of_service")
        w.offline.set_online(True)

        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        w.idle.warn(18)
        await capture("idle_warning")
        click(w.idle.button)
        ctl.reset()
        await switch_language()

        for _ in range(5):
            click(w.welcome.title)  # the hidden way in for IT staff
        await eventually(lambda: w.current_page() is w.pin)
        for digit in TEST_PIN[:2]:
            click(w.pin.findChild(type(w.pin.ok), f"pin_{digit}"))
        await capture("pin")
        w.pin.field.setText(TEST_PIN)
        click(w.pin.ok)
        await eventually(lambda: ctl.screen == "selfcheck")
        await eventually(lambda: w.selfcheck.results and not w.selfcheck.running, what="self-check done")
        await capture("selfcheck")
        click(w.selfcheck.close_btn)
        await eventually(lambda: ctl.screen == "idle")

        page = EnrollPage(Catalog(I18N, language), env.url)  # first start: the kiosk's configured language
        page.setStyleSheet(w.styleSheet())
        page.resize(*SIZE)
        page.show()
        page.kiosk_id.setText("12")
        await shot(page, "enroll", language)
        texts["enroll"] = visible_texts(page)
        page.close()
    finally:
        await app.stop()
        await ahead.stop()
        await console.stop()

    bad = {name: wrong_language(found, language) for name, found in texts.items()}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"strings in the wrong language on {language} screens: {bad}"
    assert all(texts.values())
    small = {k: v for k, v in a11y.items() if v}
    assert not small, f"controls without a name or under {MIN_TOUCH_MM} mm: {small}"


def test_theme_contrast_is_aaa() -> None:
    for fg, bg in TEXT_PAIRS:
        assert contrast(fg, bg) >= 7.0, (fg, bg, contrast(fg, bg))
