"""Is the backlog stable? Runaway queues must not be reported as if they were results.

When a team ships fewer changes a week than it makes, the work in progress (changes created
but not yet deployed) grows without bound and every lead time grows with the horizon: the
numbers of a 90-day run then describe the length of the run, not the team. Each replication is
judged on its own records:

1. The work in progress is sampled every hour of the window and averaged per day.
2. Its trend is the slope of a least-squares line through the daily means, with one level per
   day of the week (a weekly release train makes a sawtooth, not a trend).
3. The slope's standard error is autocorrelation-robust (Newey–West, Bartlett weights over
   :data:`HAC_LAG_DAYS` days): a backlog wanders for weeks in a stable team too, so ordinary
   least-squares errors would be far too small.

A replication is **unstable** when its backlog grows by more than :data:`MATERIAL_SHARE` of a
week's arrivals every week *and* that growth is :data:`T_THRESHOLD` standard errors above zero:
big enough to matter and too steady to be noise. The same test runs on the queue of open
incidents: one expert for twenty teams falls behind for good, and every restore time then grows
with the horizon too. Windows shorter than :data:`MIN_DAYS` days are not judged. A run is
unstable when more than half its replications are.

Why these numbers: in the shipped scenarios (90 days, 10 replications each) the stable teams'
backlogs drift by at most 8% of a week's arrivals a week, with t up to 5; the runaways the model
can be pushed into (the baseline capped at 5, 12 or 15 changes per deployment, elite with manual
deploys) grow by 33–80% of a week's arrivals a week with t ≥ 19. The rule sits between the two
with room on both sides (``tests/behaviour/test_stability.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.analysis.results import Stability
from sim.model.records import SimulationRecords

MATERIAL_SHARE = 0.10  # of a week's arrivals, growth per week
T_THRESHOLD = 3.0  # standard errors above zero
HAC_LAG_DAYS = 14  # autocorrelation the standard error allows for
MIN_DAYS = 14  # shorter windows are not judged


@dataclass(frozen=True)
class Backlog:
    """One replication's backlog over a window."""

    growth_per_week: float | None  # changes per week (None: window too short to judge)
    t_value: float | None
    unstable: bool  # the changes or the open incidents run away
    created: int  # changes created in the window
    undeployed: int  # of those, not deployed by the window's end
    incidents_growth_per_week: float | None = None  # open incidents per week
    incidents_unstable: bool = False


def backlog(rec: SimulationRecords, start_hours: float | None = None) -> Backlog:
    """Judge the backlog of one replication over ``[start_hours, window end)`` (default: the whole window)."""
    w0 = rec.window_start if start_hours is None else start_hours
    w1 = rec.window_end
    created_all = rec.created
    first_end = rec.first_deploy_end
    in_window = (created_all >= w0) & (created_all < w1)
    created_n = int(in_window.sum())
    undeployed = int((in_window & ~(first_end < w1)).sum())  # NaN (never deployed) is not < w1
    days = int((w1 - w0) // 24)
    if days < MIN_DAYS:
        return Backlog(None, None, False, created_n, undeployed)
    hours = w0 + np.arange(days * 24) + 0.5
    growth, t_value, changes_run_away = _queue_trend(created_all, first_end, hours, created_n)
    opened = np.frombuffer(rec.incidents.created, dtype=np.float64) if len(rec.incidents) else np.empty(0)
    closed = np.frombuffer(rec.incidents.resolved, dtype=np.float64) if len(rec.incidents) else np.empty(0)
    opened_n = int(((opened >= w0) & (opened < w1)).sum())
    incidents_growth, _, incidents_run_away = _queue_trend(opened, closed, hours, opened_n)
    return Backlog(
        growth,
        t_value,
        changes_run_away or incidents_run_away,
        created_n,
        undeployed,
        incidents_growth,
        incidents_run_away,
    )


def _queue_trend(
    arrived: np.ndarray, left: np.ndarray, hours: np.ndarray, arrivals: int
) -> tuple[float, float, bool]:
    """(growth per week, t value, runs away) of a queue sampled at ``hours`` (``left`` NaN = still in it)."""
    days = len(hours) // 24
    inside = np.searchsorted(np.sort(arrived), hours, "right") - np.searchsorted(
        np.sort(left[~np.isnan(left)]), hours, "right"
    )
    slope, se = _trend(inside.reshape(days, 24).mean(axis=1))
    growth = 7.0 * slope
    t_value = slope / se if se > 0 else (np.inf if slope > 0 else 0.0)
    runs_away = bool(growth > MATERIAL_SHARE * arrivals / (days / 7.0) and t_value > T_THRESHOLD)
    return float(growth), float(t_value), runs_away


def _trend(daily: np.ndarray) -> tuple[float, float]:
    """(slope per day, Newey–West standard error) of a daily series with day-of-week levels.

    The regression on the day and one level per day of the week is solved in closed form
    (Frisch–Waugh): the slope is that of the day on the series, both taken from their weekday's mean.
    Its sandwich standard error is the quadratic form ``v'Wv`` of ``v = residual × d / Σd²`` with
    Bartlett weights ``W``. Only element-wise products and sums are used, no linear-algebra library,
    so the figures do not depend on the processor's BLAS kernels.
    """
    n = len(daily)
    weekday = np.arange(n) % 7
    counts = np.bincount(weekday, minlength=7).astype(float)
    counts[counts == 0] = 1.0
    day = np.arange(n, dtype=float)
    d = day - (np.bincount(weekday, day, minlength=7) / counts)[weekday]
    y = np.asarray(daily, dtype=float)
    y = y - (np.bincount(weekday, y, minlength=7) / counts)[weekday]
    sxx = float(np.sum(d * d))
    if sxx <= 0:
        return 0.0, 0.0
    slope = float(np.sum(d * y)) / sxx
    v = (y - slope * d) * (d / sxx)
    variance = float(np.sum(v * v))
    for lag in range(1, min(HAC_LAG_DAYS, n - 1) + 1):
        variance += 2.0 * (1.0 - lag / (HAC_LAG_DAYS + 1)) * float(np.sum(v[lag:] * v[:-lag]))
    return slope, float(np.sqrt(max(variance, 0.0)))


def summarize_stability(backlogs: Sequence[Backlog]) -> Stability:
    """The ``stability`` JSON of a run: stable unless more than half the replications are unstable."""
    n = len(backlogs)
    unstable_share = sum(b.unstable for b in backlogs) / n if n else 0.0
    created = sum(b.created for b in backlogs)
    growth = [b.growth_per_week for b in backlogs if b.growth_per_week is not None]
    incidents = [b.incidents_growth_per_week for b in backlogs if b.incidents_growth_per_week is not None]
    return {
        "stable": unstable_share <= 0.5,
        "unstable_share": unstable_share,
        "undeployed_share": sum(b.undeployed for b in backlogs) / created if created else None,
        "backlog_growth_per_week": float(np.median(growth)) if growth else None,
        "open_incidents_growth_per_week": float(np.median(incidents)) if incidents else None,
        "incidents_unstable_share": sum(b.incidents_unstable for b in backlogs) / n if n else 0.0,
    }


def stability_sentence(stability: Stability) -> str | None:
    """One line for people when the run is unstable (None when it is stable)."""
    if stability.get("stable", True):
        return None
    share = stability.get("unstable_share") or 0.0
    incident_share = stability.get("incidents_unstable_share") or 0.0
    if incident_share > 0.5:
        growth = stability.get("open_incidents_growth_per_week")
        grows = f"grow by about {growth:.1f} a week" if isinstance(growth, float) else "keep growing"
        return (
            f"Unstable: open incidents {grows} in {incident_share:.0%} of the replications — failures arrive "
            f"faster than the experts can restore them, so restore times grow with the length of the run and "
            f"these numbers describe the horizon, not the team."
        )
    growth = stability.get("backlog_growth_per_week")
    grows = f"grows by about {growth:.0f} changes a week" if isinstance(growth, float) else "keeps growing"
    return (
        f"Unstable: the backlog {grows} in {share:.0%} of the replications — the team makes more changes than "
        f"it ships, so lead time grows with the length of the run and these numbers describe the horizon, "
        f"not the team."
    )
