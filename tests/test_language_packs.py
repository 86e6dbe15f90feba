"""Language packs (signaling/language_packs.py): one file per language, end to end — the catalogs, the wire,
the service names."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.db.models import Service
from server.languages import service_texts
from signaling.i18n import Catalog
from signaling.language_packs import (
    LanguagePackError,
    language_label,
    load_packs,
    parse_pack,
    wire_language,
    wire_languages,
)
from signaling.protocol.codec import parse_client
from signaling.protocol.messages import TicketCreate
from signaling.protocol.models import ServiceInfo, ServiceText

ROOT = Path(__file__).resolve().parent.parent
APPS = {"kiosk": ROOT / "kiosk" / "i18n", "console": ROOT / "staff_console" / "i18n"}
PACKS = load_packs()


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def test_the_shipped_packs() -> None:
    assert set(PACKS) >= {"vi", "ja-easy"}
    assert wire_languages(PACKS)[:2] == ["ja", "en"] and "vi" in wire_languages(PACKS)
    assert "ja-easy" not in wire_languages(PACKS)  # a wording variant: the wire says ja
    assert wire_language("ja-easy", PACKS) == "ja" and wire_language("vi", PACKS) == "vi"
    assert wire_language("en", PACKS) == "en"
    assert language_label("vi", "ja", PACKS) == "ベトナム語" and language_label("vi", "en", PACKS) == "Vietnamese"
    assert language_label("en", "ja", PACKS) == "英語" and language_label("xx", "ja", PACKS) == "xx"


@pytest.mark.parametrize("code", sorted(PACKS))
def test_pack_keys_exist_and_keep_their_placeholders(code: str) -> None:
    """A pack may leave keys out (they fall back), but every key it has is a real one of that app, and it uses
    no {placeholder} the Japanese text is not given (a typo'd key would never show; an unknown field crashes).
    It may leave one out, as English leaves out a staff member's Japanese name."""
    pack = PACKS[code]
    for app, texts in pack.sections.items():
        ja = json.loads((APPS[app] / "ja.json").read_text("utf-8"))
        unknown = set(texts) - set(ja)
        assert not unknown, f"{code}.json {app}: keys {app} does not have: {sorted(unknown)}"
        for key, text in texts.items():
            assert _fields(text) <= _fields(ja[key]), f"{code}.json {app}.{key}: placeholders ja does not have"


def test_catalog_reads_packs_with_their_fallback(tmp_path: Path) -> None:
    (tmp_path / "ja.json").write_text(json.dumps({"_language": "日本語", "a": "あ", "b": "び", "c": "し"}), "utf-8")
    (tmp_path / "en.json").write_text(json.dumps({"_language": "English", "a": "A", "b": "B"}), "utf-8")
    packs = {"vi": parse_pack("vi", {"_language": "Tiếng Việt", "_fallback": "en", "kiosk": {"a": "À"}}),
             "ja-easy": parse_pack("ja-easy", {"_language": "やさしい にほんご", "_wire": "ja", "kiosk": {"a": "ア"}}),
             "th": parse_pack("th", {"_language": "ไทย", "console": {"a": "ก"}})}
    cat = Catalog(tmp_path, "vi", app="kiosk", packs=packs)
    assert cat.languages() == ["en", "ja", "ja-easy", "vi"]  # th has no kiosk section: not offered here
    assert cat.own_languages() == ["en", "ja"]
    assert (cat.t("a"), cat.t("b"), cat.t("c")) == ("À", "B", "し")  # vi, then English, then Japanese
    cat.set_language("ja-easy")
    assert (cat.t("a"), cat.t("b"), cat.wire_language()) == ("ア", "び", "ja")
    assert cat.language_name("vi") == "Tiếng Việt"
    assert Catalog(tmp_path, "ja").languages() == ["en", "ja"]  # without app: the folder only, as before


@pytest.mark.parametrize(("name", "data", "problem"), [
    ("VI", {"_language": "x"}, "file name"),
    ("en", {"_language": "x"}, "built in"),
    ("vi", ["not", "an", "object"], "JSON object"),
    ("vi", {}, "_language"),
    ("vi", {"_language": "x", "_wire": "ja-easy"}, "_wire"),
    ("vi", {"_language": "x", "kiosk": {"a": 1}}, "kiosk"),
    ("vi", {"_language": "x", "services": {"employment": {"nom": "x"}}}, "unknown fields"),
])
def test_a_broken_pack_is_named(name: str, data: object, problem: str) -> None:
    with pytest.raises(LanguagePackError, match=problem):
        parse_pack(name, data)


def test_a_broken_file_stops_loading(tmp_path: Path) -> None:
    (tmp_path / "vi.json").write_text("{not json", "utf-8")
    with pytest.raises(LanguagePackError, match=re.escape(str(tmp_path / "vi.json"))):
        load_packs(tmp_path)
    assert load_packs(tmp_path / "none") == {}


def test_wire_language_is_a_code() -> None:
    assert TicketCreate(service_code="employment", language="vi").language == "vi"
    for bad in ("VI", "ja-easy", "vietnamese", "", "v1"):
        with pytest.raises(ValidationError):
            TicketCreate(service_code="employment", language=bad)
    msg = parse_client(json.dumps({"id": "c1", "type": "ticket.create", "service_code": "x", "language": "tl"}))
    assert isinstance(msg, TicketCreate) and msg.language == "tl"  # known or not is the server's rule


def test_service_texts_by_code_fall_back_to_japanese() -> None:
    s = Service(code="employment", name_ja="就労の相談", name_en="Employment support", description_ja="仕事",
                description_en="Work", hours_ja="平日", hours_en="Weekdays")
    new = Service(code="housing", name_ja="住まいの相談", name_en="Housing", description_ja="", description_en="",
                  hours_ja="平日", hours_en="Weekdays")
    texts = service_texts(s, PACKS)
    assert texts["vi"].name == "Tư vấn việc làm" and texts["vi"].hours.startswith("Ngày thường")
    assert texts["ja-easy"].name == "しごと の そうだん" and texts["ja-easy"].hours == "平日"  # the rest: ja
    assert texts["en"] == ServiceText(name="Employment support", description="Work", hours="Weekdays")
    assert service_texts(new, PACKS)["vi"] == ServiceText(name="住まいの相談", description="", hours="平日")
    info = ServiceInfo(code="employment", name_ja="就労の相談", name_en="Employment support", texts=texts)
    assert info.text("vi").name == "Tư vấn việc làm"
    old = ServiceInfo(code="employment", name_ja="就労の相談", name_en="Employment support")  # a 1.10 server
    assert (old.text("vi").name, old.text("en").name) == ("就労の相談", "Employment support")
