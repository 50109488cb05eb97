"""The throughput Monte Carlo: the simplest forecast that could work, and the anchor dorasim is judged by.

Forecasting tools for agile teams answer "when will N items be done?" by resampling the team's own
history of daily throughput: each simulated future day draws, with replacement, one of the
window's days and adds the changes released on it; the work ships on the first day by the end of
which the running total reaches N. Nothing is modelled — no release train, no batch, no state —
so the method is only as good as the window is representative, and it carries no parameter
uncertainty beyond the resampling.

A change "released on a day" is a change whose first deployment (the earliest deployment listing
it, over the whole log) falls on that UTC calendar day of the window. Days count from the work's
start: a ship day of 0 is the start day itself, as in :mod:`sim.analysis.forecast`.

Replication ``k`` draws from ``SeedSequence(entropy=seed, spawn_key=(k, THROUGHPUT_STREAM))``, so
the days do not depend on how many replications are asked for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.forecast import summarize_days
from sim.errors import InputError
from sim.metrics.logs import EventLogs
from sim.metrics.scoring import NEVER, LogColumns, columns_from_frames

NS_PER_DAY = 86_400 * 10**9
THROUGHPUT_STREAM = 1_000  # spawn-key stream of the resampling, apart from the model's named streams
MAX_DAYS = 730  # a replication that has not shipped by then is counted as unfinished
DEFAULT_REPS = 1_000


def day_ns(day: dt.date) -> int:
    """00:00 UTC of ``day`` in nanoseconds since the epoch."""
    return int(pd.Timestamp(day, tz="UTC").value)


def daily_released(columns: LogColumns, start: dt.date, end: dt.date) -> np.ndarray:
    """Changes first deployed on each UTC day of ``[start, end)`` (one count per day, zeros included)."""
    days = (end - start).days
    if days < 1:
        raise InputError(
            f"throughput window {start.isoformat()} to {end.isoformat()}: must hold at least one day"
        )
    first = columns.change_first
    lo, hi = day_ns(start), day_ns(end)
    inside = (first != NEVER) & (first >= lo) & (first < hi)
    index = (first[inside] - lo) // NS_PER_DAY
    return np.bincount(index.astype(np.int64), minlength=days)[:days]


def ship_days(
    daily: np.ndarray, changes: int, reps: int, seed: int, max_days: int = MAX_DAYS
) -> list[int | None]:
    """Per replication, the day (0 = the start day) by whose end ``changes`` changes were released (None: not
    within ``max_days``)."""
    if changes < 1:
        raise InputError(f"--changes {changes}: must be >= 1")
    daily = np.asarray(daily, dtype=np.int64)
    out: list[int | None] = []
    if daily.size == 0 or daily.sum() == 0:
        return [None] * reps
    for k in range(reps):
        rng = np.random.default_rng(np.random.SeedSequence(entropy=seed, spawn_key=(k, THROUGHPUT_STREAM)))
        total = np.cumsum(daily[rng.integers(0, daily.size, size=max_days)])
        day = int(np.searchsorted(total, changes, side="left"))
        out.append(day if day < max_days else None)
    return out


def throughput_from_logs(
    logs: EventLogs,
    changes: int,
    start: dt.date,
    *,
    window_start: dt.date | None = None,
    window_end: dt.date | None = None,
    window_days: int = 180,
    reps: int = DEFAULT_REPS,
    seed: int = 0,
    max_days: int = MAX_DAYS,
) -> dict[str, Any]:
    """The throughput Monte Carlo forecast of ``changes`` changes from ``start``, resampling the window's days.

    The window defaults to the ``window_days`` days before ``start``. Returns the ``forecast`` JSON shape
    (docs/cli.md) with ``"scenario": "throughput Monte Carlo"`` and the window it resampled.
    """
    columns = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
    end = window_end or start
    begin = window_start or end - dt.timedelta(days=window_days)
    daily = daily_released(columns, begin, end)
    return throughput_forecast(
        daily, changes, start, reps=reps, seed=seed, max_days=max_days, window=(begin, end)
    )


def throughput_forecast(
    daily: np.ndarray,
    changes: int,
    start: dt.date,
    *,
    reps: int = DEFAULT_REPS,
    seed: int = 0,
    max_days: int = MAX_DAYS,
    window: tuple[dt.date, dt.date] | None = None,
) -> dict[str, Any]:
    """The ``forecast`` JSON shape from a window's daily counts of released changes."""
    if reps < 1:
        raise InputError(f"--reps {reps}: must be >= 1")
    days = ship_days(daily, changes, reps, seed, max_days)
    result = summarize_days(
        days,
        scenario_name="throughput Monte Carlo",
        changes=changes,
        start=start,
        seed=seed,
        max_days=max_days,
    )
    result["method"] = "throughput"
    result["window"] = (
        None
        if window is None
        else {
            "start": window[0].isoformat(),
            "end": window[1].isoformat(),
            "days": (window[1] - window[0]).days,
        }
    )
    result["released_changes_in_window"] = int(np.sum(daily))
    result["release_days_in_window"] = int(np.count_nonzero(daily))
    if not result["release_days_in_window"]:
        result["not_judged"] = (
            "no change was released in the window: the throughput Monte Carlo has nothing to resample"
        )
    return result
