"""What each screen says, from the translation catalogs (``kiosk/i18n/<lang>.json``), never from code.

A screen's guidance is its catalog entry ``speech.<page>``, written to be heard (where the buttons are,
what to press). A catalog without that entry speaks the screen's visible texts instead (``FALLBACK``), so a new
language file speaks the moment an engine exists for it. A language whose own file has neither stays silent:
another language's text is never read out by this language's voice. Japanese variants (an easy-Japanese file
such as ``ja-easy.json``) fall back to ``ja.json`` as the screen itself does.
"""

from __future__ import annotations

from kiosk.speech.engines import base_language
from signaling.i18n import FALLBACK, Catalog

# the controller's screen → the page whose guidance is spoken; absent: nothing is said (in_call: the call's
# audio matters; selfcheck: IT staff)
SCREEN_PAGES = {"idle": "welcome", "choosing": "services", "needs": "needs", "waiting": "waiting",
                "no_specialist": "nospec", "feedback": "feedback", "callback": "callback",
                "callback_done": "callback_done"}
# phrases that are not a screen: after feedback, the "are you still there?" layer, the volume sample
EXTRA = ["thanks", "idle_warning", "volume"]
SPOKEN = [*dict.fromkeys(SCREEN_PAGES.values()), *EXTRA]

FALLBACK_KEYS: dict[str, list[str]] = {
    "welcome": ["welcome.title", "welcome.lead", "welcome.start_hint"],
    "services": ["services.title", "services.lead"],
    "needs": ["needs.title", "needs.lead"],
    "waiting": ["waiting.title", "waiting.hint"],
    "nospec": ["nospec.title", "nospec.lead"],
    "feedback": ["feedback.title", "feedback.optional"],
    "callback": ["callback.title", "callback.lead_number"],
    "callback_done": ["callback_done.title", "callback_done.note"],
    "thanks": ["welcome.thanks"],
    "idle_warning": ["idle.title"],
    "volume": ["top.voice_on"],
}


def speech_key(page: str) -> str:
    return f"speech.{page}"


def speech_text(catalog: Catalog, language: str, page: str) -> str | None:
    """The words ``page`` says in ``language``, or None (nothing to say in that language)."""
    tables = [language]
    if base_language(language) == FALLBACK and language != FALLBACK:
        tables.append(FALLBACK)
    for lang in tables:
        own = catalog.lookup(speech_key(page), lang)
        if own:
            return own
        parts = [catalog.lookup(k, lang) for k in FALLBACK_KEYS.get(page, [])]
        if parts and all(parts) and "{" not in "".join(p or "" for p in parts):
            return join([p for p in parts if p])
    return None


def join(parts: list[str]) -> str:
    """Visible lines as one utterance: a pause after each (a full stop where the line has none)."""
    out = []
    for p in parts:
        p = p.strip()
        out.append(p if p[-1:] in "。．.!?！？" else p + ("。" if any(ord(c) > 0x2FFF for c in p) else "."))
    return " ".join(out)
