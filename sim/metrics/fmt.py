"""Human formatting shared by every table view (CLI tables; plain strings work anywhere)."""

from __future__ import annotations

import math
from typing import Any

from rich.table import Table
from rich.text import Text

NULL = "—"
METRIC_LABELS = {
    "deployment_frequency_per_day": "Deployment frequency",
    "lead_time_hours": "Lead time for changes",
    "change_failure_rate": "Change failure rate",
    "time_to_restore_hours": "Failed-deployment recovery time",
    "rework_rate": "Rework rate (unplanned deployments)",
}
METRIC_BANDS = {
    "deployment_frequency_per_day": "deployment_frequency",
    "lead_time_hours": "lead_time",
    "change_failure_rate": "change_failure_rate",
    "time_to_restore_hours": "time_to_restore",
}
SHARE_KEYS = {"flow_efficiency"}
BAND_STYLES = {"elite": "bold green", "high": "green", "medium": "yellow", "low": "red"}


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_frequency(per_day: float) -> str:
    """``2.1 / day`` at one or more a day, ``1 every 6.5 days`` below; ``0 / day`` at zero."""
    if per_day <= 0:
        return "0 / day"
    if per_day >= 1:
        return f"{per_day:.1f} / day"
    return f"1 every {1 / per_day:.1f} days"


def format_duration(hours: float | None) -> str:
    """``12 min`` under an hour, ``3.2 h`` under 48 hours, ``4.5 days`` from there; ``—`` for null."""
    if _missing(hours):
        return NULL
    if hours < 0:
        return "-" + format_duration(-hours)
    if hours < 1:
        return f"{hours * 60:.0f} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


def format_rate(share: float) -> str:
    """A share in [0, 1] as a percentage: ``12.0 %``."""
    return f"{share * 100:.1f} %"


def format_metric(key: str, value: float | None) -> str:
    """One metric value (keyed by its JSON key) for people; ``—`` for null."""
    if _missing(value):
        return NULL
    if key == "deployment_frequency_per_day":
        return format_frequency(value)
    if key.endswith("_hours"):
        return format_duration(value)
    if key.endswith("_rate") or key in SHARE_KEYS:
        return format_rate(value)
    return f"{value:g}"


def band_text(band: str | None) -> Text:
    """A band coloured by level (``str()`` of it is the plain word); ``—`` for null."""
    if band is None:
        return Text(NULL, style="dim")
    return Text(band, style=BAND_STYLES.get(band, ""))


def score_table(result: dict[str, Any], title: str | None = None) -> Table:
    """The ``score`` JSON of DESIGN §7 as a table: metric, value, band, then overall."""
    counts = result["counts"]
    caption = (
        f"window {result['window_days']} days · {counts['deployments']} deployments · "
        f"{counts['changes']} changes ({counts['undeployed_changes']} undeployed) · "
        f"{counts['incidents']} incidents"
    )
    table = Table(title=title, caption=caption)
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    table.add_column("Band")
    for key, label in METRIC_LABELS.items():
        band = result["bands"].get(METRIC_BANDS[key]) if key in METRIC_BANDS else None
        band_cell = band_text(band) if key in METRIC_BANDS else Text("no published band", style="dim")
        table.add_row(label, format_metric(key, result["metrics"].get(key)), band_cell)
    table.add_section()
    table.add_row(Text("Overall", style="bold"), "", band_text(result["bands"].get("overall")))
    return table
