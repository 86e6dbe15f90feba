"""A confirmed form as an A4 PDF (issue 11 item 4), to print at the branch or keep: Qt's own PDF writer
(QTextDocument → QPdfWriter) in the console, which is the program that prints. Japanese is set in Noto Sans CJK JP
(``fonts-noto-cjk``, scripts/sysdeps.sh), Latin letters and digits in DejaVu Sans; both are embedded. Rendered
from the record the server stored (content, content hash, confirmation time, kiosk), never from what the console
has typed. Needs a QGuiApplication (the console window's); no widgets. Words come from the console's catalogs
(``pdf.*``); what was written is escaped.
"""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

from signaling.i18n import Catalog
from signaling.protocol.models import JST

I18N = Path(__file__).resolve().parent.parent / "i18n"
# Latin letters and digits in DejaVu Sans, Japanese in Noto Sans CJK JP: with Noto CJK alone, Qt's PDF maps
# digits after Latin letters to no text (pdftotext read "bihoro-1" as "bihoro-"), so a copied hash or kiosk
# name would be wrong
FONTS = ["DejaVu Sans", "Noto Sans CJK JP"]
DPI = 300


def _when(iso: str | None, language: str) -> str:
    if not iso:
        return ""
    at = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(JST)
    if language == "en":
        return at.strftime("%d %b %Y %H:%M:%S") + " (JST)"
    return f"{at.year}年{at.month}月{at.day}日 {at:%H:%M:%S}（日本時間）"


def _text(value: str) -> str:
    return html.escape(value).replace("\n", "<br/>")


def form_html(record: dict[str, Any], language: str = "ja") -> str:
    """The page as HTML (QTextDocument's subset): title, each item and what was written, then the proof."""
    t = Catalog(I18N, language if language in ("ja", "en") else "ja").t
    en = language == "en"
    c = record["content"]
    rows = "".join(
        f'<tr><td class="label">{_text(f["label_en"] if en else f["label_ja"])}</td>'
        f'<td class="value">{_text(f["shown_en"] if en else f["shown_ja"])}</td></tr>'
        for f in c["fields"])
    branch = record.get("branch_en") if en else record.get("branch_ja")
    kiosk = t("pdf.kiosk_value", name=record.get("kiosk_name") or "", id=record.get("kiosk_id") or "")
    proof = [
        (t("pdf.confirmed_at"), _when(record.get("confirmed_at"), language)),
        (t("pdf.branch"), branch or ""),
        (t("pdf.kiosk"), kiosk),
        (t("pdf.form"), t("pdf.form_value", code=c["form"], version=c["version"], revision=c["revision"])),
        (t("pdf.session"), str(record["session_id"])),
    ]
    proof_rows = "".join(f'<tr><td class="plabel">{_text(k)}</td><td>{_text(v)}</td></tr>' for k, v in proof)
    return f"""<html><head><style>
h1 {{ font-size: 20pt; margin-bottom: 4pt; }}
p.lead {{ font-size: 11pt; color: #333333; }}
table.items {{ border-collapse: collapse; }}
table.items td {{ border: 1px solid #444444; padding: 6pt; font-size: 13pt; vertical-align: top; }}
td.label {{ background: #eeeeee; font-weight: bold; width: 32%; }}
table.proof td {{ font-size: 9.5pt; padding: 2pt 6pt 2pt 0; }}
td.plabel {{ color: #333333; }}
p.hash {{ font-family: 'DejaVu Sans Mono', monospace; font-size: 8.5pt; }}
</style></head><body>
<h1>{_text(c["title_en"] if en else c["title_ja"])}</h1>
<p class="lead">{_text(t("pdf.lead"))}</p>
<table class="items" width="100%" cellspacing="0">{rows}</table>
<p>&nbsp;</p>
<table class="proof" cellspacing="0" cellpadding="3">{proof_rows}</table>
<p class="lead">{_text(t("pdf.hash"))}</p>
<p class="hash">{_text(record["content_hash"])}</p>
<p class="lead">{_text(t("pdf.hash_note"))}</p>
</body></html>"""


def render_form_pdf(record: dict[str, Any], language: str = "ja") -> bytes:
    """The stored record of a confirmed form (``GET /api/sessions/{id}/forms/{cid}``) as A4 PDF bytes."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(18, 16, 18, 16), QPageLayout.Unit.Millimeter)
    writer.setResolution(DPI)
    c = record["content"]
    writer.setTitle(c["title_en"] if language == "en" else c["title_ja"])
    writer.setCreator("Madoguchi")
    doc = QTextDocument()
    font = QFont()
    font.setFamilies(FONTS)
    font.setPointSizeF(11)
    doc.setDefaultFont(font)
    doc.documentLayout().setPaintDevice(writer)  # lay out at the writer's resolution: the page's whole width
    doc.setHtml(form_html(record, language))
    width, height = float(writer.width()), float(writer.height())
    doc.setPageSize(QSizeF(width, height))
    painter = QPainter(writer)
    for page in range(doc.pageCount()):
        if page:
            writer.newPage()
        painter.save()
        painter.translate(0, -page * height)
        doc.drawContents(painter, QRectF(0, page * height, width, height))
        painter.restore()
    painter.end()
    del writer  # finishes the PDF into the buffer
    buffer.close()
    return bytes(data.data())
