"""Building blocks: labelled big buttons, two-line choice cards, face buttons, headings."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)


def restyle(w: QWidget) -> None:
    """Re-apply the stylesheet after a dynamic property changed."""
    style = w.style()
    style.unpolish(w)
    style.polish(w)
    w.update()


class Label(QLabel):
    def __init__(self, role: str = "", text: str = "", parent: QWidget | None = None, *, wrap: bool = True,
                 center: bool = False) -> None:
        super().__init__(text, parent)
        if role:
            self.setProperty("role", role)
        self.setWordWrap(wrap)
        self.setTextFormat(Qt.TextFormat.PlainText)
        if center:
            self.setAlignment(Qt.AlignmentFlag.AlignCenter)

    def set_role(self, role: str) -> None:
        if self.property("role") != role:
            self.setProperty("role", role)
            restyle(self)


class Button(QPushButton):
    """A big button whose accessible name always follows its visible text."""

    def __init__(self, text: str = "", kind: str = "", parent: QWidget | None = None, *,
                 checkable: bool = False) -> None:
        super().__init__(text, parent)
        if kind:
            self.setProperty("kind", kind)
        self.setCheckable(checkable)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._label = text
        self.toggled.connect(lambda _on: self._render())
        self._render()

    def set_text(self, text: str) -> None:
        self._label = text
        self._render()

    def _render(self) -> None:
        # a chosen toggle says so in words and with a mark, not only by colour
        shown = f"✓ {self._label}" if self.isCheckable() and self.isChecked() else self._label
        self.setText(shown)
        self.setAccessibleName(self._label)


class CardButton(QPushButton):
    """A choice with a bold name and a one-line plain explanation under it."""

    def __init__(self, title: str, description: str, kind: str = "service", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("kind", kind)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        lay = QVBoxLayout(self)
        self.title = Label("", title)
        self.title.setStyleSheet("font-weight: bold;")
        self.description = Label("lead", description)
        for lab in (self.title, self.description):
            lab.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            lay.addWidget(lab)
        self.set_texts(title, description)

    def set_texts(self, title: str, description: str) -> None:
        self.title.setText(title)
        self.description.setText(description)
        self.description.setVisible(bool(description))
        self.setAccessibleName(title)
        self.setAccessibleDescription(description)

    def sizeHint(self) -> QSize:
        lay = self.layout()
        inner = lay.sizeHint() if lay is not None else QSize(0, 0)
        return QSize(inner.width() + 16, inner.height() + 16)

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()


FACE_COLOURS = ["#B3261E", "#D9622B", "#8A8A8A", "#3F8F3F", "#1E6B2E"]


def face_pixmap(level: int, size: int) -> QPixmap:
    """Face 1 (very unhappy) … 5 (very happy): a coloured disc, eyes and a mouth curve."""
    pm = QPixmap(size, size)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    r = size / 2
    p.setBrush(QColor(FACE_COLOURS[level - 1]))
    p.setPen(QPen(QColor("#000000"), max(2, size // 30)))
    p.drawEllipse(QRectF(size * 0.04, size * 0.04, size * 0.92, size * 0.92))
    p.setBrush(QColor("#000000"))
    for ex in (0.36, 0.64):
        p.drawEllipse(QPointF(size * ex, size * 0.4), size * 0.06, size * 0.07)
    curve = (level - 3) / 2  # -1 … 1
    pen = QPen(QColor("#000000"), max(3, size // 16))
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    path = QPainterPath(QPointF(r - size * 0.2, size * 0.66))
    path.quadTo(QPointF(r, size * 0.66 + curve * size * 0.16), QPointF(r + size * 0.2, size * 0.66))
    p.drawPath(path)
    p.end()
    return pm


class FaceButton(QToolButton):
    def __init__(self, level: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.level = level
        self.setCheckable(True)
        self.setAutoExclusive(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_size(self, icon_px: int) -> None:
        self.setIcon(QIcon(face_pixmap(self.level, icon_px)))
        self.setIconSize(QSize(icon_px, icon_px))

    def set_text(self, text: str) -> None:
        self.setText(text)
        self.setAccessibleName(text)


class Card(QFrame):
    """A bordered box (used by overlays)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setProperty("role", "card")
        self.box = QVBoxLayout(self)


def hbox(*widgets: QWidget, stretch_ends: bool = False, spacing: int = 24) -> QHBoxLayout:
    lay = QHBoxLayout()
    lay.setSpacing(spacing)
    if stretch_ends:
        lay.addStretch(1)
    for w in widgets:
        lay.addWidget(w)
    if stretch_ends:
        lay.addStretch(1)
    return lay
