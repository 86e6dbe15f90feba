"""A widget that paints the latest video frame (av.VideoFrame) or a still image, scaled to fit, keeping its aspect
ratio; optionally zoomed (:meth:`VideoView.set_zoom`, the wheel) and panned by dragging (a document up close).

Cost (bench/kiosk_cost.py): a frame is converted only when it is painted (a hidden view, or a frame replaced before
the next paint, costs nothing), by one swscale context kept for the view (PyAV's ``frame.reformat`` makes a new one
per frame: ~1 ms of set-up for a VGA frame, more than the conversion), in the unscaled YUV → 32-bit RGB path into a
QImage over the converted frame's memory (no copy), which the raster engine scales without converting its pixel
format first. Converting every frame with a fresh context to RGB888, copying it and scaling it was most of the
kiosk's main-thread CPU in a call. A view smaller than the frame (the kiosk's self-view in the corner) has swscale
convert and shrink it in one pass to the size shown (an area filter: sharper than the raster engine's bilinear
shrink of the full picture), kept until the frame or the size changes: the parent's repaints (the remote view it
sits on, 15 a second) repaint it by a plain copy."""

from __future__ import annotations

from typing import Any

from av.video.reformatter import VideoReformatter
from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget


def converted(frame: Any, reformatter: VideoReformatter | None = None,
              size: tuple[int, int] | None = None) -> tuple[Any, QImage]:
    """``(bgra_frame, image)``: the frame in 32-bit RGB and a QImage over its memory, valid while ``bgra_frame``
    lives (little-endian BGRA is Qt's Format_RGB32, the raster engine's own); ``size``: scaled to (width, height)
    in the same pass (area filter, for shrinking). Pass the same ``reformatter`` for every frame of a stream: it
    keeps its swscale context (``frame.reformat`` builds a new one per frame, which cost more than the conversion
    itself)."""
    reformatter = reformatter or VideoReformatter()
    if size is None:
        bgra = reformatter.reformat(frame, format="bgra")
    else:
        bgra = reformatter.reformat(frame, format="bgra", width=size[0], height=size[1], interpolation="AREA")
    plane = bgra.planes[0]
    return bgra, QImage(memoryview(plane), bgra.width, bgra.height, plane.line_size, QImage.Format.Format_RGB32)


def frame_to_image(frame: Any) -> QImage:
    """Convert an av.VideoFrame to a QImage that owns its pixels."""
    _keep, image = converted(frame)
    return image.copy()


MAX_ZOOM = 8.0
BACKGROUND = QColor("#1b1b1b")


class VideoView(QWidget):
    zoom_changed = Signal(float)  # by the wheel

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None  # a still (set_image), or the last frame converted
        self._frame: Any = None  # the frame to show, converted when painted
        self._bgra: Any = None  # the converted frame: its memory is self._image's
        self.zoom = 1.0
        self.zoomable = False  # the wheel zooms and a drag pans only when set
        self._center = QPointF(0.5, 0.5)  # of the image, in fractions, shown in the middle when zoomed
        self._drag: QPointF | None = None
        self.placeholder = placeholder
        self.frames_painted = 0
        self.frames_converted = 0  # frames turned into pixels: at most one per frame painted
        self._last_frame: Any = None
        self._converted_from: Any = None
        self._converted_size: tuple[int, int] | None = None  # None: full size (scaled when drawn)
        self._reformatter = VideoReformatter()  # one swscale context for the stream, not one per frame
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        # paintEvent fills every pixel: Qt need not paint the widgets behind first (the page's styled background)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)

    def set_frame(self, frame: Any) -> None:
        """Show a frame; the same frame object twice is painted once. Converted at the next paint, if any."""
        if frame is None or frame is self._last_frame:
            return
        self._last_frame = self._frame = frame
        self.update()

    def set_image(self, image: QImage | None) -> None:
        """Show a still image (None: nothing) until the next frame or image."""
        self._image, self._last_frame, self._frame, self._bgra, self._converted_from = image, None, None, None, None
        self._converted_size = None
        self.update()

    @property
    def has_picture(self) -> bool:
        """A frame or a still is shown (else the placeholder text)."""
        return self._frame is not None or self._image is not None

    @property
    def image(self) -> QImage | None:
        """What is shown, at full resolution (converted now if a frame is pending)."""
        if self._frame is not None:
            return frame_to_image(self._frame)
        return self._image

    def _picture_size(self) -> QSize:
        if self._frame is not None:
            return QSize(self._frame.width, self._frame.height)
        return self._image.size() if self._image is not None else QSize()

    def _converted(self, size: tuple[int, int] | None = None) -> QImage:
        """The pending frame as an image (converted once per frame, when first painted): at ``size`` (swscale
        shrinks it in the conversion), or at full size (None)."""
        if self._converted_from is not self._frame or self._converted_size != size or self._image is None:
            self._bgra, self._image = converted(self._frame, self._reformatter, size)
            self._converted_from, self._converted_size = self._frame, size
            self.frames_converted += 1
        return self._image

    def set_zoom(self, zoom: float) -> None:
        """1 = the whole picture; up to :data:`MAX_ZOOM` times, around the point last panned to."""
        self.zoom = max(1.0, min(MAX_ZOOM, zoom))
        if self.zoom == 1.0:
            self._center = QPointF(0.5, 0.5)
        self.update()

    def source_rect(self) -> QRectF:
        """The part of the image shown (all of it at zoom 1)."""
        if not self.has_picture:
            return QRectF()
        full = self._picture_size()
        iw, ih = full.width(), full.height()
        w, h = iw / self.zoom, ih / self.zoom
        x = min(max(0.0, self._center.x() * iw - w / 2), iw - w)
        y = min(max(0.0, self._center.y() * ih - h / 2), ih - h)
        return QRectF(x, y, w, h)

    def wheelEvent(self, event: QWheelEvent) -> None:  # Qt name
        if not self.zoomable or not self.has_picture:
            super().wheelEvent(event)
            return
        self.set_zoom(self.zoom * (1.25 if event.angleDelta().y() > 0 else 0.8))
        self.zoom_changed.emit(self.zoom)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # Qt name
        self._drag = event.position() if self.zoomable and self.zoom > 1 else None
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # Qt name
        if self._drag is not None and self.has_picture:
            src = self.source_rect()
            scale = min(self.width() / src.width(), self.height() / src.height())
            delta = (event.position() - self._drag) / scale
            self._drag = event.position()
            full = self._picture_size()
            self._center = QPointF(
                min(1.0, max(0.0, self._center.x() - delta.x() / full.width())),
                min(1.0, max(0.0, self._center.y() - delta.y() / full.height())))
            self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # Qt name
        self._drag = None
        super().mouseReleaseEvent(event)

    def clear(self) -> None:
        self._image, self._last_frame, self._frame, self._bgra, self._converted_from = None, None, None, None, None
        self.set_zoom(1.0)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if not self.has_picture:
            painter.fillRect(self.rect(), BACKGROUND)
            painter.setPen(QColor("#dddddd"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
            return
        src = self.source_rect()
        img = src.size().toSize()
        img.scale(self.size(), Qt.AspectRatioMode.KeepAspectRatio)
        x = (self.width() - img.width()) // 2
        y = (self.height() - img.height()) // 2
        target = QRect(x, y, img.width(), img.height())
        if self._frame is None:  # a still may have transparent parts: the background under all of it
            painter.fillRect(self.rect(), BACKGROUND)
        else:  # a frame covers its rectangle: the background only beside it (not 0.6 MP filled, then painted over)
            w, h = self.width(), self.height()
            for band in (QRect(0, 0, w, y), QRect(0, target.bottom() + 1, w, h - target.bottom() - 1),
                         QRect(0, y, x, target.height()), QRect(target.right() + 1, y, w - target.right() - 1,
                                                                 target.height())):
                if band.width() > 0 and band.height() > 0:
                    painter.fillRect(band, BACKGROUND)
        if self._frame is not None and self.zoom == 1.0 and 2 <= img.width() < self._frame.width and img.height() >= 2:
            # shrunk: converted at the size shown, in one pass, and drawn as it is
            small = self._converted((img.width(), img.height()))
            painter.drawImage(x, y, small)
        else:
            image = self._converted() if self._frame is not None else self._image
            assert image is not None
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(QRectF(target), image, src)
        painter.end()
        self.frames_painted += 1
