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
class LogLabels:
    """The ids behind a :class:`LogColumns`, kept only to name examples in warnings."""

    change_id: pa.Array
    deploy_id: pa.Array
    incident_id: pa.Array
    incident_deploy: pa.Array      # the deploy_id text each incident names ("" = none)
    listed_row: np.ndarray         # deployment row of each (deployment, listed change id) pair
    listed_id: pa.Array            # the listed change id
    listed_known: np.ndarray       # whether that id is in the changes log

    @property
    def unknown_listed_row(self) -> np.ndarray:
        return self.listed_row[~self.listed_known]

    @property
    def unknown_listed_id(self) -> pa.Array:
        return self.listed_id.filter(pa.array(~self.listed_known))


@dataclass(frozen=True)
class LogColumns:
    """The three logs as the scorer reads them: numbers only, one array per column.

    Times are int64 UTC nanoseconds. ``change_first`` is each change's first deployment (the
    earliest deployment listing it, over the whole deployments log), or :data:`NEVER`.
    Deployments carry an integer ``deploy_key`` (equal keys = the same ``deploy_id``); an
    incident's ``incident_deploy`` is the key of the deployment it names, ``NO_DEPLOY`` (-1) when it
    names none, and ``incident_deploy_known`` says whether that deployment is in the log.
    """

    change_t: np.ndarray
    change_first: np.ndarray
    deploy_t: np.ndarray
    deploy_key: np.ndarray
    unplanned: np.ndarray
    incident_t: np.ndarray
    resolved_t: np.ndarray
    resolved: np.ndarray
    incident_deploy: np.ndarray
    incident_deploy_known: np.ndarray
    labels: LogLabels | None = None
    change_team: np.ndarray | None = None     # optional: which team owns each row
    deploy_team: np.ndarray | None = None
    incident_team: np.ndarray | None = None

    def by_team(self, teams: int) -> list[LogColumns]:
        """Every team's rows (teams 0 .. teams − 1), grouping each table once rather than once per team."""
        if self.change_team is None or self.deploy_team is None or self.incident_team is None:
            raise ValueError("these logs carry no team column")
        c = _groups(self.change_team, teams)
        d = _groups(self.deploy_team, teams)
        i = _groups(self.incident_team, teams)
        return [self._rows(c[k], d[k], i[k]) for k in range(teams)]

    def _rows(self, c: np.ndarray, d: np.ndarray, i: np.ndarray) -> LogColumns:
        assert self.change_team is not None and self.deploy_team is not None and self.incident_team is not None
        return LogColumns(
            change_t=self.change_t[c], change_first=self.change_first[c], deploy_t=self.deploy_t[d],
            deploy_key=self.deploy_key[d], unplanned=self.unplanned[d], incident_t=self.incident_t[i],
            resolved_t=self.resolved_t[i], resolved=self.resolved[i], incident_deploy=self.incident_deploy[i],
            incident_deploy_known=self.incident_deploy_known[i],
            change_team=self.change_team[c], deploy_team=self.deploy_team[d], incident_team=self.incident_team[i],
        )

    @property
    def incident_named_deploy(self) -> np.ndarray:
        """Whether each incident names a deployment (known to the log or not)."""
        return self.incident_deploy != NO_DEPLOY

    def window_timestamps(self) -> np.ndarray:
        """The times that set the default window: deployments' and incidents' ``time_created``."""
        return np.concatenate([self.deploy_t, self.incident_t])


NEVER = _NEVER
NO_DEPLOY = -1


def _groups(team: np.ndarray, teams: int) -> list[np.ndarray]:
    """Row indices of each team 0 .. teams − 1, in row order (one stable sort)."""
    order = np.argsort(team, kind="stable")
    bounds = np.searchsorted(team[order], np.arange(teams + 1))
    return [order[bounds[k]:bounds[k + 1]] for k in range(teams)]


def columns_from_frames(changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame) -> LogColumns:
    """The scorer's input from three log frames (ids and timestamps as text or typed)."""
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
    change_id = _text(changes["change_id"])
    first, known = _first_deployments(change_id, listed_id, deploy_t[listed_row])
    deploy_id = _text(deployments["deploy_id"])
    incident_deploy = pc.utf8_trim_whitespace(_text(incidents["deploy_id"]))
    deploy_key, named_key = _shared_codes(deploy_id, incident_deploy)
    names_one = _numpy(pc.not_equal(incident_deploy, ""))
    labels = LogLabels(change_id, deploy_id, _text(incidents["incident_id"]), incident_deploy,
                       listed_row, listed_id, known)
    return LogColumns(
        change_t=change_t, change_first=first, deploy_t=deploy_t, deploy_key=deploy_key,
        unplanned=_unplanned(deployments), incident_t=incident_t, resolved_t=resolved_t, resolved=resolved,
        incident_deploy=np.where(names_one, named_key, NO_DEPLOY),
        incident_deploy_known=names_one & np.isin(named_key, deploy_key), labels=labels,
    )


def _shared_codes(deploy_id: pa.Array, named: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of the deployments' ids and of the ids incidents name, from one dictionary."""
    both = pa.chunked_array([deploy_id, named], type=pa.large_string())
    codes = pc.dictionary_encode(both).combine_chunks().indices.to_numpy().astype(np.int64)
    return codes[:len(deploy_id)], codes[len(deploy_id):]


def _numpy(mask: pa.Array) -> np.ndarray:
    return mask.to_numpy(zero_copy_only=False)


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


def _first_deployments(change_id: pa.Array, listed_id: pa.Array,
                       listed_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first deployment time per change, or NEVER; known-change mask per listed id)."""
    n_changes = len(change_id)
    both = pa.chunked_array([change_id, listed_id], type=pa.large_string())
    encoded = pc.dictionary_encode(both).combine_chunks()
    codes = encoded.indices.to_numpy()
    change_codes, listed_codes = codes[:n_changes], codes[n_changes:]
    first = np.full(len(encoded.dictionary), _NEVER, dtype=np.int64)
    np.minimum.at(first, listed_codes, listed_t)
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
    """Holds the columns and the window while the metrics are computed."""

    def __init__(self, cols: LogColumns, window: tuple[pd.Timestamp, pd.Timestamp] | None):
        self.cols = cols
        self.labels = cols.labels
        self.warnings: list[str] = []
        if window is None:
            self.start = self.end = 0
            self.window_days: int | float = 0
            self.warnings.append("the logs hold no deployments or incidents to set the window; nothing is scored "
                                 "(set it with --start/--end)")
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
            named = self.labels.incident_deploy if self.labels is not None else pa.array(
                [str(k) for k in cols.incident_deploy], type=pa.large_string())
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


def score_columns(cols: LogColumns, *, start: Any = None, end: Any = None,
                  benchmark: str | int = "2023") -> dict[str, Any]:
    """Score logs already in the scorer's numeric form (see :func:`score` for the rules)."""
    benchmark = check_benchmark(benchmark)
    window = resolve_window(cols.window_timestamps(), start, end)
    scorer = _Scorer(cols, window)
    if window is not None and (start is None or end is None):
        first, last = window[0].date(), (window[1] - pd.Timedelta(days=1)).date()
        scorer.warnings.insert(0, f"window inferred from the deployments and incidents: {first} to {last} "
                                  f"({scorer.window_days} days, inclusive); set it with --start/--end")
    return scorer.result(benchmark)


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
    return score_columns(columns_from_frames(changes, deployments, incidents), start=start, end=end,
                         benchmark=benchmark)


def score_logs(logs: EventLogs, **kwargs: Any) -> dict[str, Any]:
    """:func:`score` over an :class:`~sim.metrics.logs.EventLogs`."""
    return score(logs.changes, logs.deployments, logs.incidents, **kwargs)
