"""The call's 確認票 tab (書かない窓口, issue 11 item 4): pick a form of the call's service, fill it while talking,
「確認をお願いする」 shows it on the resident's kiosk; then what the resident said — confirming, or which items to
correct — the fields marked, and for a confirmed form 「支所で印刷」 and 「PDFを保存…」. Widgets only: the
intents go out as signals; the state comes in as :class:`staff_console.forms.FormEntry` from the window."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from signaling.protocol.forms import FormDef, FormField, FormValue
from signaling.protocol.models import JST as JST_TZ
from staff_console.ui.text import Texts

EXAMPLE = {"date": "2026-12-14", "phone": "0152-72-1111", "number": "20"}


class FieldEditor(QWidget):
    """One field's editor (by type), its problem under it, and the resident's 「ここがちがう」 mark."""

    changed = Signal()

    def __init__(self, f: FormField, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field, self.texts = f, texts
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.line: QLineEdit | None = None
        self.text: QPlainTextEdit | None = None
        self.combo: QComboBox | None = None
        self.boxes: dict[str, QCheckBox] = {}
        if f.type == "choice" and f.multiple:
            row = QVBoxLayout()
            for c in f.choices:
                box = QCheckBox()
                box.setObjectName(f"form_field_{f.key}_{c.key}")
                box.toggled.connect(lambda _on: self.changed.emit())
                self.boxes[c.key] = box
                row.addWidget(box)
            lay.addLayout(row)
        elif f.type == "choice":
            self.combo = QComboBox()
            self.combo.setObjectName(f"form_field_{f.key}")
            self.combo.addItem("", "")
            for c in f.choices:
                self.combo.addItem("", c.key)
            self.combo.currentIndexChanged.connect(lambda _i: self.changed.emit())
            lay.addWidget(self.combo)
        elif f.type == "text" and f.multiline:
            self.text = QPlainTextEdit()
            self.text.setObjectName(f"form_field_{f.key}")
            self.text.setFixedHeight(72)
            self.text.textChanged.connect(self.changed.emit)
            lay.addWidget(self.text)
        else:
            self.line = QLineEdit()
            self.line.setObjectName(f"form_field_{f.key}")
            self.line.textChanged.connect(lambda _t: self.changed.emit())
            lay.addWidget(self.line)
        self.problem = QLabel()
        self.problem.setObjectName("error")
        self.problem.setWordWrap(True)
        self.problem.hide()
        lay.addWidget(self.problem)

    def value(self) -> FormValue:
        if self.boxes:
            return [k for k, b in self.boxes.items() if b.isChecked()]
        if self.combo is not None:
            return str(self.combo.currentData() or "")
        if self.text is not None:
            return self.text.toPlainText()
        assert self.line is not None
        return self.line.text()

    def set_value(self, value: FormValue | None) -> None:
        self.blockSignals(True)
        if self.boxes:
            picked = value if isinstance(value, list) else []
            for k, b in self.boxes.items():
                b.setChecked(k in picked)
        elif self.combo is not None:
            i = self.combo.findData(value or "")
            self.combo.setCurrentIndex(max(0, i))
        elif self.text is not None:
            self.text.setPlainText(str(value or ""))
        elif self.line is not None:
            self.line.setText(str(value or ""))
        self.blockSignals(False)

    def set_problem(self, code: str | None, marked: bool) -> None:
        t = self.texts.t
        words = [t(f"forms.problem.{code}") if code else "", t("forms.marked") if marked else ""]
        text = " ".join(w for w in words if w)
        self.problem.setText(text)
        self.problem.setVisible(bool(text))

    def retranslate(self) -> None:
        en = self.texts.language == "en"
        f = self.field
        for c in f.choices:
            label = c.label_en if en else c.label_ja
            if c.key in self.boxes:
                self.boxes[c.key].setText(label)
            elif self.combo is not None:
                self.combo.setItemText(self.combo.findData(c.key), label)
        if self.combo is not None:
            self.combo.setItemText(0, self.texts.t("forms.choose"))
        if self.line is not None and f.type in EXAMPLE:
            self.line.setPlaceholderText(self.texts.t("forms.example", example=EXAMPLE[f.type]))


class FormPanel(QFrame):
    send = Signal(str, object)  # form code, {key: value}
    values_changed = Signal(str, object)
    print_clicked = Signal(str)
    save_clicked = Signal(str)

    def __init__(self, texts: Texts, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("form_panel")
        self.texts = texts
        self.forms: list[FormDef] = []
        self.entries: dict[str, Any] = {}
        self.editors: dict[str, FieldEditor] = {}
        self.labels: dict[str, QLabel] = {}
        self.current: str | None = None
        self.pdf_note: str = ""
        self.pick = QComboBox()
        self.pick.setObjectName("form_pick")
        self.pick.currentIndexChanged.connect(self._picked)
        self.title = QLabel()
        self.title.setObjectName("sub")
        self.title.setWordWrap(True)
        self.fields_box = QWidget()
        self.fields = QFormLayout(self.fields_box)
        self.fields.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow tab: labels above
        scroll = QScrollArea()
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.fields_box)
        self.status = QLabel()
        self.status.setObjectName("form_status")
        self.status.setWordWrap(True)
        self.send_btn = QPushButton()
        self.send_btn.setObjectName("form_send")
        self.send_btn.clicked.connect(self._send)
        self.print_btn = QPushButton()
        self.print_btn.setObjectName("form_print")
        self.print_btn.clicked.connect(lambda: self.current and self.print_clicked.emit(self.current))
        self.save_btn = QPushButton()
        self.save_btn.setObjectName("form_save")
        self.save_btn.clicked.connect(lambda: self.current and self.save_clicked.emit(self.current))
        self.empty = QLabel()
        self.empty.setObjectName("hint")
        self.empty.setWordWrap(True)
        buttons = QHBoxLayout()  # under the send button: what a confirmed form allows
        buttons.addWidget(self.print_btn)
        buttons.addWidget(self.save_btn)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.pick)
        lay.addWidget(self.empty)
        lay.addWidget(self.title)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.status)
        lay.addWidget(self.send_btn)
        lay.addLayout(buttons)
        self.retranslate()

    # ------------------------------------------------------------ state in
    def set_forms(self, forms: list[FormDef], entries: dict[str, Any]) -> None:
        self.forms, self.entries = list(forms), dict(entries)
        self.pick.blockSignals(True)
        self.pick.clear()
        for f in self.forms:
            self.pick.addItem("", f.code)
        self.pick.blockSignals(False)
        self.current = None
        self.pdf_note = ""
        self._picked(0)

    def set_entry(self, entry: Any) -> None:
        self.entries[entry.form.code] = entry
        if entry.form.code == self.current:
            self._render_state()

    def set_pdf_state(self, data: dict[str, Any]) -> None:
        if data.get("form_code") != self.current:
            return
        state = str(data.get("state"))
        self.pdf_note = self.texts.t(f"forms.pdf.{state}" if state != "error" else
                                     f"forms.pdf.error.{data.get('code', 'print_failed')}")
        self._render_state()

    def values(self) -> dict[str, FormValue]:
        return {k: e.value() for k, e in self.editors.items()}

    # ------------------------------------------------------------ building
    def _picked(self, index: int) -> None:
        code = self.pick.itemData(index) if index >= 0 else None
        self.current = str(code) if code else None
        while self.fields.rowCount():
            self.fields.removeRow(0)
        self.editors, self.labels = {}, {}
        form = next((f for f in self.forms if f.code == self.current), None)
        if form is not None:
            entry = self.entries.get(form.code)
            for f in form.fields:
                editor = FieldEditor(f, self.texts)
                label = QLabel()
                label.setWordWrap(True)
                if entry is not None:
                    editor.set_value(entry.values.get(f.key))
                editor.changed.connect(self._edited)
                self.fields.addRow(label, editor)
                self.editors[f.key], self.labels[f.key] = editor, label
        self.retranslate()

    def _edited(self) -> None:
        if self.current is not None:
            self.values_changed.emit(self.current, self.values())
            self._render_state()

    def _send(self) -> None:
        if self.current is not None:
            self.pdf_note = ""
            self.send.emit(self.current, self.values())

    # ------------------------------------------------------------ text
    def _render_state(self) -> None:
        t = self.texts.t
        entry = self.entries.get(self.current or "")
        state = entry.state if entry is not None else "draft"
        changes = list(entry.changes) if entry is not None and state == "change_requested" else []
        for key, editor in self.editors.items():
            code = entry.problems.get(key) if entry is not None else None
            editor.set_problem(code, key in changes)
        edited = entry is not None and entry.edited and state in ("waiting", "confirmed", "change_requested")
        if entry is None:
            text = ""
        elif edited:
            text = t("forms.state.edited")
        elif state == "confirmed":
            at = entry.answered_at.astimezone(JST_TZ).strftime("%H:%M:%S") if entry.answered_at else ""
            text = t("forms.state.confirmed", time=at, kiosk=entry.kiosk_id or "")
        elif state == "change_requested":
            labels = [self._label_of(k) for k in changes]
            text = (t("forms.state.change_fields", fields="、".join(labels) if self.texts.language == "ja"
                      else ", ".join(labels)) if labels else t("forms.state.change_explain"))
        else:
            text = t(f"forms.state.{state}")
        if self.pdf_note:
            text = f"{text}\n{self.pdf_note}" if text else self.pdf_note
        self.status.setText(text)
        self.status.setProperty("state", "edited" if edited else state)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        confirmed = entry is not None and state == "confirmed" and not edited
        self.print_btn.setVisible(confirmed)
        self.save_btn.setVisible(confirmed)
        self.send_btn.setEnabled(entry is not None and state != "sending")
        self.send_btn.setText(t("forms.resend") if entry is not None and entry.confirmation_id is not None
                              else t("forms.send"))

    def _label_of(self, key: str) -> str:
        form = next((f for f in self.forms if f.code == self.current), None)
        f = form.field(key) if form is not None else None
        if f is None:
            return key
        return f.label_en if self.texts.language == "en" else f.label_ja

    def retranslate(self) -> None:
        t, en = self.texts.t, self.texts.language == "en"
        for i, fd in enumerate(self.forms):
            self.pick.setItemText(i, fd.title_en if en else fd.title_ja)
        self.pick.setVisible(len(self.forms) > 1)
        form = next((fd for fd in self.forms if fd.code == self.current), None)
        self.empty.setText(t("forms.none"))
        self.empty.setVisible(form is None)
        self.title.setText(t("forms.lead") if form is not None else "")
        for key, label in self.labels.items():
            f = form.field(key) if form is not None else None
            if f is not None:
                name = f.label_en if en else f.label_ja
                label.setText(f"{name} *" if f.required else name)
        for editor in self.editors.values():
            editor.retranslate()
        self.print_btn.setText(t("forms.print"))
        self.save_btn.setText(t("forms.save"))
        self._render_state()

