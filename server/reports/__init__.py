"""The introduction-effect report (導入効果): what the remote window did for residents, in figures.

``build_report`` is the one entry point (API, CLI and tests call it). Data are
aggregates only: no resident, note or staff appears in any format.

Exceptions::

    ReportError               bad period or format (HTTP 422)
     ├── UnknownMunicipality  no municipality with that code (HTTP 404)
     └── ReportUnavailable    PDF asked for, but no playwright or Chromium here (HTTP 503)
"""

from server.reports.build import FORMATS, ReportError, ReportUnavailable, UnknownMunicipality, build_report

__all__ = ["FORMATS", "ReportError", "ReportUnavailable", "UnknownMunicipality", "build_report"]
