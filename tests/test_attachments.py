"""Document stills kept with a record (issue 11, item 1), over REST against a real server: only the session's own
specialist attaches, only a real image of the announced type whose hash matches, within the size limit; the
note's readers read it, IT, admins and partners never. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io

import httpx
from PIL import Image
from sqlalchemy import select

from server.api.routes.attachments import MAX_ATTACHMENT_BYTES
from server.db.models import Attachment, CallSession, Note
from tests.support import Env, finished_session
from tests.test_partner import make_partner


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (250, 250, 247)).save(out, "JPEG", quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (250, 250, 247)).save(out, "PNG")
    return out.getvalue()


def headers(token: str, data: bytes, mime: str = "image/jpeg", digest: str | None = None) -> dict[str, str]:
    return {**bearer(token), "Content-Type": mime, "X-Content-SHA256": digest or hashlib.sha256(data).hexdigest()}


async def bihoro_session(env: Env, username: str = "takahashi") -> int:
    """A finished call of ``username`` with a Bihoro resident, as the queue would have recorded it."""
    return await finished_session(env, "bihoro", "employment", username)


async def test_only_a_valid_image_of_ones_own_session_is_kept(env: Env) -> None:
    sid = await bihoro_session(env)
    own = await env.issued_token("takahashi")
    url = f"/api/sessions/{sid}/attachments"
    data = jpeg()
    async with httpx.AsyncClient(base_url=env.url) as http:
        # another specialist's session: as if it did not exist
        r = await http.post(url, content=data, headers=headers(await env.issued_token("sato"), data))
        assert r.status_code == 404
        refused = {
            "hash mismatch": (data, headers(own, data, digest="0" * 64), 422, "does not match"),
            "no hash": (data, {**bearer(own), "Content-Type": "image/jpeg"}, 422, "does not match"),
            "pdf type": (data, headers(own, data, mime="application/pdf"), 415, "Content-Type"),
            "png announced, jpeg sent": (data, headers(own, data, mime="image/png"), 422, "not image/png"),
            "not an image": (b"hello" * 100, headers(own, b"hello" * 100), 422, "not a readable image"),
            "truncated": (data[: len(data) // 2], headers(own, data[: len(data) // 2]), 422, "image"),
            "empty": (b"", headers(own, b""), 422, "empty"),
        }
        for what, (body, hdrs, status, words) in refused.items():
            r = await http.post(url, content=body, headers=hdrs)
            assert r.status_code == status and words in r.json()["detail"], (what, r.status_code, r.text)
        big = b"\xff\xd8" + bytes(MAX_ATTACHMENT_BYTES)
        r = await http.post(url, content=big, headers=headers(own, big))
        assert r.status_code == 413
        async with env.ctx.maker() as db:
            assert (await db.execute(select(Attachment))).scalars().all() == []  # nothing kept from any of those

        for body, mime, size in ((data, "image/jpeg", (64, 48)), (png((30, 20)), "image/png", (30, 20))):
            r = await http.post(url, content=body, headers=headers(own, body, mime))
            assert r.status_code == 201, r.text
            out = r.json()
            assert (out["mime"], out["width"], out["height"], out["size"]) == (mime, *size, len(body))
            got = await http.get(f"{url}/{out['id']}", headers=bearer(own))
            assert got.content == body and got.headers["x-content-sha256"] == hashlib.sha256(body).hexdigest()
            assert got.headers["cache-control"] == "no-store"


async def test_the_notes_readers_read_it_and_nobody_else(env: Env) -> None:
    sid = await bihoro_session(env)
    data = jpeg()
    _, partner = await make_partner(env)
    async with httpx.AsyncClient(base_url=env.url) as http:
        r = await http.post(f"/api/sessions/{sid}/attachments", content=data,
                            headers=headers(await env.issued_token("takahashi"), data))
        aid = r.json()["id"]
        one = f"/api/sessions/{sid}/attachments/{aid}"

        async def status(token: str) -> tuple[int, int]:
            return ((await http.get(one, headers=bearer(token))).status_code,
                    (await http.get(f"/api/sessions/{sid}/attachments", headers=bearer(token))).status_code)

        assert await status(await env.issued_token("takahashi")) == (200, 200)
        for user in ("it", "admin"):  # metadata roles never read consultation content
            assert await status(await env.issued_token(user)) == (403, 403)
        assert await status(partner) == (403, 403)
        assert await status(await env.issued_token("sato")) == (404, 404)  # Kitami: not Bihoro's record
        assert await status(await env.issued_token("tanaka")) == (404, 404)  # Kitami's supervisor too
        # the note shared (wide-area pool): then, as the note, readable by the other municipality's specialists
        async with env.ctx.maker() as db, db.begin():
            sess = await db.get(CallSession, sid)
            assert sess is not None
            db.add(Note(session_id=sid, municipality_id=sess.municipality_id, author_id=sess.staff_id,
                        category="就労支援", shared=True))
        assert await status(await env.issued_token("sato")) == (200, 200)
        assert (await http.get("/api/sessions/999999/attachments",
                               headers=bearer(await env.issued_token("takahashi")))).status_code == 404
