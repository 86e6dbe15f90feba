"""Languages on the real kiosk window against a real server and a real console: typing kana on the on-screen
keyboard into the chat, やさしい日本語, Vietnamese end to end, and a language that is one more file."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from server.db.models import Ticket
from server.monitor.snapshot import build_snapshot
from signaling.client import RequestFailed
from signaling.language_packs import LANGUAGES_DIR
from signaling.observer import wait_for
from signaling.protocol.errors import ErrorCode
from signaling.protocol.messages import TicketCreate
from staff_console.ui.offer_dialog import OfferDialog
from staff_console.ui.text import Texts
from tests.integration.calls import staff_controller
from tests.kiosk.helpers import choose_language, click, kiosk_app, shot, visible_texts, wrong_language
from tests.support import WAIT_S, Env, eventually, make_settings, server_env

# 「バスで びょういんに いきたいです。」: katakana, ゛ on three kana, a small ょ, spaces, 。
SENTENCE = ["katakana", "は", "dakuten", "す", "katakana", "て", "dakuten", "space",
            "ひ", "dakuten", "よ", "small", "う", "い", "ん", "に", "space", "い", "き", "た", "い", "て", "dakuten",
            "す", "。"]
TYPED = "バスで びょういんに いきたいです。"


async def _ticket_language(env: Env) -> str:
    async with env.ctx.maker() as db:
        return (await db.execute(select(Ticket.language).order_by(Ticket.id.desc()))).scalars().first() or ""


async def test_kana_typed_on_the_keyboard_reaches_the_console(sqlite_env: Env, tmp_path: Path) -> None:
    env = sqlite_env
    console = await staff_controller(env, "takahashi")
    app = await kiosk_app(env, tmp_path)
    ctl, w = app.controller, app.window
    try:
        assert await console.set_available()
        offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.toggles["written"])  # 筆談: the call opens in writing, the keyboard with it
        click(w.needs.next)
        await offer
        assert await console.accept()
        await eventually(lambda: ctl.screen == "in_call")
        kb = w.call.keyboard
        assert kb.isVisible() and kb.page == "kana" and w.call.keyboard_open
        assert not w.call.quick_area.isVisible()  # the phrases make room; they come back when it closes
        await eventually(lambda: console.mesh is not None and console.mesh.link() is not None
                         and console.mesh.link().call._channel_open.is_set())  # type: ignore[union-attr]

        theirs = asyncio.ensure_future(wait_for(console, "chat", WAIT_S, lambda d: d["who"] != "me"))
        for key in SENTENCE:
            click(kb.key(key))
        assert w.call.entry.text() == TYPED
        click(w.call.send)
        assert (await theirs)["text"] == TYPED  # over the call's data channel, as the specialist reads it
        assert w.call.entry.text() == "" and w.call.chat.count() == 1
        assert console.send_chat("バスは 9時に でます")
        await eventually(lambda: w.call.chat.count() == 2)
        await shot(w, "keyboard", "ja")

        # the keyboard follows the language shown: Latin letters for English, with a language pack's own
        # letters and tones for Vietnamese (screenshots of each; a resident picks the language before the call)
        for language, letter in (("en", "q"), ("vi", "ơ")):
            ctl.set_language(language)
            await eventually(lambda lang=language: w.ctx.language == lang)  # type: ignore[misc]
            assert kb.page == "latin" and letter in kb.keys["latin"] and "kana" not in kb.pages
            # (the chat is what was typed: data, not the screen's words)
            assert not wrong_language([x for x in visible_texts(w) if x[0] != "chat_log"], "en")
            await shot(w, "keyboard", language)
        assert "mark0" in kb.keys["latin"] and "mark0" not in kb.keys.get("kana", {})

        click(w.call.keyboard_toggle)  # closed: the phrases are back
        assert not kb.isVisible() and w.call.quick_area.isVisible()
    finally:
        await app.stop()
        await console.stop()


async def test_easy_japanese_changes_the_wording_not_the_wire(sqlite_env: Env, tmp_path: Path) -> None:
    env = sqlite_env
    console = await staff_controller(env, "takahashi")
    app = await kiosk_app(env, tmp_path)
    ctl, w = app.controller, app.window
    try:
        plain = w.welcome.lead.text()
        assert w.topbar.languages["ja-easy"].text() == "やさしい にほんご"
        choose_language(w, "ja-easy")
        await eventually(lambda: w.ctx.language == "ja-easy")
        assert w.welcome.title.text() == "こまった こと の そうだん" and w.welcome.lead.text() != plain
        assert w.welcome.branch.isVisible()  # still a Japanese reader: the branch's Japanese name shows
        assert not wrong_language(visible_texts(w), "ja")
        await shot(w, "welcome", "ja-easy")
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        assert w.services_page.buttons["employment"].title.text() == "しごと の そうだん"
        await shot(w, "services", "ja-easy")

        assert await console.set_available()
        offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        assert w.needs.next.text() == "つぎへ（しょくいん を よぶ）"
        click(w.needs.next)
        assert (await offer)["offer"].language == "ja"  # the specialist sees a Japanese speaker
        assert await _ticket_language(env) == "ja"
        assert w.waiting.title.text() == "しょくいん を よんで います"
    finally:
        await app.stop()
        await console.stop()


async def test_vietnamese_end_to_end(sqlite_env: Env, tmp_path: Path) -> None:
    env = sqlite_env
    console = await staff_controller(env, "takahashi")
    app = await kiosk_app(env, tmp_path)
    ctl, w = app.controller, app.window
    try:
        assert ctl.client.welcome is not None and "vi" in ctl.client.welcome.languages  # type: ignore[union-attr]
        assert w.topbar.languages["vi"].text() == "Tiếng Việt"
        click(w.topbar.language_menu)
        await shot(w, "languages", "ja")  # the choice: one button per language file
        click(w.topbar.languages["vi"])
        await eventually(lambda: w.ctx.language == "vi")
        assert w.welcome.title.text() == "Quầy tư vấn phúc lợi"
        assert not wrong_language(visible_texts(w), "en")  # no Japanese left on a Vietnamese screen
        await shot(w, "welcome", "vi")
        click(w.welcome.start)
        await eventually(lambda: ctl.screen == "choosing")
        assert w.services_page.buttons["employment"].title.text() == "Tư vấn việc làm"  # from the server
        assert not wrong_language(visible_texts(w), "en")
        await shot(w, "services", "vi")

        click(w.services_page.buttons["guardianship"])  # nobody on duty: the hours in Vietnamese
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        await eventually(lambda: ctl.screen == "no_specialist")
        assert "Ngày thường 9:00–17:00" in w.nospec.hours.text()
        assert await _ticket_language(env) == "vi"  # the demand is recorded in the resident's language
        click(w.nospec.other)
        await eventually(lambda: ctl.screen == "choosing")

        assert await console.set_available()
        offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
        click(w.services_page.buttons["employment"])
        await eventually(lambda: ctl.screen == "needs")
        click(w.needs.next)
        got = (await offer)["offer"]
        assert got.language == "vi" and await _ticket_language(env) == "vi"

        # the specialist's offer says the resident's language in the specialist's words
        dialog = OfferDialog(Texts("ja"), lambda: 20.0)
        dialog.show_offer(got)
        dialog.resize(560, 420)
        dialog.show()
        assert "ベトナム語" in dialog.needs.text()
        await shot(dialog, "offer_vi", "ja", app="console")
        dialog.texts.set_language("en")
        dialog.retranslate()
        assert "Vietnamese" in dialog.needs.text()
        dialog.close()

        assert await console.accept()
        await eventually(lambda: ctl.screen == "in_call")
        snap = await build_snapshot(env.ctx)  # the IT monitor: the language, as metadata
        row = next(s for s in snap.sessions if s.service_code == "employment")
        assert (row.language, row.language_ja, row.language_en) == ("vi", "ベトナム語", "Vietnamese")
        assert w.call.end.text() == "Kết thúc"
    finally:
        await app.stop()
        await console.stop()


@pytest.fixture
def languages_dir(tmp_path: Path) -> Path:
    """The shipped language files and one more: Thai, as ONE file."""
    folder = tmp_path / "languages"
    shutil.copytree(LANGUAGES_DIR, folder)
    (folder / "th.json").write_text(json.dumps({
        "_language": "ภาษาไทย", "_names": {"ja": "タイ語", "en": "Thai"}, "_fallback": "en",
        "services": {"employment": {"name": "ปรึกษาเรื่องงาน"}},
        "kiosk": {"welcome.title": "ศูนย์ให้คำปรึกษาด้านสวัสดิการ", "welcome.start": "เริ่ม"},
    }, ensure_ascii=False), "utf-8")
    return folder


async def test_a_language_is_one_file(tmp_path: Path, languages_dir: Path) -> None:
    async with server_env(make_settings(tmp_path, "sqlite", languages_dir=languages_dir)) as env:
        console = await staff_controller(env, "takahashi")
        app = await kiosk_app(env, tmp_path, languages_dir=languages_dir)
        ctl, w = app.controller, app.window
        try:
            assert list(w.topbar.languages) == ["en", "ja", "ja-easy", "th", "vi"]  # the switch follows the files
            choose_language(w, "th")
            await eventually(lambda: w.ctx.language == "th")
            assert w.welcome.title.text() == "ศูนย์ให้คำปรึกษาด้านสวัสดิการ"
            assert w.welcome.lead.text() == w.ctx.catalog._tables["en"]["welcome.lead"]  # its fallback: English
            click(w.welcome.start)
            await eventually(lambda: ctl.screen == "choosing")
            assert w.services_page.buttons["employment"].title.text() == "ปรึกษาเรื่องงาน"
            assert w.services_page.buttons["disability"].title.text() == "障がい福祉の相談"  # not given: Japanese
            assert await console.set_available()
            offer = asyncio.ensure_future(wait_for(console, "offer", WAIT_S))
            click(w.services_page.buttons["employment"])
            await eventually(lambda: ctl.screen == "needs")
            click(w.needs.next)
            assert (await offer)["offer"].language == "th"  # accepted on the wire
            assert await _ticket_language(env) == "th"

            # a language with no file is refused on the wire, with the ones the server knows
            client, _inbox = await env.kiosk_client("kitami-tokoro")
            with pytest.raises(RequestFailed) as refused:
                await client.ask(TicketCreate(service_code="employment", language="ko"))
            assert refused.value.code == ErrorCode.INVALID_MESSAGE
            assert refused.value.details["languages"] == ["ja", "en", "th", "vi"]
        finally:
            await app.stop()
            await console.stop()
