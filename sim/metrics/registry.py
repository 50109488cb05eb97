"""One record per metric: the facts every table, report and chart reads.

A metric's JSON key, its names (long, short and tiny), unit, band key, direction and how its
value is written for people live here and nowhere else. The command line's tables, the HTML
report and the app all take their words from :data:`METRICS`, so they cannot disagree.

Formatting rules (:func:`format_metric`):

- deployment frequency: ``2.1 / day`` at one or more a day, ``1 every 6.5 days`` below;
- durations: ``12 min`` under an hour, ``3.2 h`` under 48 hours, ``4.5 days`` from there;
- shares: ``12.0 %``; a difference of two shares is in percentage points (``+3.1 pts``);
- a missing value (``None`` or NaN): ``—``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

NULL = "—"
Kind = Literal["frequency", "duration", "share"]


@dataclass(frozen=True)
class Metric:
    """A DORA metric as the scorer reports it (``key``) and as people read it."""

    key: str  # JSON key in every result
    label: str  # full name, e.g. in tables and reports
    short: str  # on a card or a chart title
    tiny: str  # in a dense table column
    unit: str  # unit of the JSON value, in words
    kind: Kind  # how values are written
    band_key: str | None  # key in ``bands`` (None: no published band)
    higher_is_better: bool
    log_scale: bool  # values spread over orders of magnitude
    help: str  # one sentence for a tooltip

    def format(self, value: float | None) -> str:
        return format_metric(self.key, value)


METRICS: tuple[Metric, ...] = (
    Metric(
        "deployment_frequency_per_day",
        "Deployment frequency",
        "Deploy frequency",
        "deploys",
        "deployments per day",
        "frequency",
        "deployment_frequency",
        True,
        True,
        "How often the team deploys to production (higher is better).",
    ),
    Metric(
        "lead_time_hours",
        "Change lead time",
        "Lead time",
        "lead time",
        "hours",
        "duration",
        "lead_time",
        False,
        True,
        "Median time from a change being committed to it running in production (lower is better).",
    ),
    Metric(
        "change_failure_rate",
        "Change failure rate",
        "Change failure rate",
        "fail rate",
        "share of deployments",
        "share",
        "change_failure_rate",
        False,
        False,
        "Share of deployments that caused a failure in production (lower is better).",
    ),
    Metric(
        "time_to_restore_hours",
        "Failed deployment recovery time",
        "Time to restore",
        "restore",
        "hours",
        "duration",
        "time_to_restore",
        False,
        True,
        "Median time to restore service after a deployment failed (lower is better).",
    ),
    Metric(
        "rework_rate",
        "Rework rate",
        "Rework rate",
        "rework",
        "share of deployments",
        "share",
        None,
        False,
        False,
        "Share of deployments made to fix production (hotfixes, rollbacks); it has no published band.",
    ),
)
BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
METRIC_KEYS: tuple[str, ...] = tuple(m.key for m in METRICS)
KEY_METRICS: tuple[Metric, ...] = tuple(m for m in METRICS if m.band_key)  # the four keys with bands
BAND_KEYS: tuple[str, ...] = (*(m.band_key for m in KEY_METRICS if m.band_key), "overall")
METRIC_OF_BAND: dict[str, str] = {m.band_key: m.key for m in KEY_METRICS if m.band_key}


def metric(key: str) -> Metric:
    return BY_KEY[key]


# ----------------------------------------------------------------------------------------------
# Writing values for people


def is_missing(value: object) -> bool:
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
    if hours is None or is_missing(hours):
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
    """One value of a metric (by JSON key) for people; ``—`` for null. Other ``*_hours`` and
    ``*_rate``/share keys (stage hours, flow efficiency) are written like durations and shares."""
    if value is None or is_missing(value):
        return NULL
    kind = BY_KEY[key].kind if key in BY_KEY else _kind_of(key)
    if kind == "frequency":
        return format_frequency(value)
    if kind == "duration":
        return format_duration(value)
    if kind == "share":
        return format_rate(value)
    return f"{value:g}"


def _kind_of(key: str) -> Kind | None:
    if key.endswith("_hours"):
        return "duration"
    if key.endswith(("_rate", "_share")) or key == "flow_efficiency":
        return "share"
    return None


def format_change(key: str, diff: float | None) -> str | None:
    """A difference of two values of a metric, signed: ``+1.2 h``, ``−0.4 / day``, ``+3.1 pts``;
    ``±0`` when there is none, ``None`` when either side is missing."""
    if diff is None or is_missing(diff):
        return None
    kind = BY_KEY[key].kind if key in BY_KEY else _kind_of(key)
    if diff == 0:
        return "±0"
    sign = "+" if diff > 0 else "−"
    size = abs(diff)
    if kind == "share":
        return f"{sign}{size * 100:.1f} pts"
    if kind == "frequency":
        return f"{sign}{size:.2g} / day" if size < 1 else f"{sign}{size:.1f} / day"
    return sign + format_metric(key, size)


def better(key: str, a: float, b: float) -> bool:
    """Whether value ``a`` is better than ``b`` for this metric (strictly)."""
    return a > b if BY_KEY[key].higher_is_better else a < b
