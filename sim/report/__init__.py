"""Self-contained HTML reports (charts included, readable offline, printable) of a comparison, a plan,
a forecast and a backtest: the same documents from the command line (``--report FILE.html``) and the app.

Charts are Vega-Lite specs built as plain dicts (:mod:`sim.report.specs`) and drawn to inline SVG
by ``vl-convert`` when the ``report`` extra is installed.
"""

from __future__ import annotations

import os
from pathlib import Path

from sim.errors import InputError
from sim.files import check_writable, write_text
from sim.report.backtest import backtest_report
from sim.report.compare import compare_report
from sim.report.forecast import forecast_report
from sim.report.plan import plan_report

__all__ = [
    "backtest_report",
    "charts_note",
    "check_report_path",
    "compare_report",
    "forecast_report",
    "plan_report",
    "write_report",
]


def charts_note(path: str | Path) -> str | None:
    """What to tell the terminal when a report will be written without its charts (the ``report`` extra,
    ``vl-convert-python``, is not installed); None when the charts can be drawn."""
    try:
        import vl_convert  # noqa: F401
    except ImportError:
        pass
    else:
        return None
    return (
        f"--report {path}: written with its tables but without charts: vl-convert-python is not installed "
        f"(pip install 'dorasim[report]')"
    )


def check_report_path(path: str | Path) -> Path:
    """Before a run: a one-line :class:`InputError` when the report plainly cannot be written there, so a
    long run's results are not lost to a mistyped name."""
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--report {path}: the report is HTML; name the file *.html")
    if target.is_dir():
        raise InputError(f"--report {path}: is a folder; name the file *.html")
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"--report {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"--report {path}: the folder {folder} cannot be written to")
    check_writable(target, name=f"--report {path}")  # a symbolic link, FIFO or device is refused now
    return target


def write_report(path: str | Path, document: str) -> Path:
    """Write a report, or a one-line :class:`InputError` saying why it cannot be written."""
    target = check_report_path(path)
    write_text(target, document, name=f"--report {path}")  # whole or not at all; never through a link or FIFO
    return target
