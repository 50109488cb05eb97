"""What one replication produced, and how it becomes the event logs of docs/logs.md.

The model writes four tables while it runs, one row per change, merge unit, deployment and
incident. Each table is a set of typed columns (``array.array``: eight bytes or fewer a value,
appended and read as fast as a list) that become NumPy arrays when the run ends. Rows refer to
each other by index, and ``-1`` (``NONE``) means "none":

- :class:`ChangeTable` — when a change was created, by whom, its defect draws, its merge unit,
  and when it was first ready, first deployed (start and end);
- :class:`UnitTable` — a merge unit (a long-lived branch's changes, or one change on trunk): when it
  started and merged, and the hours it spent resolving conflicts, queueing for CI, running the
  suite and fixing what the suite caught; its changes are ``members[first : first + count]``;
- :class:`DeploymentTable` — start, end, planned or not, manual or automated, and the changes it
  shipped (``members[first : first + count]``);
- :class:`IncidentTable` — the deployment that caused it, when it began and was resolved, and how.

:func:`to_logs` turns them into the three logs a real team would have (restricted to what the
scored window can see); :func:`stage_totals` says where each change's lead time went.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from sim.metrics.scoring import NEVER, LogColumns
from sim.model.calendar import hours_to_ns
from sim.model.scenario import Scenario
from sim.model.stages import STAGES

NONE = -1  # "no such row" in an index column
RESTORE_PATHS = ("", "flag", "rollback", "hotfix", "hotfix_queued")  # incident ``path`` codes
METHODS = ("manual", "automated")  # deployment ``automated`` codes


# Column types: eight-byte floats for times and hours, four-byte integers for indices (a run never
# holds two billion rows), one byte for switches. Memory per simulated change stays in the low hundreds
# of bytes, so a year of a 500-engineer organisation fits easily.
FLOAT, INDEX, FLAG = "d", "i", "b"
_DTYPES = {FLOAT: np.float64, INDEX: np.int32, FLAG: np.int8}


def _typed(typecode: str, values: np.ndarray | Sequence[float] = ()) -> array:
    out = array(typecode)
    data = np.ascontiguousarray(values, dtype=_DTYPES[typecode])
    out.frombytes(data.data.cast("B"))  # straight from the array's memory: no bytes copy
    return out


def _doubles(values: np.ndarray | Sequence[float] = ()) -> array:
    return _typed(FLOAT, values)


def int_column(values: np.ndarray | Sequence[int] = ()) -> array:
    """An index column (four-byte integers) from any integer values."""
    return _typed(INDEX, values)


def _flags(values: np.ndarray | Sequence[bool] = ()) -> array:
    return _typed(FLAG, values)


def column(values: array) -> np.ndarray:
    """A column as a NumPy array of its own type (a view: no copy)."""
    dtype = _DTYPES[values.typecode]
    return np.frombuffer(values, dtype=dtype) if len(values) else np.empty(0, dtype=dtype)


class ChangeTable:
    """One row per change (index = change number). Hours are simulation hours; NaN = not yet."""

    __slots__ = ("created", "defective", "engineer", "first_deploy_end", "first_deploy_start", "first_ready",
                 "flagged", "p_defect", "team", "u_adopt", "u_defect", "unit")

    def __init__(self, created: np.ndarray, engineer: np.ndarray, team: np.ndarray, p_defect: np.ndarray,
                 u_defect: np.ndarray, u_adopt: np.ndarray, flagged: np.ndarray) -> None:
        n = len(created)
        self.created = _doubles(created)
        self.engineer = int_column(engineer)          # NONE for fixes written during an incident
        self.team = int_column(team)                  # 0-based team that owns the change
        self.p_defect = _doubles(p_defect)       # probability the change carries a defect
        self.u_defect = _doubles(u_defect)       # the change's own draw: defective while u_defect < p
        self.u_adopt = _doubles(u_adopt)         # the change's draw for adopting a switch during a plan
        self.flagged = _flags(flagged)           # behind a feature flag
        self.defective = _flags(np.asarray(u_defect) < np.asarray(p_defect))
        self.unit = array(INDEX, [NONE]) * n
        self.first_ready = array(FLOAT, [math.nan]) * n
        self.first_deploy_start = array(FLOAT, [math.nan]) * n
        self.first_deploy_end = array(FLOAT, [math.nan]) * n

    def __len__(self) -> int:
        return len(self.created)

    def add(self, t: float, engineer: int, team: int, p_defect: float, u_defect: float, u_adopt: float,
            flagged: bool) -> int:
        """A change written during the run (a hotfix or a follow-up fix); returns its index."""
        index = len(self.created)
        self.created.append(t)
        self.engineer.append(engineer)
        self.team.append(team)
        self.p_defect.append(p_defect)
        self.u_defect.append(u_defect)
        self.u_adopt.append(u_adopt)
        self.flagged.append(flagged)
        self.defective.append(u_defect < p_defect)
        self.unit.append(NONE)
        self.first_ready.append(np.nan)
        self.first_deploy_start.append(np.nan)
        self.first_deploy_end.append(np.nan)
        return index


class UnitTable:
    """One row per merge unit, in the order units reach CI (merge time, then start)."""

    __slots__ = ("conflict_hours", "count", "engineer", "first", "fix_hours", "members", "merge", "queue_hours",
                 "run_hours", "start", "team", "trunk")

    def __init__(self) -> None:
        self.start = array("d")
        self.merge = array("d")
        self.engineer = array(INDEX)
        self.team = array(INDEX)
        self.trunk = array("b")  # one change merged on its own after review (else a long-lived branch)
        self.conflict_hours = array("d")
        self.queue_hours = array("d")
        self.run_hours = array("d")
        self.fix_hours = array("d")
        self.first = array(INDEX)
        self.count = array(INDEX)
        self.members = array(INDEX)

    def __len__(self) -> int:
        return len(self.start)

    def add(self, start: float, merge: float, engineer: int, team: int, trunk: bool, changes: list[int],
            conflict_hours: float = 0.0) -> int:
        index = len(self.start)
        self.start.append(start)
        self.merge.append(merge)
        self.engineer.append(engineer)
        self.team.append(team)
        self.trunk.append(trunk)
        self.conflict_hours.append(conflict_hours)
        self.queue_hours.append(0.0)
        self.run_hours.append(0.0)
        self.fix_hours.append(0.0)
        self.first.append(len(self.members))
        self.count.append(len(changes))
        self.members.extend(changes)
        return index

    def changes(self, index: int) -> array:
        first = self.first[index]
        return self.members[first:first + self.count[index]]

    def add_single_changes(self, start: np.ndarray, merge: np.ndarray, engineer: np.ndarray, team: np.ndarray,
                           trunk: bool, changes: np.ndarray, conflict_hours: np.ndarray) -> None:
        """Append many units of one change each (trunk), in bulk."""
        n = len(start)
        offset = len(self.members)
        self.start.extend(_doubles(start))
        self.merge.extend(_doubles(merge))
        self.engineer.extend(int_column(engineer))
        self.team.extend(int_column(team))
        self.trunk.extend(_flags(np.full(n, trunk)))
        self.conflict_hours.extend(_doubles(conflict_hours))
        zeros = _doubles(np.zeros(n))
        self.queue_hours.extend(zeros)
        self.run_hours.extend(zeros)
        self.fix_hours.extend(zeros)
        self.first.extend(int_column(offset + np.arange(n)))
        self.count.extend(int_column(np.ones(n, dtype=np.int64)))
        self.members.extend(int_column(changes))


class DeploymentRow(NamedTuple):
    """One deployment, for reading (tests, the app); the model itself works on the columns."""

    index: int  # type: ignore[assignment]  # a field named like tuple.index (read as dep.index)
    start: float
    end: float
    changes: list[int]
    unplanned: bool
    method: str
    team: int


class IncidentRow(NamedTuple):
    index: int  # type: ignore[assignment]  # a field named like tuple.index (read as inc.index)
    deploy: int
    created: float
    resolved: float | None  # None while open
    path: str


class DeploymentTable:
    """One row per deployment, in the order they finished being recorded."""

    __slots__ = ("automated", "count", "end", "first", "members", "start", "team", "unplanned")

    def __init__(self) -> None:
        self.start = array("d")
        self.end = array("d")
        self.team = array(INDEX)  # the team whose service it deploys
        self.unplanned = array("b")
        self.automated = array("b")
        self.first = array(INDEX)
        self.count = array(INDEX)
        self.members = array(INDEX)

    def __len__(self) -> int:
        return len(self.start)

    def add(self, start: float, end: float, changes: list[int], unplanned: bool, method: str, team: int) -> int:
        index = len(self.start)
        self.start.append(start)
        self.end.append(end)
        self.team.append(team)
        self.unplanned.append(unplanned)
        self.automated.append(method == "automated")
        self.first.append(len(self.members))
        self.count.append(len(changes))
        self.members.extend(changes)
        return index

    def changes(self, index: int) -> array:
        first = self.first[index]
        return self.members[first:first + self.count[index]]

    def row(self, index: int) -> DeploymentRow:
        return DeploymentRow(index, self.start[index], self.end[index], list(self.changes(index)),
                             bool(self.unplanned[index]), METHODS[self.automated[index]], self.team[index])

    def __iter__(self) -> Iterator[DeploymentRow]:
        return (self.row(i) for i in range(len(self)))


class IncidentTable:
    """One row per incident: its deployment, when it began to hurt users, when and how it was resolved."""

    __slots__ = ("created", "deploy", "path", "resolved")

    def __init__(self) -> None:
        self.deploy = array(INDEX)
        self.created = array("d")
        self.resolved = array("d")   # NaN while open
        self.path = array("b")       # index into RESTORE_PATHS

    def __len__(self) -> int:
        return len(self.created)

    def add(self, deploy: int, created: float) -> int:
        index = len(self.created)
        self.deploy.append(deploy)
        self.created.append(created)
        self.resolved.append(np.nan)
        self.path.append(0)
        return index

    def set_path(self, index: int, path: str) -> None:
        self.path[index] = RESTORE_PATHS.index(path)

    def resolve(self, index: int, t: float, path: str | None = None) -> None:
        self.resolved[index] = t
        if path is not None:
            self.set_path(index, path)

    def row(self, index: int) -> IncidentRow:
        resolved = self.resolved[index]
        return IncidentRow(index, self.deploy[index], self.created[index],
                           None if resolved != resolved else resolved, RESTORE_PATHS[self.path[index]])

    def __iter__(self) -> Iterator[IncidentRow]:
        return (self.row(i) for i in range(len(self)))


@dataclass
class SimulationRecords:
    """Everything a replication produced, in simulation hours since ``origin`` (00:00 UTC)."""

    scenario: Scenario
    origin: dt.date
    window_start: float
    window_end: float
    changes: ChangeTable
    units: UnitTable
    deployments: DeploymentTable
    incidents: IncidentTable
    ci_waits: array | list[float] = field(default_factory=lambda: array("d"))
    conflicts: int = 0
    merges: int = 0
    teams: int = 1

    @property
    def created(self) -> np.ndarray:
        return column(self.changes.created)

    @property
    def first_ready(self) -> np.ndarray:
        return column(self.changes.first_ready)

    @property
    def first_deploy_start(self) -> np.ndarray:
        return column(self.changes.first_deploy_start)

    @property
    def first_deploy_end(self) -> np.ndarray:
        return column(self.changes.first_deploy_end)

    @property
    def change_unit(self) -> np.ndarray:
        return column(self.changes.unit)


# ----------------------------------------------------------------------------------------------
# Records → docs/logs.md logs


@dataclass(frozen=True)
class WindowLogs:
    """The three logs restricted to what the scored window can see, plus per-change stages."""

    changes: pd.DataFrame
    deployments: pd.DataFrame
    incidents: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    stage_hours: dict[str, float]      # summed over changes first deployed in the window
    deployed_changes: int


@dataclass(frozen=True)
class WindowRows:
    """Which rows of the records the scored window can see (see :func:`window_rows`)."""

    keep: np.ndarray          # per change: in the logs
    deployed_in: np.ndarray   # per change: first deployed inside the window
    deployments: np.ndarray   # indices of deployments that finished inside the window
    incidents: np.ndarray     # indices of incidents created inside the window


def window_rows(rec: SimulationRecords) -> WindowRows:
    """Changes created in the window or first deployed in it (not those first deployed before it);
    deployments finished and incidents created in it."""
    created = rec.created
    first_end = rec.first_deploy_end
    w0, w1 = rec.window_start, rec.window_end
    deployed_in = (first_end >= w0) & (first_end < w1)
    keep = ((created >= w0) & (created < w1) & ~(first_end < w0)) | deployed_in
    dep_end = column(rec.deployments.end)
    inc_created = column(rec.incidents.created)
    return WindowRows(keep, deployed_in, np.flatnonzero((dep_end >= w0) & (dep_end < w1)),
                      np.flatnonzero((inc_created >= w0) & (inc_created < w1)))


def window_bounds(rec: SimulationRecords) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The window as UTC timestamps ``[start, end)``."""
    return _bounds(rec.origin, rec.window_start, rec.window_end)


@functools.lru_cache(maxsize=64)
def _bounds(origin: dt.date, start_hours: float, end_hours: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    # every replication of a run has the same window: pandas' scalar arithmetic is done once
    at = pd.Timestamp(origin, tz="UTC")
    return at + pd.Timedelta(hours=start_hours), at + pd.Timedelta(hours=end_hours)


def to_logs(rec: SimulationRecords) -> WindowLogs:
    """Changes created in the window or first deployed in it; deployments and incidents created in it.

    Changes first deployed before the window are dropped from deployments' ``change_ids`` as well,
    so the written logs are self-consistent and score exactly like the run.
    """
    rows = window_rows(rec)
    keep = rows.keep
    keep_idx = np.flatnonzero(keep)
    n_changes = len(rec.changes)
    change_ids = np.array([f"C{i:06d}" for i in range(n_changes)], dtype=object)

    def ts(hours: np.ndarray) -> pd.DatetimeIndex:
        return pd.to_datetime(hours_to_ns(rec.origin, hours), utc=True)

    change_team = column(rec.changes.team)
    deploy_team = column(rec.deployments.team)
    changes = pd.DataFrame({"change_id": change_ids[keep_idx], "time_created": ts(rec.created[keep_idx]),
                            "team": change_team[keep_idx] + 1})
    deps = rec.deployments
    d_idx = rows.deployments
    first = column(deps.first)[d_idx]
    count = column(deps.count)[d_idx]
    members = column(deps.members)
    dep_lists = [" ".join(change_ids[c] for c in members[a:a + n] if keep[c]) for a, n in zip(first, count)]
    automated = column(deps.automated)[d_idx].astype(bool)
    deployments = pd.DataFrame({
        "deploy_id": pd.Series([f"D{d:05d}" for d in d_idx], dtype=object),
        "time_created": ts(column(deps.end)[d_idx]),
        "change_ids": pd.Series(dep_lists, dtype=object),
        "unplanned": pd.Series(column(deps.unplanned)[d_idx].astype(bool), dtype=bool),
        "batch_size": pd.Series(count, dtype=np.int64),
        "method": pd.Series(np.where(automated, METHODS[1], METHODS[0]), dtype=object),
        "team": deploy_team[d_idx] + 1,
    })
    incs = rec.incidents
    i_idx = rows.incidents
    resolved = column(incs.resolved)[i_idx]
    resolved = np.where(resolved < rec.window_end, resolved, np.nan)  # NaN (open) stays NaN
    res_ts = ts(np.nan_to_num(resolved, nan=0.0))
    res_ts = res_ts.where(~np.isnan(resolved), pd.NaT)
    paths = np.array(RESTORE_PATHS, dtype=object)[column(incs.path)[i_idx]]
    caused_by = column(incs.deploy)[i_idx]
    incidents = pd.DataFrame({
        "incident_id": pd.Series([f"I{i:05d}" for i in i_idx], dtype=object),
        "time_created": ts(column(incs.created)[i_idx]),
        "time_resolved": res_ts,
        "deploy_id": pd.Series([f"D{d:05d}" for d in caused_by], dtype=object),
        "restore_path": pd.Series(paths, dtype=object),
        "team": deploy_team[caused_by] + 1,
    })
    stage_hours = stage_totals(rec, rows.deployed_in)
    start, end = window_bounds(rec)
    return WindowLogs(changes, deployments, incidents, start, end, stage_hours, int(rows.deployed_in.sum()))


def to_columns(rec: SimulationRecords, rows: WindowRows | None = None) -> LogColumns:
    """The window's logs in the scorer's numeric form, without a string in sight.

    Scores exactly as :func:`to_logs` written to CSV and read back does: the same changes,
    deployments and incidents, the same whole-second timestamps.
    """
    rows = window_rows(rec) if rows is None else rows
    origin = rec.origin
    keep = np.flatnonzero(rows.keep)
    first_end = rec.first_deploy_end[keep]
    shipped = rows.deployed_in[keep]
    change_first = np.full(len(keep), NEVER, dtype=np.int64)
    change_first[shipped] = hours_to_ns(origin, first_end[shipped])
    d_idx, i_idx = rows.deployments, rows.incidents
    incs = rec.incidents
    resolved_h = column(incs.resolved)[i_idx]
    resolved = resolved_h < rec.window_end  # NaN (still open) is never < end
    incident_deploy = column(incs.deploy)[i_idx]
    deploy_team_all = column(rec.deployments.team)
    return LogColumns(
        change_t=hours_to_ns(origin, rec.created[keep]),
        change_first=change_first,
        deploy_t=hours_to_ns(origin, column(rec.deployments.end)[d_idx]),
        deploy_key=d_idx.astype(np.int64),
        unplanned=column(rec.deployments.unplanned)[d_idx].astype(bool),
        incident_t=hours_to_ns(origin, column(incs.created)[i_idx]),
        resolved_t=hours_to_ns(origin, np.where(resolved, resolved_h, 0.0)),
        resolved=resolved,
        incident_deploy=incident_deploy,
        incident_deploy_known=np.isin(incident_deploy, d_idx),
        change_team=column(rec.changes.team)[keep],
        deploy_team=deploy_team_all[d_idx],
        incident_team=deploy_team_all[incident_deploy],
    )


def _stage_columns(rec: SimulationRecords, changes: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """Each stage's hours for ``changes`` (indices), one stage at a time (so only one is held at once)."""
    created = rec.created[changes]
    ready = rec.first_ready[changes]
    unit_of = rec.change_unit[changes]
    has_unit = unit_of >= 0
    at = np.where(has_unit, unit_of, 0)  # a safe index; changes without a unit (hotfixes) take no unit time
    units = rec.units
    trunk = np.where(has_unit, column(units.trunk)[at], 0).astype(bool)
    before_merge = np.where(has_unit, column(units.merge)[at], ready) - created
    del created
    yield "on_branch", np.where(trunk, 0.0, before_merge)
    yield "in_review", np.where(trunk, before_merge, 0.0)
    del before_merge, trunk
    for stage, hours in (("merge_conflicts", units.conflict_hours), ("ci_queue", units.queue_hours),
                         ("ci_running", units.run_hours), ("ci_fixing", units.fix_hours)):
        yield stage, np.where(has_unit, column(hours)[at], 0.0)
    dstart = rec.first_deploy_start[changes]
    yield "release_wait", dstart - ready
    yield "deploying", rec.first_deploy_end[changes] - dstart


def stage_hours(rec: SimulationRecords, changes: np.ndarray) -> dict[str, np.ndarray]:
    """Hours each of ``changes`` (indices) spent in each stage on its first trip to production.

    The stages add up to the change's lead time (first deployment end − created): before merge
    (on a branch, or in review on trunk), conflicts, CI queue, CI runs, fixing what CI caught
    (together: merge → first ready), waiting for the release, deploying.
    """
    return dict(_stage_columns(rec, changes))


def stage_totals(rec: SimulationRecords, mask: np.ndarray) -> dict[str, float]:
    """Hours spent in each stage, summed over the changes in ``mask`` (their first trip to production)."""
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return dict.fromkeys(STAGES, 0.0)
    return {stage: float(hours.sum()) for stage, hours in _stage_columns(rec, idx)}
