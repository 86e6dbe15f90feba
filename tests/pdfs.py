"""Small real PDFs for the tests, written with Qt's QPdfWriter (needs a QGuiApplication: the ``qapp`` fixture)."""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPageSize, QPainter, QPdfWriter

FIELDS = [["申請者の氏名（フリガナ）", "生年月日", "住所", "電話番号"],
          ["希望するサービス", "利用を希望する日数（週）", "通所の方法（送迎の有無）", "主治医・医療機関"],
          ["同意事項：記載内容に相違ありません。", "署名", "代理人の氏名（代筆の場合）", "受付印"]]


def make_pdf(pages: int = 3, title: str = "利用申請書") -> bytes:
    """An A4 form of ``pages`` pages: a heading naming its page, then labelled boxes to fill in (10.5 pt labels)."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setResolution(150)
    writer.setTitle(title)
    painter = QPainter(writer)
    heading, body = QFont("Noto Sans CJK JP"), QFont("Noto Sans CJK JP")
    heading.setPointSizeF(20)
    body.setPointSizeF(10.5)
    width, height = writer.width(), writer.height()
    margin = 110
    for page in range(pages):
        if page:
            writer.newPage()
        painter.setFont(heading)
        painter.drawText(QRectF(margin, 90, width - 2 * margin, 90), Qt.AlignmentFlag.AlignHCenter,
                         f"{title}（{page + 1} / {pages}）")
        painter.setFont(body)
        fields = FIELDS[page % len(FIELDS)]
        row = (height - 300) / len(fields)
        for i, label in enumerate(fields):
            y = 230 + i * row
            painter.drawRect(QRectF(margin, y, width - 2 * margin, row - 40))
            painter.fillRect(QRectF(margin, y, width - 2 * margin, 56), QColor(230, 236, 242))
            painter.drawText(QRectF(margin + 16, y + 8, width - 2 * margin - 32, 48), f"{i + 1}. {label}")
    painter.end()
    buf.close()
    return bytes(data.data())
