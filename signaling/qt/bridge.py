"""Bridge controller events (plain Python) to a Qt signal, so views connect with Qt's own mechanism."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from signaling.observer import Emitter


class EventBridge(QObject):
    """Re-emits every controller event as ``event(name, payload)`` on the Qt side."""

    event = Signal(str, object)  # type: ignore[assignment]  # shadows QObject.event by design

    def __init__(self, emitter: Emitter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        emitter.on_any(self._forward)

    def _forward(self, name: str, payload: dict[str, Any]) -> None:
        self.event.emit(name, payload)
