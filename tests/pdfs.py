"""Small real PDFs for the tests, written with Qt's QPdfWriter (needs a QGuiApplication: the ``qapp`` fixture)."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QFont, QPageSize, QPainter, QPdfWriter

FORM = ["就労継続支援 利用申請書", "1. 申請者の氏名・住所", "2. 希望するサービスと利用日数", "3. 同意事項と署名"]


def make_pdf(pages: int = 3, title: str = "利用申請書") -> bytes:
    """An A4 form of ``pages`` pages, each with a heading naming its page and 10.5 pt body text."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setResolution(150)
    writer.setTitle(title)
    painter = QPainter(writer)
    heading, body = QFont("Noto Sans CJK JP"), QFont("Noto Sans CJK JP")
    heading.setPointSizeF(18)
    body.setPointSizeF(10.5)
    width = writer.width()
    for page in range(pages):
        if page:
            writer.newPage()
        painter.setFont(heading)
        painter.drawText(QRectF(100, 120, width - 200, 120), Qt.AlignmentFlag.AlignHCenter,
                         f"{title}（{page + 1} / {pages} ページ）")
        painter.setFont(body)
        y = 320
        for line in FORM[1:] if page == 0 else [FORM[min(page, len(FORM) - 1)]]:
            painter.drawText(QRectF(120, y, width - 240, 60), line)
            y += 70
            painter.drawRect(QRectF(120, y, width - 240, 160))
            y += 220
    painter.end()
    buf.close()
    return bytes(data.data())
