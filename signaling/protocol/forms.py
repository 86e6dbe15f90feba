"""Forms a specialist fills during a call and the resident confirms on the kiosk (書かない窓口, issue 11 item 4).

A form is data, not code: the server reads one JSON file per service (``server/forms/<service>.json``, README
"Confirming what staff wrote") into :class:`FormDef`; the console renders it, the server checks what was filled
(:func:`check_values`), and the kiosk shows the result. Everything here is pure (pydantic + stdlib) and shared.

Values travel as strings (a ``choice`` with ``multiple``: a list of choice keys) and are normalised the same way
on the console (before sending, to show errors next to the field) and on the server (which decides):

========  ==============================================================================================
text      stripped; at most ``max_length`` characters; one line unless ``multiline``; no control characters
date      ``YYYY-MM-DD`` (full-width digits accepted), a real date
number    digits with an optional sign and decimal point (full-width accepted); ``min``/``max`` when set
phone     a Japanese fixed line or mobile (:mod:`signaling.protocol.phone`), kept as digits
choice    one of the field's choice keys; with ``multiple`` a list of them (kept in the definition's order)
========  ==============================================================================================

An empty value is left out; a ``required`` field left out is an error. Errors come back per field as codes
(:data:`FieldProblem`), never as prose, so each program words them in its own language.

What the resident confirms is the *shown content* (:func:`shown_content`): the form's code, version and titles,
and each filled field's labels, value and the value as shown in Japanese and English. Its SHA-256 over the
canonical JSON (:func:`canonical_json`: sorted keys, no spaces, UTF-8) is the content hash the kiosk must send
back with its answer, so a tap on a form that was changed meanwhile is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from signaling.protocol.models import Lenient
from signaling.protocol.phone import phone_problem

FieldType = Literal["text", "date", "number", "phone", "choice"]
FieldProblem = Literal["unknown_field", "required", "too_long", "one_line", "not_text", "not_a_date",
                       "not_a_number", "too_small", "too_large", "not_a_phone", "not_a_choice"]
FormValue = str | list[str]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
Label = Annotated[str, Field(min_length=1, max_length=80)]
MAX_FIELDS = 30
MAX_TEXT = 2000
WEEKDAYS_JA = "月火水木金土日"
WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


class FormChoice(Lenient):
    key: Key
    label_ja: Label
    label_en: Label


class FormField(Lenient):
    key: Key
    label_ja: Label
    label_en: Label
    type: FieldType
    required: bool = False
    choices: list[FormChoice] = Field(default_factory=list)  # choice only
    multiple: bool = False  # choice only: several may be picked
    multiline: bool = False  # text only
    max_length: Annotated[int, Field(ge=1, le=MAX_TEXT)] = 200  # text only
    min: float | None = None  # number only
    max: float | None = None  # number only
    unit_ja: Annotated[str, Field(max_length=16)] = ""  # number only: shown after the value (回, 円)
    unit_en: Annotated[str, Field(max_length=16)] = ""

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        if self.type == "choice":
            if not self.choices:
                raise ValueError(f"{self.key}: a choice field needs choices")
            keys = [c.key for c in self.choices]
            if len(set(keys)) != len(keys):
                raise ValueError(f"{self.key}: choice keys repeat")
        elif self.choices or self.multiple:
            raise ValueError(f"{self.key}: choices and multiple belong to choice fields only")
        if self.multiline and self.type != "text":
            raise ValueError(f"{self.key}: multiline belongs to text fields only")
        if (self.min is not None or self.max is not None or self.unit_ja or self.unit_en) and self.type != "number":
            raise ValueError(f"{self.key}: min, max and units belong to number fields only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"{self.key}: min is above max")
        return self


class FormDef(Lenient):
    """One form: ``code`` unique among all services' forms; ``version`` raised whenever its fields or words change
    (the version is part of what the resident confirms)."""

    code: Key
    service: Annotated[str, Field(min_length=1, max_length=64)]
    version: Annotated[int, Field(ge=1)]
    title_ja: Label
    title_en: Label
    fields: Annotated[list[FormField], Field(min_length=1, max_length=MAX_FIELDS)]

    @model_validator(mode="after")
    def _unique_keys(self) -> FormDef:
        keys = [f.key for f in self.fields]
        if len(set(keys)) != len(keys):
            raise ValueError(f"form {self.code}: field keys repeat")
        return self

    def field(self, key: str) -> FormField | None:
        return next((f for f in self.fields if f.key == key), None)


class ShownField(Lenient):
    key: str
    type: FieldType
    label_ja: str
    label_en: str
    value: FormValue
    shown_ja: str
    shown_en: str


class FormContent(Lenient):
    """What the resident is asked to confirm, as stored with the session and hashed (:func:`content_hash` of
    :meth:`pydantic.BaseModel.model_dump` in JSON mode). ``salt``: random per revision, so that the hash (which is
    audited and printed) cannot be matched against guessed contents."""

    confirmation_id: int
    revision: int
    session_id: int
    salt: str
    form: str
    version: int
    service: str
    title_ja: str
    title_en: str
    fields: list[ShownField]


class FormValuesInvalid(ValueError):
    """What was filled does not fit the form: ``problems`` maps field keys to a :data:`FieldProblem` code."""

    def __init__(self, problems: dict[str, FieldProblem]) -> None:
        super().__init__(", ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def check_values(form: FormDef, values: dict[str, FormValue]) -> dict[str, FormValue]:
    """The values normalised (empty ones left out), in the form's field order; :class:`FormValuesInvalid` with
    every problem at once otherwise."""
    problems: dict[str, FieldProblem] = {k: "unknown_field" for k in values if form.field(k) is None}
    out: dict[str, FormValue] = {}
    for f in form.fields:
        raw = values.get(f.key)
        if _empty(raw):
            if f.required:
                problems[f.key] = "required"
            continue
        assert raw is not None
        value, problem = _normalise(f, raw)
        if problem is not None:
            problems[f.key] = problem
        elif value is not None:
            out[f.key] = value
    if problems:
        raise FormValuesInvalid(problems)
    return out


def _empty(raw: FormValue | None) -> bool:
    if raw is None:
        return True
    if isinstance(raw, list):
        return not [v for v in raw if isinstance(v, str) and v.strip()]
    return not isinstance(raw, str) or not raw.strip()


def _normalise(f: FormField, raw: FormValue) -> tuple[FormValue | None, FieldProblem | None]:
    if f.type == "choice":
        return _choice(f, raw)
    if not isinstance(raw, str):
        return None, "not_text"
    text = raw.strip()
    if f.type == "text":
        if _CONTROL.search(text):
            return None, "not_text"
        if not f.multiline and ("\n" in text or "\r" in text):
            return None, "one_line"
        text = text.replace("\r\n", "\n")
        return (None, "too_long") if len(text) > f.max_length else (text, None)
    folded = unicodedata.normalize("NFKC", text)
    if f.type == "date":
        try:
            if len(folded) != 10:
                raise ValueError(folded)
            return date.fromisoformat(folded).isoformat(), None
        except ValueError:
            return None, "not_a_date"
    if f.type == "number":
        folded = folded.replace(",", "")
        if not _NUMBER.match(folded) or len(folded) > 20:
            return None, "not_a_number"
        try:
            number = Decimal(folded)
        except InvalidOperation:
            return None, "not_a_number"
        if f.min is not None and number < Decimal(str(f.min)):
            return None, "too_small"
        if f.max is not None and number > Decimal(str(f.max)):
            return None, "too_large"
        return format(number.normalize(), "f"), None
    # phone
    return (None, "not_a_phone") if phone_problem(folded) is not None else (re.sub(r"[\s\-]", "", folded), None)


def _choice(f: FormField, raw: FormValue) -> tuple[FormValue | None, FieldProblem | None]:
    keys = [c.key for c in f.choices]
    picked = [v.strip() for v in raw if isinstance(v, str) and v.strip()] if isinstance(raw, list) else [raw.strip()]
    if (isinstance(raw, list) and not f.multiple) or any(p not in keys for p in picked):
        return None, "not_a_choice"
    if f.multiple:
        return [k for k in keys if k in picked], None
    return picked[0], None


def shown_value(f: FormField, value: FormValue, language: str) -> str:
    """A normalised value as the resident reads it (``ja`` or ``en``)."""
    en = language == "en"
    if f.type == "choice":
        labels = {c.key: (c.label_en if en else c.label_ja) for c in f.choices}
        picked = value if isinstance(value, list) else [value]
        return (", " if en else "、").join(labels[k] for k in picked if k in labels)
    assert isinstance(value, str)
    if f.type == "date":
        d = date.fromisoformat(value)
        if en:
            return f"{WEEKDAYS_EN[d.weekday()]} {d.day} {MONTHS_EN[d.month - 1]} {d.year}"
        return f"{d.year}年{d.month}月{d.day}日（{WEEKDAYS_JA[d.weekday()]}）"
    if f.type == "number":
        unit = f.unit_en if en else f.unit_ja
        return f"{value} {unit}" if en and unit else f"{value}{unit}"
    if f.type == "phone":
        return _phone_shown(value)
    return value


def _phone_shown(digits: str) -> str:
    if len(digits) == 11:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if digits.startswith(("03", "06")):
        return f"{digits[:2]}-{digits[2:6]}-{digits[6:]}"
    return f"{digits[:4]}-{digits[4:6]}-{digits[6:]}"


def shown_content(form: FormDef, values: dict[str, FormValue]) -> dict[str, Any]:
    """What the kiosk shows and the resident confirms: titles and each filled field, labels and shown values in
    both languages (the resident may switch), in the form's order. ``values`` must be :func:`check_values`'s."""
    fields = []
    for f in form.fields:
        if f.key in values:
            v = values[f.key]
            fields.append({"key": f.key, "type": f.type, "label_ja": f.label_ja, "label_en": f.label_en,
                           "value": v, "shown_ja": shown_value(f, v, "ja"), "shown_en": shown_value(f, v, "en")})
    return {"form": form.code, "version": form.version, "service": form.service, "title_ja": form.title_ja,
            "title_en": form.title_en, "fields": fields}


def canonical_json(doc: Any) -> bytes:
    """Sorted keys, no insignificant spaces, UTF-8 (not ASCII-escaped): the same bytes on every program."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(doc: Any) -> str:
    return hashlib.sha256(canonical_json(doc)).hexdigest()


__all__ = ["FieldProblem", "FieldType", "FormChoice", "FormContent", "FormDef", "FormField", "FormValue",
           "FormValuesInvalid", "ShownField",
           "canonical_json", "check_values", "content_hash", "shown_content", "shown_value"]
