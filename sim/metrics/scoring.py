"""DORA scoring (docs/scoring.md): one pure function over the three event logs.

:func:`score` returns the ``score`` JSON document of docs/cli.md. Readings of §3 where the
text leaves room (each one pinned by ``tests/unit/test_scoring.py``):

Window
    Default: the UTC calendar days from the earliest to the latest ``time_created`` of the
    *deployments and incidents*, inclusive. Change creation times and resolution times never
    widen it: an old commit first shipped in the window, or an incident resolved weeks later,
    must not change deployment frequency. Whenever the window is inferred, ``warnings`` says so
    with its dates. ``start``/``end`` (date, datetime, ISO string; naive = UTC; end exclusive)
    replace either bound. ``window_days`` = (end − start) in days: an int when whole, else a
    float. Logs without deployments or incidents and without explicit bounds give
    ``window_days`` 0.

What counts ("in the window" always means ``start <= t < end``)
    - deployments: ``time_created`` in the window (``counts.deployments``);
    - incidents: ``time_created`` in the window (``counts.incidents``, all of them, with or
      without a ``deploy_id``);
    - deployed changes: those whose *first* deployment — the earliest deployment listing
      the change over the whole deployments file, not only the windowed part — is in the
      window. A change first shipped before ``start`` and shipped again inside the window
      does not count;
    - ``undeployed_changes``: changes created in the window that no deployment listed by
      the window's end (never listed at all, or first listed at or after ``end``). This
      makes scoring a window of a long log equal to scoring the log cut off at ``end``;
    - ``counts.changes`` = deployed changes + undeployed changes as defined above.

Metrics
    - ``deployment_frequency_per_day`` = windowed deployments / ``window_days``;
    - ``lead_time_hours``: median over the counted deployed changes of (first deployment −
      ``time_created``); a negative value is excluded and reported in ``warnings``;
    - ``change_failure_rate``: windowed deployments whose ``deploy_id`` is named by at
      least one *windowed* incident / windowed deployments (an incident created after
      ``end`` does not fail a deployment inside the window: §3 counts only incidents
      created inside the window);
    - ``time_to_restore_hours``: median of ``time_resolved − time_created`` over windowed
      incidents that are resolved (at any time) and have a non-empty ``deploy_id`` — also
      when that id is not in the deployments file (reported in ``warnings``);
    - ``rework_rate`` = windowed deployments with ``unplanned`` true / windowed deployments.

    Medians of an even count are the mean of the two middle values; an empty set or an
    empty denominator gives ``None`` (JSON ``null``).

Warnings (deterministic order, one line per kind, examples chosen by smallest id):
deployments in the window listing change ids that are not in the changes file, windowed
incidents naming a deployment that is not in the deployments file, negative lead times,
negative restore times, and a window with no timestamps at all.

One input, in one form. The scorer reads a :class:`LogColumns`: numbers only — int64 UTC
nanoseconds, each change's first deployment, deployment and incident keys as integers —
which both the CSV reader (:func:`columns_from_frames`, strings only at this edge) and the
simulator (:func:`sim.model.records.to_columns`, no strings at all) produce. Ids survive only
in the optional :class:`LogLabels`, to name examples in warnings.

Vectorised throughout: ids are split and dictionary-encoded once with Arrow compute, first
deployments come from ``np.minimum.at`` over int64 nanoseconds; no Python loop runs over rows
(except to join list cells a caller may pass instead of strings).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, TypedDict

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.errors import InputError
from sim.metrics import timerange
from sim.metrics.bands import bands_for, check_benchmark
from sim.metrics.columns import (  # noqa: F401  (re-exported: the scorer's input)
    NEVER,
    NO_DEPLOY,
    LogColumns,
    LogLabels,
    columns_from_frames,
)
from sim.metrics.logs import ISO_START, EventLogs, quoted
from sim.metrics.registry import BAND_KEYS, METRIC_KEYS  # noqa: F401  (re-exported)

COUNT_KEYS = ("changes", "deployments", "incidents", "undeployed_changes")


class ScoreCounts(TypedDict):
    """What the window counted (see the module docstring for what counts)."""

    changes: int
    deployments: int
    incidents: int
    undeployed_changes: int


class ScoreResult(TypedDict):
    """The ``score`` JSON document of docs/cli.md."""

    window_days: int | float
    metrics: dict[str, float | None]  # by metric key (sim.metrics.registry), None = nothing to measure
    bands: dict[str, str | None]  # by band key, and "overall" (None = not measured)
    counts: ScoreCounts
    warnings: list[str]


NS_PER_HOUR = 3_600 * 10**9
NS_PER_DAY = 24 * NS_PER_HOUR


# ---------------------------------------------------------------------------------------------
# Small helpers the simulator and the CLI share


def parse_instant(value: Any, what: str = "time") -> pd.Timestamp:
    """A date, datetime, numpy/pandas time or ISO 8601 string as a UTC ``Timestamp`` (ns).

    A bare date means its midnight UTC; a naive time is taken as UTC.
    Raises :class:`InputError` naming ``what`` when the value is not a time.
    """
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str) and not re.match(ISO_START, value.strip()):
        raise InputError(f"{what}: {quoted(str(value))} is not an ISO 8601 date or time")
    try:
        stamp = pd.Timestamp(value.strip() if isinstance(value, str) else value)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{what}: {quoted(str(value))} is not an ISO 8601 date or time") from None
    if stamp is pd.NaT:
        raise InputError(f"{what}: {quoted(str(value))} is not an ISO 8601 date or time")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if not timerange.in_range(stamp):
        raise InputError(
            f"{what}: {timerange.outside(quoted(value if isinstance(value, str) else str(stamp)))}"
        )
    return stamp.as_unit("ns")


def median_or_none(values: np.ndarray) -> float | None:
    """Median as a plain float (mean of the two middle values for an even count); None if empty."""
    return float(np.median(values)) if len(values) else None


def ratio_or_none(numerator: int, denominator: int | float) -> float | None:
    return float(numerator / denominator) if denominator else None


def window_length_days(start: pd.Timestamp, end: pd.Timestamp) -> int | float:
    """``end − start`` in days: an int when whole, a float otherwise."""
    delta = end.value - start.value
    return delta // NS_PER_DAY if delta % NS_PER_DAY == 0 else delta / NS_PER_DAY


# ---------------------------------------------------------------------------------------------
# The window


def default_window(timestamps: np.ndarray) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """UTC calendar days from the earliest to the latest of ``timestamps``, inclusive (None if none)."""
    if len(timestamps) == 0:
        return None
    first_day = int(timestamps.min()) // NS_PER_DAY * NS_PER_DAY
    last_day = int(timestamps.max()) // NS_PER_DAY * NS_PER_DAY
    return pd.Timestamp(first_day, tz="UTC"), pd.Timestamp(last_day + NS_PER_DAY, tz="UTC")


def resolve_window(
    timestamps: np.ndarray, start: Any = None, end: Any = None
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """Explicit bounds where given, the default calendar window for the others."""
    start_ts = parse_instant(start, "start") if start is not None else None
    end_ts = parse_instant(end, "end") if end is not None else None
    if start_ts is None or end_ts is None:
        default = default_window(timestamps)
        if default is None:
            return None
        start_ts = default[0] if start_ts is None else start_ts
        end_ts = default[1] if end_ts is None else end_ts
    if end_ts <= start_ts:
        raise InputError(f"window: end {end_ts.isoformat()} must be after start {start_ts.isoformat()}")
    return start_ts, end_ts


# ---------------------------------------------------------------------------------------------
# Metrics


def _example(ids: pa.Array, mask: np.ndarray, detail: Any = None) -> tuple[str, Any]:
    """The masked row with the smallest (id, detail), so examples do not depend on row order."""
    details = _select(detail, mask) if detail is not None else [None] * int(mask.sum())
    return min(zip(_select(ids, mask), details, strict=True))


def _select(values: Any, mask: np.ndarray) -> list:
    if isinstance(values, pa.Array):
        return values.filter(pa.array(mask)).to_pylist()
    return list(np.asarray(values)[mask])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class _Scorer:
    """Holds the columns and the window while the metrics are computed."""

    def __init__(self, cols: LogColumns, window: tuple[pd.Timestamp, pd.Timestamp] | None):
        self.cols = cols
        self.labels = cols.labels
        self.warnings: list[str] = []
        if window is None:
            self.start = self.end = 0
            self.window_days: int | float = 0
            self.warnings.append(
                "the logs hold no deployments or incidents to set the window; nothing is scored "
                "(set it with --start/--end)"
            )
        else:
            self.start, self.end = window[0].value, window[1].value
            self.window_days = window_length_days(*window)
        self.deploy_in = self._inside(cols.deploy_t)
        self.incident_in = self._inside(cols.incident_t)

    def _inside(self, times: np.ndarray) -> np.ndarray:
        return (times >= self.start) & (times < self.end)

    def _ids(self, kind: str, n: int) -> pa.Array:
        """Ids of one kind of row for examples in warnings (row numbers when the logs carry no ids)."""
        if self.labels is not None:
            return getattr(self.labels, kind)
        return pa.array([f"row {i + 1}" for i in range(n)], type=pa.large_string())

    def lead_time(self) -> tuple[float | None, int, int]:
        cols = self.cols
        first = cols.change_first
        self._warn_unknown_changes()
        deployed = (first != NEVER) & self._inside(first)
        created_in = self._inside(cols.change_t)
        undeployed = created_in & ((first == NEVER) | (first >= self.end))
        lead_ns = first[deployed] - cols.change_t[deployed]
        negative = lead_ns < 0
        if negative.any():
            where = np.flatnonzero(deployed)[negative]
            mask = np.zeros(len(deployed), dtype=bool)
            mask[where] = True
            hours = np.zeros(len(deployed))
            hours[where] = lead_ns[negative] / NS_PER_HOUR
            change, hours_early = _example(self._ids("change_id", len(deployed)), mask, hours)
            self.warnings.append(
                f"changes.csv: {_plural(int(negative.sum()), 'change')} first deployed before being created "
                f"(e.g. {change}, {hours_early:.1f} h); excluded from lead_time_hours"
            )
        median = median_or_none(lead_ns[~negative] / NS_PER_HOUR)
        return median, int(deployed.sum()) + int(undeployed.sum()), int(undeployed.sum())

    def _warn_unknown_changes(self) -> None:
        labels = self.labels
        if labels is None or len(labels.unknown_listed_row) == 0:
            return
        unknown = self.deploy_in[labels.unknown_listed_row]
        if not unknown.any():
            return
        rows = labels.unknown_listed_row[unknown]
        n_deploys = len(np.unique(rows))
        deploys = labels.deploy_id.take(pa.array(rows)).to_pylist()
        deploy, change = min(zip(deploys, _select(labels.unknown_listed_id, unknown), strict=True))
        self.warnings.append(
            f"deployments.csv: {_plural(n_deploys, 'deployment')} {'lists' if n_deploys == 1 else 'list'} "
            f"{_plural(int(unknown.sum()), 'change id')} not in changes.csv (e.g. {deploy} lists {change}); "
            f"those ids are ignored"
        )

    def failures(self) -> tuple[float | None, float | None]:
        """(change failure rate, median time to restore in hours)."""
        cols = self.cols
        caused = self.incident_in & (cols.incident_deploy != NO_DEPLOY)
        failed = self.deploy_in & np.isin(cols.deploy_key, cols.incident_deploy[caused])
        unknown = caused & ~cols.incident_deploy_known
        if unknown.any():
            n_unknown = int(unknown.sum())
            named = (
                self.labels.incident_deploy
                if self.labels is not None
                else pa.array([str(k) for k in cols.incident_deploy], type=pa.large_string())
            )
            incident, deploy = _example(self._ids("incident_id", len(unknown)), unknown, named)
            self.warnings.append(
                f"incidents.csv: {_plural(n_unknown, 'incident')} {'names' if n_unknown == 1 else 'name'} "
                f"a deploy_id not in deployments.csv (e.g. {incident} names {deploy})"
            )
        restored = caused & cols.resolved
        restore_ns = np.where(restored, cols.resolved_t - cols.incident_t, 0)
        negative = restored & (restore_ns < 0)
        if negative.any():
            incident, _ = _example(self._ids("incident_id", len(negative)), negative)
            self.warnings.append(
                f"incidents.csv: {_plural(int(negative.sum()), 'incident')} resolved before being created "
                f"(e.g. {incident}); excluded from time_to_restore_hours"
            )
        n_deploys = int(self.deploy_in.sum())
        restore_hours = restore_ns[restored & ~negative] / NS_PER_HOUR
        return ratio_or_none(int(failed.sum()), n_deploys), median_or_none(restore_hours)

    def result(self, benchmark: str) -> ScoreResult:
        n_deploys = int(self.deploy_in.sum())
        lead, n_changes, n_undeployed = self.lead_time()
        cfr, restore = self.failures()
        metrics: dict[str, float | None] = {
            "deployment_frequency_per_day": ratio_or_none(n_deploys, self.window_days),
            "lead_time_hours": lead,
            "change_failure_rate": cfr,
            "time_to_restore_hours": restore,
            "rework_rate": ratio_or_none(int((self.cols.unplanned & self.deploy_in).sum()), n_deploys),
        }
        return {
            "window_days": self.window_days,
            "metrics": metrics,
            "bands": bands_for(metrics, benchmark),
            "counts": {
                "changes": n_changes,
                "deployments": n_deploys,
                "incidents": int(self.incident_in.sum()),
                "undeployed_changes": n_undeployed,
            },
            "warnings": self.warnings,
        }


def score_columns(
    cols: LogColumns, *, start: Any = None, end: Any = None, benchmark: str | int = "2023"
) -> ScoreResult:
    """Score logs already in the scorer's numeric form (see :func:`score` for the rules)."""
    benchmark = check_benchmark(benchmark)
    window = resolve_window(cols.window_timestamps(), start, end)
    scorer = _Scorer(cols, window)
    if window is not None and (start is None or end is None):
        first, last = window[0].date(), (window[1] - pd.Timedelta(days=1)).date()
        scorer.warnings.insert(
            0,
            f"window inferred from the deployments and incidents: {first} to {last} "
            f"({scorer.window_days} days, inclusive); set it with --start/--end",
        )
    return scorer.result(benchmark)


def score(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    benchmark: str | int = "2023",
) -> ScoreResult:
    """Score three event logs with the DORA metrics; returns the ``score`` JSON of docs/cli.md.

    See the module docstring for the window, what counts, and each metric. Frames may come
    from :func:`sim.metrics.logs.read_logs` or straight from the simulator (timestamps as
    datetimes or ISO strings, ``change_ids`` as space-separated strings or lists).
    """
    benchmark = check_benchmark(benchmark)
    return score_columns(
        columns_from_frames(changes, deployments, incidents), start=start, end=end, benchmark=benchmark
    )


def score_logs(logs: EventLogs, **kwargs: Any) -> ScoreResult:
    """:func:`score` over an :class:`~sim.metrics.logs.EventLogs`."""
    return score(logs.changes, logs.deployments, logs.incidents, **kwargs)
