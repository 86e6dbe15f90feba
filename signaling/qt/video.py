"""A widget that paints the latest video frame (av.VideoFrame) or a still image, scaled to fit, keeping its aspect
ratio; optionally zoomed (:meth:`VideoView.set_zoom`, the wheel) and panned by dragging (a document up close)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


def frame_to_image(frame: Any) -> QImage:
    """Convert an av.VideoFrame to a QImage that owns its pixels."""
    rgb = frame.to_ndarray(format="rgb24")
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


MAX_ZOOM = 8.0


class VideoView(QWidget):
    zoom_changed = Signal(float)  # by the wheel

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.zoom = 1.0
        self.zoomable = False  # the wheel zooms and a drag pans only when set
        self._center = QPointF(0.5, 0.5)  # of the image, in fractions, shown in the middle when zoomed
        self._drag: QPointF | None = None
        self.placeholder = placeholder
        self.frames_painted = 0
        self._last_frame: Any = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)

    def set_frame(self, frame: Any) -> None:
        """Show a frame; the same frame object twice is painted once."""
        if frame is None or frame is self._last_frame:
            return
        self._last_frame = frame
        self._image = frame_to_image(frame)
        self.update()

    def set_image(self, image: QImage | None) -> None:
        """Show a still image (None: nothing) until the next frame or image."""
        self._image, self._last_frame = image, None
        self.update()

    @property
    def image(self) -> QImage | None:
        return self._image

    def set_zoom(self, zoom: float) -> None:
        """1 = the whole picture; up to :data:`MAX_ZOOM` times, around the point last panned to."""
        self.zoom = max(1.0, min(MAX_ZOOM, zoom))
        if self.zoom == 1.0:
            self._center = QPointF(0.5, 0.5)
        self.update()

    def source_rect(self) -> QRectF:
        """The part of the image shown (all of it at zoom 1)."""
        if self._image is None:
            return QRectF()
        iw, ih = self._image.width(), self._image.height()
        w, h = iw / self.zoom, ih / self.zoom
        x = min(max(0.0, self._center.x() * iw - w / 2), iw - w)
        y = min(max(0.0, self._center.y() * ih - h / 2), ih - h)
        return QRectF(x, y, w, h)

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt name
        if not self.zoomable or self._image is None:
            super().wheelEvent(event)
            return
        self.set_zoom(self.zoom * (1.25 if event.angleDelta().y() > 0 else 0.8))
        self.zoom_changed.emit(self.zoom)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt name
        self._drag = event.position() if self.zoomable and self.zoom > 1 else None
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # Qt name
        if self._drag is not None and self._image is not None:
            src = self.source_rect()
            scale = min(self.width() / src.width(), self.height() / src.height())
            delta = (event.position() - self._drag) / scale
            self._drag = event.position()
            self._center = QPointF(
                min(1.0, max(0.0, self._center.x() - delta.x() / self._image.width())),
                min(1.0, max(0.0, self._center.y() - delta.y() / self._image.height())))
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # Qt name
        self._drag = None
        super().mouseReleaseEvent(event)

    def clear(self) -> None:
        self._image, self._last_frame = None, None
        self.set_zoom(1.0)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1b1b1b"))
        if self._image is None:
            painter.setPen(QColor("#dddddd"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
            return
        src = self.source_rect()
        img = src.size().toSize()
        img.scale(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - img.width()) // 2
        y = (self.height() - img.height()) // 2
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(QRect(x, y, img.width(), img.height())), self._image, src)
        painter.end()
        self.frames_painted += 1
