"""The synthetic document camera's picture: an A4 page of Japanese text lying on a desk (PIL, no Qt).

The page is a 障害福祉サービス受給者証 (a disability welfare service certificate) of a made-up resident, marked
見本 (specimen), laid out as the real form is: its body text is 10.5 pt at the camera's resolution, so a
still taken at full resolution shows whether 10.5 pt is readable (at 2592x1944 the page is ~1850 px tall:
10.5 pt = 3.7 mm ≈ 23 px). Rendered once per size (cached); the camera stamps a frame counter beside it.
"""

from __future__ import annotations

import functools
import glob
import shutil
import subprocess

import numpy as np
from PIL import Image, ImageDraw, ImageFont

A4_MM = (210.0, 297.0)
PT_MM = 25.4 / 72
DESK_RGB = (58, 62, 66)

TITLE = "障害福祉サービス受給者証"
FIELDS = [
    ("受給者証番号", "０１２３４５６７８９"),
    ("支給決定障害者等 居住地", "北海道網走郡美幌町字見本一丁目１番地"),
    ("フリガナ", "ミホン ハナコ"),
    ("氏名", "見本 花子"),
    ("生年月日", "昭和５５年４月１日"),
    ("障害支援区分", "区分３（認定有効期間 令和８年４月１日〜令和１１年３月３１日）"),
    ("交付年月日", "令和８年１０月１日"),
    ("支給市町村名及び印", "美幌町長"),
]
TABLE_HEAD = ("サービス種別", "支給量等", "支給決定期間")
TABLE_ROWS = [
    ("居宅介護（家事援助）", "月２０時間", "令和８年１０月１日〜令和９年９月３０日"),
    ("居宅介護（通院等介助）", "月８時間", "令和８年１０月１日〜令和９年９月３０日"),
    ("就労継続支援Ｂ型", "当該月の日数から８日を控除した日数", "令和８年１０月１日〜令和９年９月３０日"),
    ("計画相談支援", "—", "令和８年１０月１日〜令和９年９月３０日"),
]
NOTES = [
    "注意事項",
    "１　この証は、障害福祉サービスを受けるときに、必ず事業者に提示してください。",
    "２　この証の記載事項に変更があったときは、１４日以内に市町村に届け出てください。",
    "３　支給決定の有効期間が過ぎたとき、又は支給決定が取り消されたときは、速やかにこの証を返還してください。",
    "４　不正にこの証を使用した者は、刑法により詐欺罪として処罰されます。",
    "５　利用者負担上限月額は、別に交付する利用者負担額減額・免除等決定通知書のとおりです。",
    "　　月額上限 ９，３００円（一般１）　　食事提供体制加算 対象",
    "６　ご不明な点は、美幌町役場 保健福祉課 障がい福祉係（電話 ０１５２－７３－１１１１）へお問い合わせください。",
]


def cjk_font_path() -> str:
    """A Japanese font file (Noto Sans CJK, Debian fonts-noto-cjk); FileNotFoundError when there is none."""
    if shutil.which("fc-match"):
        out = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK JP:lang=ja"], capture_output=True,
                             text=True, timeout=10, check=False).stdout.strip()
        if out and "CJK" in out:
            return out
    found = sorted(glob.glob("/usr/share/fonts/**/NotoSansCJK*Regular*.tt[cf]", recursive=True))
    if not found:
        raise FileNotFoundError("no Japanese font (install fonts-noto-cjk)")
    return found[0]


def _font(px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(cjk_font_path(), max(6, px), index=0)  # index 0 of the collection: JP


@functools.lru_cache(maxsize=4)
def render_page(width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 RGB: the certificate, portrait, filling ~95 % of the frame's height."""
    img = Image.new("RGB", (width, height), DESK_RGB)
    page_h = int(height * 0.95)
    page_w = int(page_h * A4_MM[0] / A4_MM[1])
    x0, y0 = (width - page_w) // 2, (height - page_h) // 2
    draw = ImageDraw.Draw(img)
    draw.rectangle((x0, y0, x0 + page_w, y0 + page_h), fill=(250, 250, 247))
    mm = page_h / A4_MM[1]
    body = _font(round(10.5 * PT_MM * mm))
    small = _font(round(9 * PT_MM * mm))
    title = _font(round(18 * PT_MM * mm))
    ink = (20, 20, 20)
    left, right = x0 + round(18 * mm), x0 + page_w - round(18 * mm)
    y = y0 + round(20 * mm)
    tw = draw.textlength(TITLE, font=title)
    draw.text(((x0 + x0 + page_w - tw) / 2, y), TITLE, font=title, fill=ink)
    y += round(16 * mm)
    row_h = round(8.5 * mm)
    label_w = round(52 * mm)
    for label, value in FIELDS:
        draw.rectangle((left, y, right, y + row_h), outline=ink, width=max(1, round(0.25 * mm)))
        draw.line((left + label_w, y, left + label_w, y + row_h), fill=ink, width=max(1, round(0.25 * mm)))
        draw.text((left + round(2 * mm), y + round(2 * mm)), label, font=body, fill=ink)
        draw.text((left + label_w + round(3 * mm), y + round(2 * mm)), value, font=body, fill=ink)
        y += row_h
    y += round(8 * mm)
    cols = [left, left + round(50 * mm), left + round(100 * mm), right]
    for r, row in enumerate([TABLE_HEAD, *TABLE_ROWS]):
        h = row_h if r == 0 else round(13 * mm)
        draw.rectangle((left, y, right, y + h), outline=ink, fill=(232, 236, 240) if r == 0 else None,
                       width=max(1, round(0.25 * mm)))
        for c, text in enumerate(row):
            draw.line((cols[c], y, cols[c], y + h), fill=ink, width=max(1, round(0.25 * mm)))
            _wrapped(draw, text, cols[c] + round(2 * mm), y + round(2 * mm), cols[c + 1] - cols[c] - round(4 * mm),
                     body if c < 2 else small)
        y += h
    y += round(10 * mm)
    for line in NOTES:
        y = _wrapped(draw, line, left, y, right - left, body) + round(1.5 * mm)
    stamp = _font(round(30 * PT_MM * mm))
    sx, sy = right - round(28 * mm), y0 + round(8 * mm)
    draw.text((sx, sy), "見本", font=stamp, fill=(200, 40, 40))
    return np.asarray(img, dtype=np.uint8)


def _wrapped(draw: ImageDraw.ImageDraw, text: str, x: int, y: int, width: int, font: ImageFont.FreeTypeFont) -> int:
    """Draw ``text`` wrapped at ``width`` pixels (character by character, as Japanese wraps); returns the y below."""
    line_h = round(font.size * 1.45)
    line = ""
    for ch in text:
        if line and draw.textlength(line + ch, font=font) > width:
            draw.text((x, y), line, font=font, fill=(20, 20, 20))
            y += line_h
            line = "　" + ch if text.startswith(("１", "２", "３", "４", "５", "６")) else ch
        else:
            line += ch
    if line:
        draw.text((x, y), line, font=font, fill=(20, 20, 20))
        y += line_h
    return y
