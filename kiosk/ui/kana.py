"""What the on-screen keyboard types (no Qt here): the gojūon table, the marks that change the last character
(゛ voiced, ゜ semi-voiced, 小 small kana, a Vietnamese tone), hiragana ↔ katakana, and the layouts.

A resident types kana directly: no input method, no conversion to kanji (the specialist reads kana fine).
A mark key acts on the character before the cursor, as on a phone's kana pad: か → が → か, は → ば → ぱ,
つ → っ. On a Latin layout a tone key adds its accent to the vowel before it (a + ◌́ → á): the accent goes
on the vowel just typed (c â ◌̀ n → cần).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

# the gojūon columns, each あ い う え お (blank where a column has no kana); shown left to right with あ at the
# top left, as on a bank's ATM or a ticket machine's name entry
GOJUON: list[str] = ["あいうえお", "かきくけこ", "さしすせそ", "たちつてと", "なにぬねの", "はひふへほ",
                     "まみむめも", "や ゆ よ", "らりるれろ", "わ を ん"]
VOICED = dict(zip("かきくけこさしすせそたちつてとはひふへほう",
                  "がぎぐげござじずぜぞだぢづでどばびぶべぼゔ", strict=True))
SEMI_VOICED = dict(zip("はひふへほ", "ぱぴぷぺぽ", strict=True))
SMALL = dict(zip("あいうえおつやゆよわ", "ぁぃぅぇぉっゃゅょゎ", strict=True))
PUNCTUATION = ["ー", "、", "。", "？", "！"]
SYMBOLS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0",
           "-", "/", ":", "(", ")", "円", "%", "・", "「", "」", "〜", "@", ".", ","]
QWERTY = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
LATIN_PUNCTUATION = [".", ",", "?", "!", "'", "-"]
VOWELS = "aeiouy"
TONE_MARKS_VI = ["\u0300", "\u0301", "\u0309", "\u0303", "\u0323"]  # huyền sắc hỏi ngã nặng


def _cycle(table: dict[str, str], ch: str) -> str | None:
    """The character a mark turns ``ch`` into, or back; None if the mark does not apply."""
    back = {v: k for k, v in table.items()}
    return table.get(ch) or back.get(ch)


def to_katakana(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def apply_mark(text: str, mark: str) -> str:
    """``text`` with its last character changed by ``mark`` (``dakuten``, ``handakuten``, ``small``, or a
    combining accent); unchanged when the mark does not apply to it."""
    if not text:
        return text
    last = text[-1]
    kata = "ァ" <= last <= "ヶ"
    base = chr(ord(last) - 0x60) if kata else last
    if mark in ("dakuten", "handakuten", "small"):
        if mark == "dakuten":
            new = VOICED.get(base) or {v: k for k, v in VOICED.items()}.get(base)
            if new is None and base in SEMI_VOICED.values():  # ぱ + ゛ → ば
                new = VOICED[{v: k for k, v in SEMI_VOICED.items()}[base]]
        elif mark == "handakuten":
            new = _cycle(SEMI_VOICED, base)
            if new is None and base in "ばびぶべぼ":  # ば + ゜ → ぱ
                new = SEMI_VOICED["はひふへほ"["ばびぶべぼ".index(base)]]
        else:
            new = _cycle(SMALL, base)
        if new is None:
            return text
        return text[:-1] + (to_katakana(new) if kata else new)
    # a combining accent (Vietnamese tones): on a vowel only; another tone replaces the one there
    decomposed = unicodedata.normalize("NFD", last)
    if decomposed[0].lower() not in VOWELS:
        return text
    kept = "".join(c for c in decomposed if c not in TONE_MARKS_VI)
    return text[:-1] + unicodedata.normalize("NFC", kept + mark)


@dataclass(frozen=True)
class Layout:
    """Which keyboard a UI language gets: ``kana`` (Japanese, やさしい日本語) or ``latin`` with a language's
    own extra letters and accents (a language pack's ``keyboard``: ``{"extra": "ăâđêôơư", "marks": [...]}``)."""

    kind: str = "latin"
    extra: str = ""
    marks: list[str] = field(default_factory=list)

    @classmethod
    def for_language(cls, wire: str, spec: dict[str, Any] | None) -> Layout:
        spec = spec or {}
        kind = str(spec.get("layout") or ("kana" if wire == "ja" else "latin"))
        marks = [m for m in spec.get("marks", []) if isinstance(m, str) and unicodedata.combining(m)]
        return cls(kind if kind in ("kana", "latin") else "latin", str(spec.get("extra", "")), marks)
