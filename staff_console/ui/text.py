"""Words and numbers as the specialist reads them: one object every view and model shares.

It wraps the translation :class:`~signaling.i18n.Catalog` (``staff_console/i18n/<lang>.json``)
and the service names the server sent, so a language switch is one call and a retranslate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from signaling.i18n import Catalog
from signaling.language_packs import language_label
from signaling.protocol.models import JST, CallbackBand
from staff_console import I18N
from staff_console.vocab import REFERRAL_ORG_JA


class Texts:
    def __init__(self, language: str = "ja", service_name: Callable[[str, str], str] | None = None) -> None:
        self.catalog = Catalog(I18N, language, app="console")  # language packs: the residents' languages too
        self._service_name = service_name

    @property
    def language(self) -> str:
        return self.catalog.language

    def set_language(self, language: str) -> None:
        self.catalog.set_language(language)

    def set_service_names(self, fn: Callable[[str, str], str]) -> None:
        self._service_name = fn

    def t(self, key: str, **params: Any) -> str:
        return self.catalog.t(key, **params)

    def has(self, key: str) -> bool:
        return self.catalog.t(key) != key

    # ------------------------------------------------------------ vocabulary
    def service(self, code: str) -> str:
        return self._service_name(code, self.language) if self._service_name is not None and code else code

    def status(self, status: str) -> str:
        return self.t(f"status.{status}")

    def reason(self, reason: str) -> str:
        return self.t(f"reason.{reason}") if reason and self.has(f"reason.{reason}") else reason

    def status_line(self, status: str, reason: str = "") -> str:
        r = self.reason(reason) if status == "away" else ""
        return f"{self.status(status)}（{r}）" if r and self.language == "ja" else (
            f"{self.status(status)} ({r})" if r else self.status(status))

    def needs(self, needs: Iterable[str]) -> str:
        items = [self.t(f"need.{n}") for n in needs]
        return self.t("sep").join(items) if items else self.t("need.none")

    def language_name(self, code: str) -> str:
        """A resident's language: this catalog's name for it, else its language pack's (``_names``)."""
        if self.has(f"lang.{code}"):
            return self.t(f"lang.{code}")
        return language_label(code, self.catalog.wire_language(), self.catalog.packs)

    def priority(self, level: int) -> str:
        return self.t(f"priority.{level}") if self.has(f"priority.{level}") else str(level)

    def category(self, value: str) -> str:
        """A stored category: a known code is translated, free text is shown as typed."""
        key = f"category.{value}"
        return self.t(key) if value and self.has(key) else value

    def referral(self, code: str) -> str:
        return self.t(f"referral.{code}") if self.has(f"referral.{code}") else REFERRAL_ORG_JA.get(code, code)

    def end_reason(self, reason: str, media_error: str | None = None) -> str:
        """Why a call ended; a known media error (e.g. the TURN server refused the credential) says more."""
        key = f"end.{media_error}" if media_error and self.has(f"end.{media_error}") else f"end.{reason}"
        return self.t(key) if self.has(key) else reason

    def band(self, band: CallbackBand) -> str:
        """A callback's time band in Japan time: 12/07（月） 午後 13:00〜17:00."""
        start, end = band.starts_at.astimezone(JST), band.ends_at.astimezone(JST)
        return self.t("callback.band", month=start.month, day=start.day, weekday=self.t(f"weekday.{start.weekday()}"),
                      part=self.t(f"callback.part.{band.part}"), start=f"{start:%H:%M}", end=f"{end:%H:%M}")

    def role(self, role: str) -> str:
        return self.t(f"role.{role}")

    def where(self, branch: str, municipality: str) -> str:
        if branch and municipality:
            return f"{branch}（{municipality}）" if self.language == "ja" else f"{branch} ({municipality})"
        return branch or municipality

    # ------------------------------------------------------------ numbers
    def duration(self, seconds: float) -> str:
        """Clock style, 0:07 / 12:05 / 1:02:03 (tabular, for timers)."""
        s = max(0, int(seconds))
        h, rem = divmod(s, 3600)
        m, sec = divmod(rem, 60)
        return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"

    def waited(self, seconds: float) -> str:
        """Words, for waits: 45秒 / 3分 / 1時間5分."""
        s = max(0, int(seconds))
        if s < 60:
            return self.t("time.seconds", n=s)
        m = s // 60
        if m < 60:
            return self.t("time.minutes", n=m)
        return self.t("time.hours_minutes", h=m // 60, m=m % 60)

    def when(self, value: str | datetime | None) -> str:
        if value is None:
            return ""
        dt = datetime.fromisoformat(value) if isinstance(value, str) else value
        return dt.astimezone().strftime("%Y-%m-%d %H:%M")
