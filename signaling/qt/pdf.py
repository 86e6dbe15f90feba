"""PDF pages with Qt's PDF module (PySide6.QtPdf): a loaded document and a widget that shows one page with a
pointer. Used by the kiosk (the page the specialist shows, tap to enlarge) and the console (its preview, where
pressing or dragging points). Needs a QGuiApplication.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent
from PySide6.QtPdf import QPdfDocument
from PySide6.QtWidgets import QSizePolicy, QWidget


class PdfUnreadable(Exception):
    """QtPdf could not read the bytes as a PDF."""


class PdfPages:
    """One loaded PDF (kept in memory with its buffer); :class:`PdfUnreadable` if QtPdf cannot read it."""

    def __init__(self, data: bytes) -> None:
        self._buffer = QBuffer()
        self._buffer.setData(QByteArray(data))
        self._buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        self.doc = QPdfDocument()
        self.doc.load(self._buffer)
        if self.doc.status() != QPdfDocument.Status.Ready or self.doc.pageCount() < 1:
            error = self.doc.error()
            self.close()
            raise PdfUnreadable(f"QtPdf: {error.name}")

    @property
    def pages(self) -> int:
        return int(self.doc.pageCount())

    def page_size(self, page: int) -> tuple[float, float]:
        """The page's size in points."""
        size = self.doc.pagePointSize(page)
        return float(size.width()), float(size.height())

    def render(self, page: int, width: int, height: int) -> QImage:
        """The page fitted into width x height pixels, keeping its aspect ratio, on white paper (QtPdf leaves
        what the PDF does not paint transparent)."""
        pw, ph = self.page_size(page)
        scale = min(width / pw, height / ph) if pw > 0 and ph > 0 else 1.0
        size = QSize(max(1, round(pw * scale)), max(1, round(ph * scale)))
        ink = self.doc.render(page, size)
        paper = QImage(size, QImage.Format.Format_RGB32)
        paper.fill(QColor("white"))
        painter = QPainter(paper)
        painter.drawImage(0, 0, ink)
        painter.end()
        return paper

    def close(self) -> None:
        self.doc.close()
        self._buffer.close()


class PdfPageView(QWidget):
    """The current page fitted to the widget, with a large pointer (a ring and a dot) where the specialist points.
    A tap anywhere emits :attr:`tapped` (the call screen enlarges or shrinks the view). With :attr:`fit_width`
    (enlarged) the page fills the width and the part around the pointer is shown (the top without one)."""

    tapped = Signal()
    pointed = Signal(float, float)  # with ``interactive``: a press or drag at (x, y), fractions of the page

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.pdf: PdfPages | None = None
        self.page = 0
        self.pointer: tuple[float, float] | None = None
        self._image: QImage | None = None
        self._rendered_for: tuple[int, int, int] | None = None
        self.page_rect = QRect()
        self.fit_width = False
        self.interactive = False  # the specialist's preview: pressing and dragging point

    def load(self, data: bytes | None) -> bool:
        """Show this PDF (None: nothing); False when QtPdf cannot read it."""
        if self.pdf is not None:
            self.pdf.close()
        self.pdf, self._image, self._rendered_for, self.pointer, self.page = None, None, None, None, 0
        if data is not None:
            try:
                self.pdf = PdfPages(data)
            except PdfUnreadable:
                self.update()
                return False
        self.update()
        return True

    def set_page(self, page: int) -> None:
        self.page, self.pointer = page, None
        self.update()

    def set_fit_width(self, on: bool) -> None:
        self.fit_width = on
        self._rendered_for = None
        self.update()

    def set_pointer(self, pointer: tuple[float, float] | None) -> None:
        self.pointer = pointer
        self.update()

    def _page_image(self) -> QImage | None:
        if self.pdf is None or not 0 <= self.page < self.pdf.pages:
            return None
        key = (self.page, self.width(), self.height() if not self.fit_width else -1)
        if self._rendered_for != key:
            ratio = self.devicePixelRatioF()
            height = self.height() if not self.fit_width else 100_000  # the width decides
            self._image = self.pdf.render(self.page, round(self.width() * ratio), round(height * ratio))
            self._rendered_for = key
        return self._image

    def resizeEvent(self, event: QResizeEvent) -> None:  # Qt name
        self._rendered_for = None
        super().resizeEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # Qt name
        self.tapped.emit()
        super().mouseReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt name
        self._point(event)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # Qt name
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._point(event)
        super().mouseMoveEvent(event)

    def page_fraction(self, x: float, y: float) -> tuple[float, float] | None:
        """Widget coordinates as fractions of the page shown (None: outside it)."""
        r = self.page_rect
        if r.width() <= 0 or r.height() <= 0 or not r.contains(round(x), round(y)):
            return None
        return (x - r.x()) / r.width(), (y - r.y()) / r.height()

    def _point(self, event: QMouseEvent) -> None:
        if not self.interactive:
            return
        spot = self.page_fraction(event.position().x(), event.position().y())
        if spot is not None:
            self.pointer = spot
            self.update()
            self.pointed.emit(*spot)

    def paintEvent(self, event: QPaintEvent) -> None:  # Qt name
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#5b6168"))
        image = self._page_image()
        if image is None:
            painter.end()
            return
        size = image.size()
        if self.fit_width:
            size.scale(self.width(), 100_000, Qt.AspectRatioMode.KeepAspectRatio)
            x = (self.width() - size.width()) // 2
            focus = self.pointer[1] if self.pointer is not None else 0.0
            y = round(min(0.0, max(self.height() - size.height(), self.height() / 2 - focus * size.height())))
        else:
            size.scale(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
            x, y = (self.width() - size.width()) // 2, (self.height() - size.height()) // 2
        self.page_rect = QRect(x, y, size.width(), size.height())
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(self.page_rect, image)
        if self.pointer is not None:
            px = self.page_rect.x() + self.pointer[0] * self.page_rect.width()
            py = self.page_rect.y() + self.pointer[1] * self.page_rect.height()
            radius = max(14.0, self.page_rect.width() / 28)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(200, 0, 40, 230), max(4.0, radius / 4)))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(QPointF(px, py), radius, radius)
            painter.setBrush(QColor(200, 0, 40, 230))
            painter.drawEllipse(QPointF(px, py), radius / 4, radius / 4)
        painter.end()
