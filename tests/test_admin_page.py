"""/admin in real headless Chromium against a real server on a real SQLite file (issue 13 item 1).

An administrator signs in through the page's own form, adds a branch with its distance to city hall, renames a
service in both languages and changes its hours, creates a staff member (the server makes the password and the
page shows it once) and resets the password, enrolls a kiosk (the code is read off the page and a real kiosk
enrolls with it through kiosk.services.server_api), revokes it, and finds each change in the audit view. Bad
input shows its message next to its field and changes nothing; other roles are refused.

Set MADOGUCHI_SCREENSHOTS=docs/screenshots to also write admin_*_ja.png and admin_*_en.png.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Dialog, Page, expect
from sqlalchemy import select

from kiosk.services.server_api import device_token, enroll
from server.db.models import AuditEvent, Branch, Service
from signaling.client import CredentialRejected
from tests.browser import chromium
from tests.support import WAIT_S, Env, make_settings, server_env

expect.set_options(timeout=WAIT_S * 1000)
NOT_ALLOWED = "このアカウントでは管理画面を使えません（管理者のみ）"
EXPIRED = "ログインの有効期限が切れました。もう一度ログインしてください"


def watch(page: Page) -> list[str]:
    """Script errors on the page, and accept every confirmation the page asks for."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    page.on("dialog", accept)
    return errors


async def sign_in(page: Page, env: Env, username: str = "admin", password: str = "madoguchi-demo") -> None:
    await page.goto(f"{env.url}/admin")
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#login-button")


async def tab(page: Page, name: str) -> None:
    await page.click(f'#tabs [data-tab="{name}"]')
    await expect(page.locator(f"#tab-{name}")).to_be_visible()


async def login_status(env: Env, username: str, password: str) -> int:
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post("/api/auth/login", json={"username": username, "password": password})
        return r.status_code


async def test_admin_page_end_to_end(tmp_path: Path) -> None:
    shots = os.environ.get("MADOGUCHI_SCREENSHOTS")
    async with server_env(make_settings(tmp_path)) as env, chromium() as browser:
        page = await browser.new_page(viewport={"width": 1440, "height": 1000})
        errors = watch(page)
        await sign_in(page, env)
        await expect(page.locator("#app")).to_be_visible()
        await expect(page.locator("#who")).to_contain_text("管理者")

        # ---- a branch with its distance to city hall; bad input first: each message next to its field
        form = page.locator("#branch-new")
        await form.locator('[name="municipality_code"]').select_option("bihoro")
        await form.locator('[name="code"]').fill("Bihoro East")
        await form.locator('[name="name_ja"]').fill("美幌町 東出張所")
        await form.locator('[name="name_en"]').fill("Bihoro East Office")
        await form.locator('[name="distance_km"]').fill("遠い")
        await form.locator('button[type="submit"]').click()
        await expect(form.locator('[data-error-for="distance_km"]')).to_have_text("数を入力してください（例: 27.5）")
        await expect(form.locator('[data-error-for="code"]')).to_contain_text("英小文字・数字・ハイフン")
        await expect(form.locator('[data-error-for="name_ja"]')).to_have_text("")
        if shots:  # the page with its messages next to the fields
            await page.screenshot(path=str(Path(shots) / "admin_places_ja.png"), full_page=True)
        async with env.ctx.maker() as db:
            assert (await db.execute(select(Branch).where(Branch.name_en == "Bihoro East Office"))).first() is None
        await form.locator('[name="code"]').fill("bihoro-east")
        await form.locator('[name="distance_km"]').fill("31.5")
        await form.locator('button[type="submit"]').click()
        row = page.locator('#branch-rows tr[data-code="bihoro-east"]')
        await expect(row.locator('[name="name_ja"]')).to_have_value("美幌町 東出張所")
        await expect(row.locator('[name="distance_km"]')).to_have_value("31.5")
        await expect(form.locator('[data-error-for="distance_km"]')).to_have_text("")
        # ... and its distance corrected in its row
        await row.locator('[name="distance_km"]').fill("29")
        await row.locator("button").click()
        await expect(page.locator("#notice")).to_have_text("保存しました")
        async with env.ctx.maker() as db:
            b = (await db.execute(select(Branch).where(Branch.code == "bihoro-east"))).scalar_one()
            assert (b.municipality.code, b.name_ja, b.name_en, b.distance_km) == (
                "bihoro", "美幌町 東出張所", "Bihoro East Office", 29.0)

        # ---- a service's name in both languages and its hours
        await tab(page, "services")
        card = page.locator('form.service[data-code="employment"]')
        await card.locator('[name="name_ja"]').fill("")
        await card.locator('button[type="submit"]').click()
        await expect(card.locator('[data-error-for="name_ja"]')).to_have_text("1 文字以上で入力してください")
        await card.locator('[name="name_ja"]').fill("仕事と就労の相談")
        await card.locator('[name="name_en"]').fill("Work and employment")
        await card.locator('[name="hours_ja"]').fill("平日 9:00〜16:00")
        await card.locator('[name="hours_en"]').fill("Weekdays 9:00-16:00")
        await card.locator('button[type="submit"]').click()
        await expect(card.locator("h3")).to_contain_text("仕事と就労の相談")
        async with env.ctx.maker() as db:
            s = (await db.execute(select(Service).where(Service.code == "employment"))).scalar_one()
            assert (s.name_ja, s.name_en, s.hours_ja, s.hours_en, s.description_ja, s.shared) == (
                "仕事と就労の相談", "Work and employment", "平日 9:00〜16:00", "Weekdays 9:00-16:00",
                "障がいのある方の仕事さがし・職場のこと", True)  # what was not edited is kept
        async with httpx.AsyncClient(base_url=env.url) as http:  # what kiosks are given
            kiosk_view = {s["code"]: s for s in (await http.get("/api/services")).json()}
        assert (kiosk_view["employment"]["name_ja"], kiosk_view["employment"]["name_en"]) == (
            "仕事と就労の相談", "Work and employment")
        if shots:
            await page.screenshot(path=str(Path(shots) / "admin_services_ja.png"), full_page=True)

        # ---- a staff member: the server makes the password, the page shows it once; then a reset
        await tab(page, "staff")
        staff_form = page.locator("#staff-form")
        await staff_form.locator('[name="username"]').fill("Yamada!")
        await staff_form.locator('[name="display_name"]').fill("山田 花子")
        await staff_form.locator('[name="municipality_code"]').select_option("oketo")
        await staff_form.locator('[name="role"]').select_option("specialist")
        await staff_form.locator('.checks[data-name="skills"] input[value="employment"]').check()
        await staff_form.locator('.checks[data-name="capabilities"] input[value="written"]').check()
        await staff_form.locator('[name="languages"]').fill("ja, en")
        await page.click("#staff-submit")
        await expect(staff_form.locator('[data-error-for="username"]')).to_contain_text("英小文字・数字・ハイフン")
        await staff_form.locator('[name="username"]').fill("yamada")
        await page.click("#staff-submit")
        await expect(page.locator("#password-shown")).to_be_visible()
        await expect(page.locator("#password-title")).to_have_text("yamada さんの仮パスワード")
        first = (await page.locator("#password-value").text_content() or "").strip()
        assert len(first) >= 12
        staff_row = page.locator('#staff-rows tr[data-username="yamada"]')
        await expect(staff_row).to_contain_text("置戸町")
        await expect(staff_row).to_contain_text("仕事と就労の相談")
        await expect(staff_row).to_contain_text("ja, en")
        assert await login_status(env, "yamada", first) == 200
        if shots:
            await page.screenshot(path=str(Path(shots) / "admin_staff_ja.png"), full_page=True)
        await page.click("#password-done")
        await expect(page.locator("#password-shown")).to_be_hidden()
        await staff_row.locator('button[data-act="password"]').click()
        await expect(page.locator("#password-shown")).to_be_visible()
        second = (await page.locator("#password-value").text_content() or "").strip()
        assert second and second != first
        assert await login_status(env, "yamada", first) == 401
        assert await login_status(env, "yamada", second) == 200
        await page.click("#password-done")
        # an edit: another skill
        await staff_row.locator('button[data-act="edit"]').click()
        await expect(page.locator("#staff-form-title")).to_have_text("職員を編集")
        await staff_form.locator('.checks[data-name="skills"] input[value="disability"]').check()
        await page.click("#staff-submit")
        await expect(staff_row).to_contain_text("障がい福祉の相談")

        # ---- a kiosk: the code read off the page enrolls a real kiosk; then it is revoked
        await tab(page, "kiosks")
        kform = page.locator("#kiosk-new")
        await kform.locator('[name="branch_code"]').select_option("bihoro-east")
        await kform.locator('[name="name"]').fill("東出張所 1番")
        await kform.locator('[name="selfcheck_pin"]').fill("111111")
        await kform.locator('button[type="submit"]').click()
        await expect(kform.locator('[data-error-for="selfcheck_pin"]')).to_have_text(
            "同じ数字の繰り返しや 123456 のような並びは使えません")
        await kform.locator('[name="selfcheck_pin"]').fill("")
        await kform.locator('button[type="submit"]').click()
        await expect(page.locator("#enroll-shown")).to_be_visible()
        kiosk_id = int(await page.locator("#enroll-kiosk").text_content() or "0")
        code = (await page.locator("#enroll-code").text_content() or "").strip()
        assert kiosk_id > 0 and len(code) == 8 and code.isdigit()
        assert (await page.locator("#enroll-qr").get_attribute("src") or "").startswith("data:image/svg+xml")
        assert await page.locator("#enroll-qr").evaluate("img => img.complete && img.naturalWidth > 0")
        assert (await page.locator("#enroll-pin").text_content() or "").strip().isdigit()
        kiosk_row = page.locator(f'#kiosk-rows tr[data-kiosk="{kiosk_id}"]')
        await expect(kiosk_row).to_have_attribute("data-state", "pending")
        if shots:
            await page.screenshot(path=str(Path(shots) / "admin_kiosks_ja.png"), full_page=True)
        cred = await enroll(env.url, kiosk_id, code)
        assert cred.kiosk_id == kiosk_id and cred.branch == "美幌町 東出張所"
        assert await device_token(env.url, cred)
        await page.click("#enroll-done")
        await tab(page, "places")
        await tab(page, "kiosks")
        await page.reload()
        await tab(page, "kiosks")
        await expect(kiosk_row).to_have_attribute("data-state", "enrolled")
        await kiosk_row.locator('[name="name"]').fill("東出張所 受付横")
        await kiosk_row.locator('button[data-act="rename"]').click()
        await expect(kiosk_row.locator('[name="name"]')).to_have_value("東出張所 受付横")
        await kiosk_row.locator('button[data-act="revoke"]').click()
        await expect(kiosk_row).to_have_attribute("data-state", "revoked")
        with pytest.raises(CredentialRejected):
            await device_token(env.url, cred)

        # ---- the audit view shows each change; a filter narrows it
        await tab(page, "audit")
        rows = page.locator("#audit-rows tr")
        for action in ("branch.created", "branch.updated", "service.updated", "staff.created", "staff.password_reset",
                       "staff.updated", "kiosk.enroll_code", "kiosk.enrolled", "kiosk.renamed", "kiosk.revoked"):
            await expect(page.locator(f'#audit-rows tr[data-action="{action}"]').first).to_be_visible()
        await page.fill('#audit-filter [name="action"]', "kiosk.*")
        await page.click('#audit-filter button[type="submit"]')
        await expect(rows).to_have_count(4)  # the kiosk's four events, newest first
        actions = await rows.evaluate_all("rs => rs.map(r => r.dataset.action)")
        assert actions == ["kiosk.revoked", "kiosk.renamed", "kiosk.enrolled", "kiosk.enroll_code"], actions
        await page.fill('#audit-filter [name="action"]', "")
        await page.click('#audit-filter button[type="submit"]')
        if shots:
            await page.screenshot(path=str(Path(shots) / "admin_audit_ja.png"), full_page=True)
        async with env.ctx.maker() as db:
            mine = (await db.execute(select(AuditEvent.action).where(AuditEvent.actor == "staff:6"))).scalars().all()
        assert {"branch.created", "service.updated", "staff.created", "kiosk.revoked"} <= set(mine)

        # ---- English: every section, the same data
        await page.click("#app .lang-toggle")
        await expect(page.locator("#tabs [data-tab='audit']")).to_have_text("Audit log")
        if shots:
            for name in ("places", "services", "staff", "kiosks", "retention", "audit"):
                await tab(page, name)
                await page.screenshot(path=str(Path(shots) / f"admin_{name}_en.png"), full_page=True)
        await tab(page, "retention")
        await expect(page.locator('#retention-rows tr[data-record="note"]')).to_contain_text("1825 days")
        await expect(page.locator("#tab-retention")).to_contain_text("MADOGUCHI_RETENTION_DAYS")
        await tab(page, "places")
        await form.locator('[name="code"]').fill("bihoro-east")
        await form.locator('[name="name_ja"]').fill("重複")
        await form.locator('[name="name_en"]').fill("Duplicate")
        await form.locator('[name="distance_km"]').fill("5")
        await form.locator('button[type="submit"]').click()
        await expect(form.locator('[data-error-for="code"]')).to_have_text("This code is already in use")
        await page.click("#app .lang-toggle")
        if shots:
            await tab(page, "retention")
            await page.screenshot(path=str(Path(shots) / "admin_retention_ja.png"), full_page=True)
        assert [e for e in errors if "422" not in e and "409" not in e] == []


@pytest.mark.parametrize("username", ["it", "tanaka", "sato"])
async def test_other_roles_see_the_not_allowed_state(tmp_path: Path, username: str) -> None:
    async with server_env(make_settings(tmp_path)) as env, chromium() as browser:
        page = await browser.new_page()
        watch(page)
        await sign_in(page, env, username)
        await expect(page.locator("#login-error")).to_have_text(NOT_ALLOWED)
        await expect(page.locator("#app")).to_be_hidden()
        await sign_in(page, env, "admin", "wrong password")
        await expect(page.locator("#login-error")).to_have_text("ユーザー名またはパスワードが違います")


async def test_page_and_assets_are_locked_down(sqlite_env: Env) -> None:
    async with httpx.AsyncClient(base_url=sqlite_env.url) as http:
        page = await http.get("/admin")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert 'src="/admin/static/admin.js' in page.text and "<script>" not in page.text
        js = await http.get("/admin/static/admin.js")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
        assert "innerHTML" not in js.text and "http://" not in js.text and "https://" not in js.text
        assert (await http.get("/admin/static/../routes.py")).status_code == 404
        assert (await http.get("/admin/i18n/en.json")).json()["tab_staff"] == "Staff"
        assert (await http.get("/admin/i18n/xx.json")).status_code == 404


async def test_a_municipal_admin_and_an_account_that_changes_under_the_page(tmp_path: Path) -> None:
    """An Oketo administrator sees Oketo only and the region-wide services read-only; when the region's
    administrator takes the role away, the page's next request ends in the not-allowed state; a disabled
    account ends in the sign-in form."""
    async with server_env(make_settings(tmp_path)) as env, chromium() as browser:
        region = await env.issued_token("admin")
        async with httpx.AsyncClient(base_url=env.url, headers={"Authorization": f"Bearer {region}"}) as http:
            for username in ("oketo-admin", "oketo-admin2"):
                r = await http.post("/api/admin/staff", json={
                    "username": username, "display_name": "置戸 管理者", "municipality_code": "oketo", "role": "admin",
                    "password": "oketo admin passphrase"})
                assert r.status_code == 201, r.text
            ids = {s["username"]: s["id"] for s in (await http.get("/api/admin/staff")).json()}
            page = await browser.new_page(viewport={"width": 1440, "height": 1000})
            errors = watch(page)
            await sign_in(page, env, "oketo-admin", "oketo admin passphrase")
            await expect(page.locator("#who")).to_contain_text("置戸町")
            await expect(page.locator("#municipality-rows tr")).to_have_count(1)
            await expect(page.locator("#branch-rows tr")).to_have_count(1)
            await expect(page.locator('#branch-new [name="municipality_code"] option')).to_have_count(1)
            await tab(page, "services")
            await expect(page.locator("#services-readonly")).to_be_visible()
            await expect(page.locator('form.service[data-code="employment"] [name="name_ja"]')).to_be_disabled()
            await expect(page.locator("#service-new")).to_be_hidden()
            await tab(page, "staff")
            await expect(page.locator("#staff-rows tr")).to_have_count(2)  # the two Oketo administrators

            # the role taken away: the next save ends in the not-allowed state
            r = await http.patch(f"/api/admin/staff/{ids['oketo-admin']}", json={"role": "supervisor"})
            assert r.status_code == 200
            await tab(page, "places")
            await page.locator('#branch-rows tr[data-code="oketo"] [name="distance_km"]').fill("44")
            await page.locator('#branch-rows tr[data-code="oketo"] button').click()
            await expect(page.locator("#login-error")).to_have_text(NOT_ALLOWED)
            await expect(page.locator("#app")).to_be_hidden()

            # a disabled account: back to the sign-in form
            await sign_in(page, env, "oketo-admin2", "oketo admin passphrase")
            await expect(page.locator("#app")).to_be_visible()
            r = await http.patch(f"/api/admin/staff/{ids['oketo-admin2']}", json={"active": False})
            assert r.status_code == 200
            await page.click('#tabs [data-tab="audit"]')  # the audit view's request is refused: sign in again
            await expect(page.locator("#login-error")).to_have_text(EXPIRED)
        async with env.ctx.maker() as db:
            b = (await db.execute(select(Branch).where(Branch.code == "oketo"))).scalar_one()
            assert b.distance_km == 43.0
        assert [e for e in errors if "401" not in e and "403" not in e] == []
