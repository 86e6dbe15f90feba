"""The case card (相談番号カード, issue 12 item 2): one A4 page with a card to cut out — the municipality, the case
number in large digits and its QR code (``madoguchi:case:<number>``, signaling/protocol/case_number.py) — which
the specialist prints at the resident's branch (支所で印刷). Next time the resident holds it to the kiosk camera
(「カードをかざす」, kiosk/card_scan.py) instead of typing the number. The card says nothing else about the case:
no name, no service, nothing a finder could learn from. Drawn with Qt (QPdfWriter); words from the console's
catalogs, Japanese first and the same in English under it."""

from __future__ import annotations

import segno
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from signaling.i18n import Catalog
from signaling.protocol.case_number import card_text
from staff_console import I18N

DPI = 300
MM = DPI / 25.4  # device pixels per millimetre
CARD_W_MM, CARD_H_MM = 91.0, 55.0  # a business card


def qr_image(text: str) -> QImage:
    """The QR code of ``text``, one pixel per module, with its quiet zone (black on white)."""
    code = segno.make(text, error="m")
    rows = [bytes(0 if dark else 255 for dark in row) for row in code.matrix]
    quiet = 4
    size = len(rows) + 2 * quiet
    image = QImage(size, size, QImage.Format.Format_Grayscale8)
    image.fill(255)
    for y, row in enumerate(rows):
        for x, value in enumerate(row):
            if value == 0:
                image.setPixel(x + quiet, y + quiet, 0xFF000000)
    return image


def _font(size_pt: float, bold: bool = False) -> QFont:
    font = QFont()
    # Latin letters and digits from DejaVu, Japanese from Noto CJK: in Qt's PDF output the digits of Noto Sans
    # CJK lose their text mapping (the number would print but pdftotext, a screen reader, search read nothing)
    font.setFamilies(["DejaVu Sans", "Noto Sans CJK JP", "Noto Sans JP", "Yu Gothic", "sans-serif"])
    font.setPointSizeF(size_pt)
    font.setBold(bold)
    return font


def case_card_pdf(number: str, municipality: str) -> bytes:
    """The card's page as PDF bytes (needs a QGuiApplication, as the console has)."""
    ja, en = Catalog(I18N, "ja"), Catalog(I18N, "en")
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(0, 0, 0, 0)))
    writer.setTitle(f"{ja.t('card.title')} {number}")
    painter = QPainter(writer)
    try:
        left, top = 20 * MM, 20 * MM
        card = QRectF(left, top, CARD_W_MM * MM, CARD_H_MM * MM)
        painter.setPen(QPen(QColor(90, 90, 90), 0.3 * MM, Qt.PenStyle.DashLine))  # where to cut
        painter.drawRoundedRect(card, 3 * MM, 3 * MM)
        pad = 5 * MM
        qr_side = 34 * MM
        qr = QRectF(card.right() - pad - qr_side, card.top() + (card.height() - qr_side) / 2, qr_side, qr_side)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # sharp modules
        painter.drawImage(qr, qr_image(card_text(number)))
        text_w = qr.left() - card.left() - 2 * pad
        painter.setPen(QColor(0, 0, 0))
        y = card.top() + pad
        for line, size, bold in ((f"{ja.t('card.title')} / {en.t('card.title')}", 8.5, True),
                                 (municipality, 8.0, False)):
            painter.setFont(_font(size, bold))
            painter.drawText(QRectF(card.left() + pad, y, text_w, 6 * MM), Qt.AlignmentFlag.AlignLeft, line)
            y += 6 * MM
        size = 16.0  # the number as large as the card's width allows (a clipped glyph would be lost)
        while size > 8 and QFontMetricsF(_font(size, True), writer).horizontalAdvance(number) > text_w:
            size -= 0.5
        painter.setFont(_font(size, True))
        painter.drawText(QRectF(card.left() + pad, y + 4 * MM, text_w, 12 * MM),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, number)
        painter.setFont(_font(5.5))
        painter.drawText(QRectF(card.left() + pad, card.bottom() - pad - 15 * MM, text_w, 15 * MM),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap,
                         f"{ja.t('card.hint')}\n{en.t('card.hint')}")
        painter.setFont(_font(9))
        painter.drawText(QRectF(left, card.bottom() + 8 * MM, 170 * MM, 30 * MM),
                         Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap,
                         f"{ja.t('card.cut')}\n{en.t('card.cut')}")
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())
