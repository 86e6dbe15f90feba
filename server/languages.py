"""The languages this server knows: Japanese and English (built in) and one per language pack
(:mod:`signaling.language_packs`; ``MADOGUCHI_LANGUAGES_DIR``, default ``signaling/languages/``).

A ticket or callback in a language the server does not know is refused (``invalid_message``); a service's
name, description and hours in a pack's language come from the pack, by service code, each field falling back
to the Japanese one in the database. Packs are read once per folder (a new file takes a restart) and checked
when the app is created, so a broken file stops the start instead of half a language.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from server.db.models import Service
from server.queue.errors import Invalid
from server.settings import Settings
from signaling.language_packs import LANGUAGES_DIR, LanguagePack, load_packs, wire_languages
from signaling.protocol.models import ServiceText


@lru_cache(maxsize=16)
def _packs(folder: str) -> dict[str, LanguagePack]:
    return load_packs(Path(folder))


def server_packs(settings: Settings) -> dict[str, LanguagePack]:
    return _packs(str(settings.languages_dir or LANGUAGES_DIR))


def known_languages(settings: Settings) -> list[str]:
    """The codes a ticket may carry: ja, en, then each pack's wire code."""
    return wire_languages(server_packs(settings))


def check_language(settings: Settings, code: str) -> str:
    known = known_languages(settings)
    if code not in known:
        raise Invalid(f"language {code!r} is not one this server knows ({', '.join(known)})",
                      {"field": "language", "languages": known})
    return code


def service_texts(s: Service, packs: dict[str, LanguagePack]) -> dict[str, ServiceText]:
    """The service in every language: the database's Japanese and English, each pack's by service code."""
    texts = {"ja": ServiceText(name=s.name_ja, description=s.description_ja, hours=s.hours_ja),
             "en": ServiceText(name=s.name_en or s.name_ja, description=s.description_en, hours=s.hours_en)}
    for code, pack in packs.items():
        base = texts.get(pack.wire, texts["ja"])  # やさしい日本語 (wire ja) starts from the Japanese
        texts[code] = ServiceText(name=pack.service_text(s.code, "name") or base.name,
                                  description=pack.service_text(s.code, "description") or base.description,
                                  hours=pack.service_text(s.code, "hours") or base.hours)
    return texts
