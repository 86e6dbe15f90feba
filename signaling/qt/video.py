"""A widget that paints the latest video frame (av.VideoFrame), scaled to fit, keeping its aspect ratio."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


def frame_to_image(frame: Any) -> QImage:
    """Convert an av.VideoFrame to a QImage that owns its pixels."""
    rgb = frame.to_ndarray(format="rgb24")
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class VideoView(QWidget):
    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
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

    def clear(self) -> None:
        self._image, self._last_frame = None, None
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#1b1b1b"))
        if self._image is None:
            painter.setPen(QColor("#dddddd"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
            return
        img = self._image.size()
        img.scale(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - img.width()) // 2
        y = (self.height() - img.height()) // 2
        painter.drawImage(QRect(x, y, img.width(), img.height()), self._image)
        painter.end()
        self.frames_painted += 1
