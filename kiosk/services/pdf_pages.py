"""The kiosk's loader of the PDFs the specialist shows (:mod:`kiosk.shared_docs`): QtPdf reads them
(:class:`signaling.qt.pdf.PdfPages`; needs the kiosk window's QGuiApplication)."""

from __future__ import annotations

from kiosk.shared_docs import DocumentRefused
from signaling.qt.pdf import PdfPages, PdfUnreadable


def page_count(data: bytes) -> int:
    """The page count, or DocumentRefused("unreadable")."""
    try:
        pdf = PdfPages(data)
    except PdfUnreadable as exc:
        raise DocumentRefused("unreadable", str(exc)) from None
    try:
        return pdf.pages
    finally:
        pdf.close()
