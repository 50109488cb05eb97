"""DORA scoring (docs/scoring.md): one pure function over the three event logs.

:func:`score` returns the ``score`` JSON document of docs/cli.md. Readings of §3 where the
text leaves room (each one pinned by ``tests/unit/test_scoring.py``):

Window
    Default: the UTC calendar days from the earliest to the latest timestamp in the three
    logs, inclusive. "Timestamp" means every timestamp column of the contract —
    ``time_created`` in all three files *and* incidents' ``time_resolved`` — so an incident
    resolved after the last deployment stretches the window to the day it was resolved.
    ``start``/``end`` (date, datetime, ISO string; naive = UTC; end exclusive) replace either
    bound. ``window_days`` = (end − start) in days: an int when whole, else a float.
    Logs without any timestamp and without explicit bounds give ``window_days`` 0.

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

Vectorised throughout: ids are split and dictionary-encoded once with Arrow compute,
first deployments come from ``np.minimum.at`` over int64 nanoseconds; no Python loop runs
over rows (except to join list cells the simulator may pass instead of strings).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.errors import InputError
from sim.metrics import timerange
from sim.metrics.bands import bands_for, check_benchmark
from sim.metrics.logs import ISO_START, REQUIRED_COLUMNS, EventLogs, quoted, to_utc
from sim.metrics.registry import BAND_KEYS, METRIC_KEYS  # noqa: F401  (re-exported)

COUNT_KEYS = ("changes", "deployments", "incidents", "undeployed_changes")

NS_PER_HOUR = 3_600 * 10**9
NS_PER_DAY = 24 * NS_PER_HOUR
_NEVER = np.iinfo(np.int64).max  # "not deployed" sentinel for first-deployment times


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
        raise InputError(f"{what}: {timerange.outside(quoted(value if isinstance(value, str) else str(stamp)))}")
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
# Column extraction: every column becomes a numpy array once


def _ns(values: pd.Series, kind: str, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(int64 UTC nanoseconds, present mask) for one timestamp column."""
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        try:
            values = to_utc(values)
        except (ValueError, TypeError) as exc:
            message = f"{kind}.csv: {column} holds a value that is not an ISO 8601 timestamp ({exc})"
            raise InputError(message) from None
    # tz-aware columns give their UTC instants; naive ones are taken as UTC
    array = values.to_numpy(dtype="datetime64[ns]")
    return array.view("i8"), ~np.isnat(array)


def _require(frame: pd.DataFrame, kind: str) -> None:
    for column in REQUIRED_COLUMNS[kind]:
        if column not in frame.columns:
            raise InputError(f"{kind}.csv: missing required column {column!r}")


def _unplanned(deployments: pd.DataFrame) -> np.ndarray:
    if "unplanned" not in deployments.columns:
        return np.zeros(len(deployments), dtype=bool)
    values = deployments["unplanned"]
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool)
    return values.astype("str").str.strip().str.lower().isin(["true", "1", "1.0"]).to_numpy()


def _text(values: pd.Series) -> pa.Array:
    """A column as an Arrow string array (missing cells as "") for hashing in C++."""
    array = pa.array(values.astype("str"), from_pandas=True, type=pa.large_string())
    return pc.fill_null(array, "")


def _explode_change_ids(change_ids: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """(deployment row of each listed id, the ids) from space-separated or list cells."""
    cells = change_ids.reset_index(drop=True)
    if not isinstance(cells.dtype, pd.StringDtype):  # object cells: str, list, tuple, None
        cells = cells.map(_joined_ids).astype("str")
    lists = pc.utf8_split_whitespace(_text(cells))
    ids = pc.list_flatten(lists)
    rows = pc.list_parent_indices(lists)
    keep = pc.not_equal(ids, "")
    return rows.filter(keep).to_numpy().astype(np.int64), ids.filter(keep)


def _joined_ids(cell: Any) -> str:
    if isinstance(cell, list | tuple | np.ndarray):
        return " ".join(str(item) for item in cell)
    return cell if isinstance(cell, str) else ""


@dataclass(frozen=True)
class _Columns:
    change_id: pa.Array
    change_t: np.ndarray
    deploy_id: pa.Array
    deploy_t: np.ndarray
    unplanned: np.ndarray
    listed_row: np.ndarray  # deployment row of each (deployment, change id) pair
    listed_id: pa.Array
    incident_id: pa.Array
    incident_t: np.ndarray
    resolved_t: np.ndarray
    resolved: np.ndarray
    incident_deploy: pa.Array  # "" where not caused by a change

    def timestamps(self) -> np.ndarray:
        return np.concatenate([self.change_t, self.deploy_t, self.incident_t, self.resolved_t[self.resolved]])


def _columns(changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame) -> _Columns:
    _require(changes, "changes")
    _require(deployments, "deployments")
    _require(incidents, "incidents")
    change_t, change_ok = _ns(changes["time_created"], "changes", "time_created")
    deploy_t, deploy_ok = _ns(deployments["time_created"], "deployments", "time_created")
    incident_t, incident_ok = _ns(incidents["time_created"], "incidents", "time_created")
    for kind, ok in (("changes", change_ok), ("deployments", deploy_ok), ("incidents", incident_ok)):
        if not ok.all():
            raise InputError(f"{kind}.csv: time_created is empty on {int((~ok).sum())} row(s)")
    resolved_t, resolved = _ns(incidents["time_resolved"], "incidents", "time_resolved")
    listed_row, listed_id = _explode_change_ids(deployments["change_ids"])
    return _Columns(
        change_id=_text(changes["change_id"]),
        change_t=change_t,
        deploy_id=_text(deployments["deploy_id"]),
        deploy_t=deploy_t,
        unplanned=_unplanned(deployments),
        listed_row=listed_row,
        listed_id=listed_id,
        incident_id=_text(incidents["incident_id"]),
        incident_t=incident_t,
        resolved_t=resolved_t,
        resolved=resolved,
        incident_deploy=pc.utf8_trim_whitespace(_text(incidents["deploy_id"])),
    )


def _numpy(mask: pa.Array) -> np.ndarray:
    return mask.to_numpy(zero_copy_only=False)


# ---------------------------------------------------------------------------------------------
# The window


def default_window(timestamps: np.ndarray) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """UTC calendar days from the earliest to the latest timestamp, inclusive (None if none)."""
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


def _first_deployments(cols: _Columns) -> tuple[np.ndarray, np.ndarray]:
    """(first deployment time per change, or _NEVER; known-change mask per listed id)."""
    n_changes = len(cols.change_id)
    both = pa.chunked_array([cols.change_id, cols.listed_id], type=pa.large_string())
    encoded = pc.dictionary_encode(both).combine_chunks()
    codes = encoded.indices.to_numpy()
    change_codes, listed_codes = codes[:n_changes], codes[n_changes:]
    first = np.full(len(encoded.dictionary), _NEVER, dtype=np.int64)
    np.minimum.at(first, listed_codes, cols.deploy_t[cols.listed_row])
    known = np.zeros(len(encoded.dictionary), dtype=bool)
    known[change_codes] = True
    return first[change_codes], known[listed_codes]


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
    """Holds the extracted columns and the window while the metrics are computed."""

    def __init__(self, cols: _Columns, window: tuple[pd.Timestamp, pd.Timestamp] | None):
        self.cols = cols
        self.warnings: list[str] = []
        if window is None:
            self.start = self.end = 0
            self.window_days: int | float = 0
            self.warnings.append("the logs hold no timestamps; the window is empty and nothing is scored")
        else:
            self.start, self.end = window[0].value, window[1].value
            self.window_days = window_length_days(*window)
        self.deploy_in = self._inside(cols.deploy_t)
        self.incident_in = self._inside(cols.incident_t)

    def _inside(self, times: np.ndarray) -> np.ndarray:
        return (times >= self.start) & (times < self.end)

    def lead_time(self) -> tuple[float | None, int, int]:
        cols = self.cols
        first, known = _first_deployments(cols)
        self._warn_unknown_changes(known)
        deployed = (first != _NEVER) & self._inside(first)
        created_in = self._inside(cols.change_t)
        undeployed = created_in & ((first == _NEVER) | (first >= self.end))
        lead_ns = first[deployed] - cols.change_t[deployed]
        negative = lead_ns < 0
        if negative.any():
            where = np.flatnonzero(deployed)[negative]
            mask = np.zeros(len(deployed), dtype=bool)
            mask[where] = True
            hours = np.zeros(len(deployed))
            hours[where] = lead_ns[negative] / NS_PER_HOUR
            change, hours_early = _example(cols.change_id, mask, hours)
            self.warnings.append(
                f"changes.csv: {_plural(int(negative.sum()), 'change')} first deployed before being created "
                f"(e.g. {change}, {hours_early:.1f} h); excluded from lead_time_hours"
            )
        median = median_or_none(lead_ns[~negative] / NS_PER_HOUR)
        return median, int(deployed.sum()) + int(undeployed.sum()), int(undeployed.sum())

    def _warn_unknown_changes(self, known: np.ndarray) -> None:
        cols = self.cols
        unknown = ~known & self.deploy_in[cols.listed_row]
        if not unknown.any():
            return
        rows = cols.listed_row[unknown]
        n_deploys = len(np.unique(rows))
        deploys = cols.deploy_id.take(pa.array(rows)).to_pylist()
        deploy, change = min(zip(deploys, _select(cols.listed_id, unknown), strict=True))
        self.warnings.append(
            f"deployments.csv: {_plural(n_deploys, 'deployment')} {'lists' if n_deploys == 1 else 'list'} "
            f"{_plural(int(unknown.sum()), 'change id')} not in changes.csv (e.g. {deploy} lists {change}); "
            f"those ids are ignored"
        )

    def failures(self) -> tuple[float | None, float | None]:
        """(change failure rate, median time to restore in hours)."""
        cols = self.cols
        caused = self.incident_in & _numpy(pc.not_equal(cols.incident_deploy, ""))
        named = cols.incident_deploy.filter(pa.array(caused))
        failed = self.deploy_in & _numpy(pc.is_in(cols.deploy_id, value_set=named))
        unknown = caused & ~_numpy(pc.is_in(cols.incident_deploy, value_set=cols.deploy_id))
        if unknown.any():
            n_unknown = int(unknown.sum())
            incident, deploy = _example(cols.incident_id, unknown, cols.incident_deploy)
            self.warnings.append(
                f"incidents.csv: {_plural(n_unknown, 'incident')} {'names' if n_unknown == 1 else 'name'} "
                f"a deploy_id not in deployments.csv (e.g. {incident} names {deploy})"
            )
        restored = caused & cols.resolved
        restore_ns = np.where(restored, cols.resolved_t - cols.incident_t, 0)
        negative = restored & (restore_ns < 0)
        if negative.any():
            incident, _ = _example(cols.incident_id, negative)
            self.warnings.append(
                f"incidents.csv: {_plural(int(negative.sum()), 'incident')} resolved before being created "
                f"(e.g. {incident}); excluded from time_to_restore_hours"
            )
        n_deploys = int(self.deploy_in.sum())
        restore_hours = restore_ns[restored & ~negative] / NS_PER_HOUR
        return ratio_or_none(int(failed.sum()), n_deploys), median_or_none(restore_hours)

    def result(self, benchmark: str) -> dict[str, Any]:
        n_deploys = int(self.deploy_in.sum())
        lead, n_changes, n_undeployed = self.lead_time()
        cfr, restore = self.failures()
        metrics = {
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


def score(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    start: Any = None,
    end: Any = None,
    benchmark: str | int = "2023",
) -> dict[str, Any]:
    """Score three event logs with the DORA metrics; returns the ``score`` JSON of docs/cli.md.

    See the module docstring for the window, what counts, and each metric. Frames may come
    from :func:`sim.metrics.logs.read_logs` or straight from the simulator (timestamps as
    datetimes or ISO strings, ``change_ids`` as space-separated strings or lists).
    """
    benchmark = check_benchmark(benchmark)
    cols = _columns(changes, deployments, incidents)
    window = resolve_window(cols.timestamps(), start, end)
    return _Scorer(cols, window).result(benchmark)


def score_logs(logs: EventLogs, **kwargs: Any) -> dict[str, Any]:
    """:func:`score` over an :class:`~sim.metrics.logs.EventLogs`."""
    return score(logs.changes, logs.deployments, logs.incidents, **kwargs)
