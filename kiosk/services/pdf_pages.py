"""A PDF's pages with Qt's PDF module (PySide6.QtPdf, no widgets): the page count, a page as an image.

Needs a QGuiApplication (the kiosk window's). :func:`page_count` is the :mod:`kiosk.shared_docs` loader.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
from PySide6.QtGui import QImage
from PySide6.QtPdf import QPdfDocument

from kiosk.shared_docs import DocumentRefused


class PdfPages:
    """One loaded PDF (kept in memory with its buffer); :class:`DocumentRefused` ("unreadable") if QtPdf cannot
    read it."""

    def __init__(self, data: bytes) -> None:
        self._buffer = QBuffer()
        self._buffer.setData(QByteArray(data))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.doc = QPdfDocument()
        self.doc.load(self._buffer)
        if self.doc.status() != QPdfDocument.Status.Ready or self.doc.pageCount() < 1:
            error = self.doc.error()
            self.close()
            raise DocumentRefused("unreadable", f"QtPdf: {error.name}")

    @property
    def pages(self) -> int:
        return int(self.doc.pageCount())

    def page_size(self, page: int) -> tuple[float, float]:
        """The page's size in points."""
        size = self.doc.pagePointSize(page)
        return float(size.width()), float(size.height())

    def render(self, page: int, width: int, height: int) -> QImage:
        """The page fitted into width x height pixels, keeping its aspect ratio."""
        pw, ph = self.page_size(page)
        scale = min(width / pw, height / ph) if pw > 0 and ph > 0 else 1.0
        return self.doc.render(page, QSize(max(1, round(pw * scale)), max(1, round(ph * scale))))

    def close(self) -> None:
        self.doc.close()
        self._buffer.close()


def page_count(data: bytes) -> int:
    pdf = PdfPages(data)
    try:
        return pdf.pages
    finally:
        pdf.close()
