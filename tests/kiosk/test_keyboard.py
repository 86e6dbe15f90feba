"""The on-screen keyboard by itself: what each key types, by real clicks on its real keys (no server)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLineEdit

from kiosk.ui.kana import Layout, apply_mark, to_katakana
from kiosk.ui.keyboard import TextKeyboard
from signaling.language_packs import load_packs
from tests.kiosk.helpers import click

VI = Layout.for_language("vi", load_packs()["vi"].keyboard)


def test_marks_change_the_character_before() -> None:
    assert apply_mark("か", "dakuten") == "が" and apply_mark("が", "dakuten") == "か"
    assert apply_mark("は", "handakuten") == "ぱ" and apply_mark("ば", "handakuten") == "ぱ"
    assert apply_mark("ぱ", "dakuten") == "ば" and apply_mark("う", "dakuten") == "ゔ"
    assert apply_mark("つ", "small") == "っ" and apply_mark("ょ", "small") == "よ"
    assert apply_mark("ハ", "handakuten") == "パ" and apply_mark("ツ", "small") == "ッ"  # katakana too
    assert apply_mark("あ", "dakuten") == "あ" and apply_mark("", "small") == ""  # nothing to change
    assert apply_mark("Viê", "\u0323") == "Việ" and apply_mark("Việ", "\u0301") == "Viế"  # a tone replaces
    assert apply_mark("Viêt", "\u0323") == "Viêt"  # not on a consonant
    assert apply_mark("a", "\u0301") == "á" and apply_mark("1", "\u0301") == "1"
    assert to_katakana("ばすで　ー") == "バスデ　ー"
    assert Layout.for_language("ja", None).kind == "kana" and Layout.for_language("en", None).kind == "latin"
    assert VI.kind == "latin" and "ơ" in VI.extra and len(VI.marks) == 5


def _typed(kb: TextKeyboard, *keys: str) -> None:
    for k in keys:
        click(kb.key(k))


def _keyboard(qtbot: Any, layout: Layout) -> tuple[QLineEdit, TextKeyboard]:
    field = QLineEdit()
    kb = TextKeyboard(field, "t")
    kb.set_layout(layout)
    kb.retranslate(lambda key: {"kb.space": "空白", "kb.delete": "1字消す", "kb.katakana": "カタカナ",
                                "kb.hiragana": "ひらがな", "kb.shift": "大文字"}.get(key, key))
    qtbot.addWidget(field)
    qtbot.addWidget(kb)
    kb.resize(1200, 420)
    kb.show()
    return field, kb


def test_kana_sentence_by_touch(qtbot: Any) -> None:
    field, kb = _keyboard(qtbot, Layout("kana"))
    edits: list[str] = []
    kb.edited.connect(edits.append)
    _typed(kb, "katakana", "は", "dakuten", "す", "katakana", "て", "dakuten", "space")
    _typed(kb, "ひ", "dakuten", "よ", "small", "う", "い", "ん", "に", "space", "い", "き", "た", "い")
    _typed(kb, "て", "dakuten", "す", "。", "delete", "、")
    assert field.text() == "バスで びょういんに いきたいです、"
    assert edits[-1] == field.text()
    assert kb.key("katakana").text() == "カタカナ" and not kb.katakana
    click(kb.key("to_symbols"))
    _typed(kb, "1", "0", "円")
    click(kb.key("to_letters"))
    click(kb.key("to_latin"))
    _typed(kb, "shift", "a", "b")
    assert field.text().endswith("、10円Ab")
    field.setCursorPosition(2)  # a mark acts before the cursor, not at the end
    click(kb.key("to_kana"))
    _typed(kb, "dakuten")
    assert field.text().startswith("バズで")


def test_vietnamese_letters_and_tones(qtbot: Any) -> None:
    field, kb = _keyboard(qtbot, VI)
    assert "to_kana" not in kb.keys["latin"] and "kana" not in kb.pages  # no kana for a Vietnamese resident
    # an accent goes on the vowel just typed: c â ◌̀ n → cần
    _typed(kb, "shift", "t", "ô", "i", "space", "c", "â", "mark0", "n", "space", "g", "i", "u", "mark1", "p")
    assert field.text() == "Tôi cần giúp"
    _typed(kb, "n", "mark1")  # not on a consonant
    assert field.text() == "Tôi cần giúpn"
    assert kb.key("shift").accessibleName() == "大文字"
