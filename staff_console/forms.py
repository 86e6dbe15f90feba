"""The specialist's side of 書かない窓口 (issue 11 item 4): fill a form of the call's service during the call, ask the
resident to confirm it on the kiosk, follow the answer, correct and send again, and print the confirmed form.

No widgets, no sockets of its own: the :class:`~staff_console.controller.StaffController` owns one desk and hands
it the server's messages. The forms come from the server (``form.list``: the definitions of the call's service);
values are checked here with the server's own rules (:func:`signaling.protocol.forms.check_values`) so problems
show beside the fields before anything is sent, and the server checks again.

What is printed or saved is what the server stored: the confirmed record is read back over REST (the read is
audited) and rendered by :attr:`FormDesk.render_pdf` (the window sets the Qt renderer,
:mod:`staff_console.services.form_pdf`); printing at the branch goes through :attr:`FormDesk.print_at_branch`
(the controller's, when the branch-printing path is there).

Events (through the controller's emitter): ``forms`` (``forms``: the definitions, ``session_id``), ``form``
(``entry``: a :class:`FormEntry` that changed), ``form_pdf`` (``form_code``, ``state``: ``sending``, ``printing``,
``printed``, ``saved``, ``error`` with ``code``: the kiosk's ``paper_out``, ``no_printer``, ``failed``, or why it
could not be made or sent). How a print goes is the printing path's ``print`` events, which :meth:`FormDesk.on_print`
follows for the prints it asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from signaling.protocol.forms import FieldProblem, FormDef, FormValue, FormValuesInvalid, check_values
from signaling.protocol.messages import FormList, FormSend, FormState, ServerMessage
from signaling.protocol.replies import FormDefs, FormSent, Reply
from staff_console.services.server_api import ApiError, StaffApi

PdfRenderer = Callable[[dict[str, Any], str], bytes]  # (the stored record, language) -> PDF bytes
Printer = Callable[[bytes, str], Awaitable[int | None]]  # (PDF bytes, title) -> the print's request id, or None
PRINT_OUTCOME = {"printing": "printing", "done": "printed"}  # the kiosk's print states; the others are errors


@dataclass
class FormEntry:
    """One form of the call: the draft, and where the resident's confirmation stands. ``state``: ``draft``
    (not sent), ``invalid`` (``problems`` per field), ``sending``, ``waiting`` (on the kiosk), ``confirmed``,
    ``change_requested`` (``changes``: the fields the resident marked, ``reason``), ``failed`` (not sent)."""

    form: FormDef
    values: dict[str, FormValue] = field(default_factory=dict)
    state: str = "draft"
    problems: dict[str, FieldProblem] = field(default_factory=dict)
    confirmation_id: int | None = None
    revision: int = 0
    content_hash: str = ""
    sent_values: dict[str, FormValue] = field(default_factory=dict)
    changes: list[str] = field(default_factory=list)
    reason: str | None = None
    answered_at: datetime | None = None
    kiosk_id: int | None = None

    @property
    def edited(self) -> bool:
        """Changed since it was sent: what the kiosk shows is no longer what is typed here."""
        return self.confirmation_id is not None and self.values != self.sent_values


class FormDesk:
    def __init__(self, request: Callable[[Any], Awaitable[Reply | None]], api: StaffApi,
                 emit: Callable[[str, dict[str, Any]], None]) -> None:
        self._request = request
        self.api = api
        self._emit = emit
        self.session_id: int | None = None
        self.forms: list[FormDef] = []
        self.entries: dict[str, FormEntry] = {}
        self.render_pdf: PdfRenderer | None = None
        self.print_at_branch: Printer | None = None
        self.prints: dict[int, str] = {}  # print request id -> form code
        self.language = "ja"

    async def start(self, session_id: int, language: str = "ja") -> list[FormDef]:
        """A call began (I am its specialist): the forms of its service."""
        self.session_id, self.language, self.entries, self.forms = session_id, language, {}, []
        reply = await self._request(FormList(session_id=session_id))
        self.forms = list(reply.forms) if isinstance(reply, FormDefs) else []
        for f in self.forms:
            self.entries[f.code] = FormEntry(f)
        self._emit("forms", {"forms": list(self.forms), "session_id": session_id})
        return self.forms

    def forget(self) -> None:
        """The wrap-up is done (or the call was left): the drafts go; what was sent is on the server."""
        self.session_id, self.forms, self.entries = None, [], {}
        self._emit("forms", {"forms": [], "session_id": None})

    def set_values(self, form_code: str, values: dict[str, FormValue]) -> FormEntry | None:
        """What is typed in the panel (kept here, so it survives switching views)."""
        entry = self.entries.get(form_code)
        if entry is None:
            return None
        entry.values = {k: v for k, v in values.items() if v not in ("", [], None)}
        return entry

    async def send(self, form_code: str, values: dict[str, FormValue] | None = None) -> bool:
        """「確認をお願いする」: check, then show it on the resident's kiosk (again after a change request)."""
        entry = self.entries.get(form_code)
        if entry is None or self.session_id is None:
            return False
        if values is not None:
            self.set_values(form_code, values)
        try:
            check_values(entry.form, entry.values)
        except FormValuesInvalid as exc:
            entry.problems, entry.state = exc.problems, "invalid"
            self._changed(entry)
            return False
        entry.problems, entry.state = {}, "sending"
        self._changed(entry)
        sent_values = dict(entry.values)
        reply = await self._request(FormSend(session_id=self.session_id, form_code=form_code, values=sent_values))
        if not isinstance(reply, FormSent):
            entry.state = "failed"
            self._changed(entry)
            return False
        entry.confirmation_id, entry.revision, entry.content_hash = reply.confirmation_id, reply.revision, \
            reply.content_hash
        entry.sent_values, entry.state, entry.changes, entry.reason = sent_values, "waiting", [], None
        entry.answered_at = entry.kiosk_id = None
        self._changed(entry)
        return True

    def on_message(self, msg: ServerMessage) -> bool:
        if not isinstance(msg, FormState):
            return False
        entry = self.entries.get(msg.form_code)
        if entry is None or msg.session_id != self.session_id or msg.revision != entry.revision:
            return True  # an answer to an older revision: the newer one is on the kiosk
        entry.state, entry.changes, entry.reason = msg.state, list(msg.changes), msg.reason
        entry.answered_at, entry.kiosk_id = msg.at, msg.kiosk_id
        self._changed(entry)
        return True

    async def record(self, form_code: str) -> dict[str, Any] | None:
        """The confirmed form as the server keeps it (content, hash, time, kiosk)."""
        entry = self.entries.get(form_code)
        if entry is None or entry.state != "confirmed" or entry.confirmation_id is None or self.session_id is None:
            return None
        try:
            return await self.api.confirmed_form(self.session_id, entry.confirmation_id)
        except (ApiError, OSError) as exc:
            self._emit("form_pdf", {"form_code": form_code, "state": "error", "code": "unreadable",
                                    "message": str(exc)})
            return None

    async def pdf(self, form_code: str) -> bytes | None:
        """The confirmed form as an A4 PDF (from the stored record)."""
        if self.render_pdf is None:
            self._emit("form_pdf", {"form_code": form_code, "state": "error", "code": "no_renderer"})
            return None
        record = await self.record(form_code)
        if record is None:
            return None
        if record.get("state") != "confirmed":
            self._emit("form_pdf", {"form_code": form_code, "state": "error", "code": "not_confirmed"})
            return None
        return self.render_pdf(record, self.language)

    async def save_pdf(self, form_code: str, path: str) -> bool:
        data = await self.pdf(form_code)
        if data is None:
            return False
        try:
            await asyncio.to_thread(Path(path).write_bytes, data)
        except OSError as exc:
            self._emit("form_pdf", {"form_code": form_code, "state": "error", "code": "unwritable",
                                    "message": str(exc)})
            return False
        self._emit("form_pdf", {"form_code": form_code, "state": "saved", "path": path})
        return True

    async def print_confirmed(self, form_code: str) -> bool:
        """「支所で印刷」: the confirmed form on the branch's printer, beside the resident."""
        if self.print_at_branch is None:
            self._emit("form_pdf", {"form_code": form_code, "state": "error", "code": "no_printer"})
            return False
        data = await self.pdf(form_code)
        entry = self.entries.get(form_code)
        if data is None or entry is None:
            return False
        title = entry.form.title_en if self.language == "en" else entry.form.title_ja
        request_id = await self.print_at_branch(data, title)
        if request_id is None:
            self._emit("form_pdf", {"form_code": form_code, "state": "error", "code": "failed"})
            return False
        self.prints[request_id] = form_code
        self._emit("form_pdf", {"form_code": form_code, "state": "sending", "request_id": request_id})
        return True

    def on_print(self, data: dict[str, Any]) -> None:
        """A ``print`` event of the printing path: how a form this desk sent to print is going."""
        form_code = self.prints.get(data.get("request_id") or -1)
        state = str(data.get("state", ""))
        if form_code is None or state == "sending":
            return
        if state in PRINT_OUTCOME:
            self._emit("form_pdf", {"form_code": form_code, "state": PRINT_OUTCOME[state]})
        else:
            self._emit("form_pdf", {"form_code": form_code, "state": "error", "code": state or "failed"})
        if state != "printing":
            self.prints.pop(data.get("request_id") or -1, None)

    def _changed(self, entry: FormEntry) -> None:
        self._emit("form", {"entry": entry})
