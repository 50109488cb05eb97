"""The window an import kept (``--since``/``--until``), as ``import_report.json`` records it.

An import with ``--since``/``--until`` drops what lies outside: deployments, the incidents on them,
the changes they ship. Scoring a wider window than the import kept then counts a window with holes,
so ``score`` warns (docs/import.md: import everything, score a window). The report is advisory:
one that is missing, unreadable or not an import report gives no window and no warning.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.files import TOML, read_bytes
from sim.metrics.scoring import parse_instant

REPORT_NAME = "import_report.json"


def _instant(value: Any) -> pd.Timestamp | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return parse_instant(value, REPORT_NAME)
    except InputError:
        return None


def imported_window(folder: str | Path) -> tuple[pd.Timestamp | None, pd.Timestamp | None] | None:
    """(since, until) of the import whose logs are in ``folder``; None when it kept everything or is unknown."""
    path = Path(folder) / REPORT_NAME
    if not path.is_file():
        return None
    try:
        report = json.loads(read_bytes(path, TOML, what="import report"))
    except (InputError, ValueError, RecursionError):
        return None
    settings = report.get("settings") if isinstance(report, dict) else None
    if not isinstance(settings, dict):
        return None
    since, until = _instant(settings.get("since")), _instant(settings.get("until"))
    return None if since is None and until is None else (since, until)


def narrower_import_warning(
    changes_file: str | Path, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> str | None:
    """A warning when the logs next to ``changes_file`` were imported with a window ``[start, end)`` exceeds."""
    if start is None or end is None:
        return None
    window = imported_window(Path(changes_file).parent)
    if window is None:
        return None
    since, until = window
    if (since is None or start >= since) and (until is None or end <= until):
        return None
    kept = " ".join(
        f"--{name} {value.isoformat()}"
        for name, value in (("since", since), ("until", until))
        if value is not None
    )
    return (
        f"these logs were imported with {kept} ({REPORT_NAME}), a narrower window than the one scored: "
        f"what lies outside it is missing; import everything and score the window with --start/--end"
    )
