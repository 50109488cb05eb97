"""Self-contained HTML reports (charts included, readable offline, printable) of a comparison, a plan
and a forecast: the same documents from the command line (``--report FILE.html``) and the app.

Charts are Vega-Lite specs built as plain dicts (:mod:`sim.report.specs`) and drawn to inline SVG
by ``vl-convert`` when the ``report`` extra is installed.
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import InputError
from sim.report.html import compare_report, forecast_report, plan_report

__all__ = ["compare_report", "forecast_report", "plan_report", "write_report"]


def write_report(path: str | Path, document: str) -> Path:
    """Write a report, or a one-line :class:`InputError` saying why it cannot be written."""
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--report {path}: the report is HTML; name the file *.html")
    try:
        target.write_text(document, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--report {path}: cannot write it ({exc.strerror or exc})") from None
    return target
