"""The video view (signaling/qt/video.py) converts a frame only when it paints it, once, with the right colours;
zoomed in, it shows the middle of the full-resolution picture. What it costs: bench/kiosk_cost.py."""

from __future__ import annotations

from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from signaling.media import SyntheticVideoTrack
from signaling.qt.video import VideoView, frame_to_image

# BT.601 75 % colour bars, in RGB (signaling.media draws them in YUV): eight bars across the picture
BARS_RGB = [(191, 191, 191), (191, 191, 0), (0, 191, 191), (0, 191, 0), (191, 0, 191), (191, 0, 0), (0, 0, 191)]


def near(color: QColor, rgb: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip((color.red(), color.green(), color.blue()), rgb, strict=True))


def test_a_frame_is_converted_only_when_painted(qtbot: QtBot) -> None:
    track = SyntheticVideoTrack(640, 480)
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(320, 240)
    for i in range(5):  # hidden: nothing shows them, nothing converts them
        view.set_frame(track.render(i))
    assert view.has_picture and view.frames_converted == 0 and view.frames_painted == 0

    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.frames_painted >= 1)
    assert view.frames_converted == 1  # only the latest of the five
    painted = view.frames_painted
    for i in range(5, 8):  # frames replaced before the next paint are never converted
        view.set_frame(track.render(i))
    qtbot.waitUntil(lambda: view.frames_painted > painted)
    assert view.frames_converted == 2
    view.repaint()  # the same frame again (an overlay moved, a resize): painted, not converted again
    assert view.frames_converted == 2 and view.frames_painted > painted + 1

    view.clear()
    assert not view.has_picture and view.image is None


def test_the_colours_are_the_frames(qtbot: QtBot) -> None:
    frame = SyntheticVideoTrack(640, 480).render(0)
    image = frame_to_image(frame)  # the full-resolution picture, as the console's still tools read it
    assert (image.width(), image.height()) == (640, 480)
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(640, 480)  # 1:1: every bar where it was drawn
    view.set_frame(frame)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.frames_painted >= 1)
    shown = view.grab().toImage()
    for bar, rgb in enumerate(BARS_RGB):
        x = bar * 80 + 40
        assert near(image.pixelColor(x, 100), rgb), (bar, image.pixelColor(x, 100).getRgb())
        assert near(shown.pixelColor(x, 100), rgb), (bar, shown.pixelColor(x, 100).getRgb())


def test_zoomed_in_the_middle_of_the_full_picture_is_shown(qtbot: QtBot) -> None:
    frame = SyntheticVideoTrack(640, 480).render(0)
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(640, 480)
    view.zoomable = True
    view.set_frame(frame)
    view.set_zoom(4.0)  # the middle 160x120: bars 3 and 4 (green, magenta) meet at the centre
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.frames_painted >= 1)
    assert view.source_rect().getRect() == (240.0, 180.0, 160.0, 120.0)
    shown = view.grab().toImage()
    assert near(shown.pixelColor(100, 240), BARS_RGB[3]) and near(shown.pixelColor(540, 240), BARS_RGB[4])


def test_a_smaller_view_converts_at_its_own_size_once_per_frame(qtbot: QtBot) -> None:
    """The self-view in the corner: swscale shrinks the frame as it converts it; repaints of the same frame (its
    parent repainting under it) copy that small picture, not convert again; the colours are the frame's."""
    track = SyntheticVideoTrack(640, 480)
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(320, 240)
    view.set_frame(track.render(0))
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.frames_painted >= 1)
    assert view.frames_converted == 1 and view._image is not None
    assert (view._image.width(), view._image.height()) == (320, 240)  # converted at the size shown
    for _ in range(3):
        view.repaint()
    assert view.frames_converted == 1 and view.frames_painted >= 4
    shown = view.grab().toImage()
    for bar, rgb in enumerate(BARS_RGB):
        x = bar * 40 + 20
        assert near(shown.pixelColor(x, 50), rgb), (bar, shown.pixelColor(x, 50).getRgb())
    assert view.image is not None and view.image.width() == 640  # what is shown, at full resolution

    view.set_frame(track.render(1))
    view.repaint()
    assert view.frames_converted == 2
    view.resize(200, 150)  # another size: converted again at that size
    view.repaint()
    assert view.frames_converted == 3 and view._image.width() == 200
    view.set_zoom(2.0)  # zoomed: the full picture, scaled when drawn
    view.repaint()
    assert view._image.width() == 640


def test_beside_the_picture_the_background(qtbot: QtBot) -> None:
    """A wider view than the frame: the picture in the middle, the background (painted only there) beside it."""
    view = VideoView()
    qtbot.addWidget(view)
    view.resize(400, 150)  # the 4:3 frame fills 200x150 in the middle
    view.set_frame(SyntheticVideoTrack(640, 480).render(0))
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.frames_painted >= 1)
    shown = view.grab().toImage()
    for x in (2, 98, 302, 397):
        assert near(shown.pixelColor(x, 75), (0x1b, 0x1b, 0x1b), 2), (x, shown.pixelColor(x, 75).getRgb())
    assert near(shown.pixelColor(100 + 12, 40), BARS_RGB[0])  # 25 pixels a bar
    assert near(shown.pixelColor(100 + 6 * 25 + 12, 40), BARS_RGB[6])
    view.resize(200, 350)  # taller: the frame fills 200x150 in the middle, the background above and below
    view.repaint()
    shown = view.grab().toImage()
    for y in (2, 98, 252, 347):
        assert near(shown.pixelColor(100, y), (0x1b, 0x1b, 0x1b), 2), (y, shown.pixelColor(100, y).getRgb())
    assert near(shown.pixelColor(12, 140), BARS_RGB[0])
