"""The form definitions, read once from JSON files and checked (README "Confirming what staff wrote").

One file per service, named after the service's code (``disability.json``), in ``server/forms/definitions/`` or
the folder ``MADOGUCHI_FORMS_DIR`` names (which then replaces the built-in one)::

    {"service": "disability",
     "forms": [{"code": "disability_consult", "version": 1, "title_ja": "…", "title_en": "…",
                "fields": [{"key": "topic", "label_ja": "相談の内容", "label_en": "Topic", "type": "choice",
                            "required": true, "choices": [{"key": "services", "label_ja": "…", "label_en": "…"}]},
                           …]}]}

Field types and their keys are :class:`signaling.protocol.forms.FormField`'s. A definition that does not fit —
an unknown key (a typo), a missing label, a choice field without choices, a form code used twice, a file whose
``service`` is not its name — stops the server at start with the file and the reason
(:class:`FormDefinitionError`), never a form that half works during a call.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from signaling.protocol.forms import FormChoice, FormDef, FormField

BUILT_IN = Path(__file__).resolve().parent / "definitions"
_FILE_KEYS = {"service", "forms"}


class FormDefinitionError(ValueError):
    pass


class FormRegistry:
    def __init__(self, forms: list[FormDef]) -> None:
        self.forms = forms
        self._by_code = {f.code: f for f in forms}

    def get(self, code: str) -> FormDef | None:
        return self._by_code.get(code)

    def of_service(self, service_code: str) -> list[FormDef]:
        return [f for f in self.forms if f.service == service_code]


def _unknown_keys(model: type[BaseModel], data: Any, where: str) -> None:
    """The wire models ignore unknown keys (a newer server may add some); a definition file must not."""
    if not isinstance(data, dict):
        return
    extra = set(data) - set(model.model_fields)
    if extra:
        raise FormDefinitionError(f"{where}: unknown key(s) {sorted(extra)}")
    nested: dict[str, type[BaseModel]] = {"fields": FormField, "choices": FormChoice}
    for key, sub in nested.items():
        for i, item in enumerate(data.get(key) or []):
            _unknown_keys(sub, item, f"{where}.{key}[{i}]")


def load_file(path: Path) -> list[FormDef]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormDefinitionError(f"{path.name}: not readable JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) != _FILE_KEYS or not isinstance(data["forms"], list):
        raise FormDefinitionError(f'{path.name}: expected {{"service": …, "forms": [ … ]}}')
    service = data["service"]
    if service != path.stem:
        raise FormDefinitionError(f"{path.name}: service {service!r} is not the file's name")
    out = []
    for i, raw in enumerate(data["forms"]):
        where = f"{path.name}: forms[{i}]"
        if not isinstance(raw, dict):
            raise FormDefinitionError(f"{where}: not an object")
        _unknown_keys(FormDef, {**raw, "service": service}, where)
        try:
            out.append(FormDef.model_validate({**raw, "service": service}))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            raise FormDefinitionError(f"{where}: {problems}") from None
    return out


def load_forms(folder: Path) -> FormRegistry:
    if not folder.is_dir():
        raise FormDefinitionError(f"no form folder {folder}")
    forms: list[FormDef] = []
    for path in sorted(folder.glob("*.json")):
        forms += load_file(path)
    codes = [f.code for f in forms]
    twice = sorted({c for c in codes if codes.count(c) > 1})
    if twice:
        raise FormDefinitionError(f"form code(s) used more than once: {twice}")
    return FormRegistry(forms)


@lru_cache(maxsize=4)
def forms_in(folder: str) -> FormRegistry:
    """The registry of ``folder`` (empty: the built-in definitions), read once per process."""
    return load_forms(Path(folder) if folder else BUILT_IN)
