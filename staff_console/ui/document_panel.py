"""Under the resident's video while the resident shows a document: zoom, take a still, the stills of this call,
attach one to the record. Widgets only: intents go out as signals, state comes in from the window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from staff_console.ui.text import Texts

ZOOM_STEPS = 100  # the slider in percent: 100 … 800


class DocumentPanel(QFrame):
    take_still = Signal()
    attach = Signal(object)  # the StillEntry
    zoom_changed = Signal(float)
    view_still = Signal(object)  # a StillEntry to show large, or None for the live video

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("document_panel")
        self.texts = texts
        self.showing = False
        self.can_take = True  # the specialist; a third party or supervisor sees the document only
        self.doc_size: tuple[int, int] | None = None
        self.entries: list[Any] = []
        self.status_key: tuple[str, dict[str, Any]] | None = None
        self.title = QLabel()
        self.title.setObjectName("sub")
        self.title.setWordWrap(True)
        self.zoom_label = QLabel()
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setObjectName("document_zoom")
        self.zoom.setRange(ZOOM_STEPS, 8 * ZOOM_STEPS)
        self.zoom.setSingleStep(25)
        self.zoom.setMinimumWidth(140)
        self.zoom.valueChanged.connect(self._zoomed)
        self.still_btn = QPushButton()
        self.still_btn.setObjectName("take_still")
        self.still_btn.clicked.connect(self.take_still.emit)
        self.live_btn = QPushButton()
        self.live_btn.setObjectName("document_live")
        self.live_btn.clicked.connect(self._live)
        self.status = QLabel()
        self.status.setObjectName("hint")
        self.status.setWordWrap(True)
        self.stills = QListWidget()
        self.stills.setObjectName("document_stills")
        self.stills.setViewMode(QListWidget.ViewMode.IconMode)
        self.stills.setFlow(QListWidget.Flow.LeftToRight)
        self.stills.setWrapping(False)
        self.stills.setIconSize(QSize(96, 72))
        self.stills.setFixedHeight(130)
        self.stills.currentRowChanged.connect(self._selected)
        self.attach_btn = QPushButton()
        self.attach_btn.setObjectName("attach_still")
        self.attach_btn.clicked.connect(self._attach)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.zoom_label)
        top.addWidget(self.zoom, 1)
        top.addWidget(self.still_btn)
        top.addWidget(self.live_btn)
        bottom = QHBoxLayout()
        bottom.addWidget(self.stills, 1)
        side = QVBoxLayout()
        side.addWidget(self.attach_btn)
        side.addWidget(self.status, 1)
        bottom.addLayout(side)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.addLayout(top)
        lay.addLayout(bottom)
        self.retranslate()

    # ------------------------------------------------------------ state in
    def reset(self) -> None:
        self.showing, self.doc_size, self.entries, self.status_key = False, None, [], None
        self.stills.clear()
        self.zoom.setValue(ZOOM_STEPS)
        self.retranslate()

    def set_showing(self, showing: bool, size: tuple[int, int] | None) -> None:
        self.showing, self.doc_size = showing, size
        if not showing:
            self.zoom.setValue(ZOOM_STEPS)
        self.status_key = None
        self.retranslate()

    def set_taking(self) -> None:
        self.status_key = ("doc.taking", {})
        self.retranslate()

    def add_still(self, entry: Any) -> None:
        self.entries.append(entry)
        image = QImage.fromData(entry.data)
        item = QListWidgetItem(QIcon(QPixmap.fromImage(image.scaled(
            96, 72, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))), "")
        self.stills.addItem(item)
        self.status_key = ("doc.still_received", {"width": entry.width, "height": entry.height,
                                                  "kb": round(len(entry.data) / 1024),
                                                  "s": f"{entry.elapsed_ms / 1000:.1f}"})
        self.stills.setCurrentRow(self.stills.count() - 1)
        self.retranslate()

    def set_error(self, code: str) -> None:
        key = f"doc.error.{code}"
        self.status_key = (key if self.texts.has(key) else "doc.error.capture_failed", {})
        self.retranslate()

    def set_attached(self, entry: Any) -> None:
        self.status_key = ("doc.attached", {})
        self.retranslate()

    def selected(self) -> Any:
        row = self.stills.currentRow()
        return self.entries[row] if 0 <= row < len(self.entries) else None

    # ------------------------------------------------------------ intents
    def _zoomed(self, value: int) -> None:
        self.zoom_label.setText(self.texts.t("doc.zoom", percent=value))
        self.zoom_changed.emit(value / ZOOM_STEPS)

    def _selected(self, _row: int) -> None:
        entry = self.selected()
        if entry is not None:
            self.view_still.emit(entry)
        self.retranslate()

    def _live(self) -> None:
        self.stills.blockSignals(True)
        self.stills.setCurrentRow(-1)
        self.stills.clearSelection()
        self.stills.blockSignals(False)
        self.view_still.emit(None)
        self.retranslate()

    def _attach(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.attach.emit(entry)

    # ------------------------------------------------------------ text
    def retranslate(self) -> None:
        t = self.texts
        if self.showing:
            size = t.t("doc.size", width=self.doc_size[0], height=self.doc_size[1]) if self.doc_size else ""
            self.title.setText(t.t("doc.showing", size=size))
        else:
            self.title.setText(t.t("doc.not_showing"))
        self.zoom_label.setText(t.t("doc.zoom", percent=self.zoom.value()))
        self.zoom.setAccessibleName(t.t("doc.zoom_name"))
        self.still_btn.setText(t.t("doc.take_still"))
        self.still_btn.setEnabled(self.showing)
        self.still_btn.setVisible(self.can_take)
        self.attach_btn.setVisible(self.can_take)
        self.live_btn.setText(t.t("doc.live"))
        self.live_btn.setEnabled(self.selected() is not None)
        self.stills.setAccessibleName(t.t("doc.stills"))
        entry = self.selected()
        attached = entry is not None and entry.attachment_id is not None
        self.attach_btn.setText(t.t("doc.attached_btn") if attached else t.t("doc.attach"))
        self.attach_btn.setEnabled(entry is not None and not attached)
        for i, e in enumerate(self.entries):
            item = self.stills.item(i)
            if item is not None:
                mark = t.t("doc.attached_mark") if e.attachment_id is not None else ""
                item.setText(f"{i + 1}{mark}")
        if self.status_key is not None:
            key, params = self.status_key
            self.status.setText(t.t(key, **params))
        else:
            self.status.setText(t.t("doc.hint"))
        self.setVisible(self.showing or bool(self.entries))
