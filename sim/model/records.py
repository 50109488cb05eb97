"""What one replication produced, and how it becomes the event logs of docs/logs.md.

:class:`SimulationRecords` holds the four tables the model wrote (:mod:`sim.model.tables`) with
the run's origin and window. :func:`to_logs` turns them into the three logs a real team would have
(restricted to what the scored window can see), :func:`to_columns` into the scorer's numeric
input, and :func:`stage_totals` says where each change's lead time went.
"""

from __future__ import annotations

import datetime as dt
import functools
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.metrics.columns import NEVER, LogColumns
from sim.model.calendar import hours_to_ns
from sim.model.scenario import Scenario
from sim.model.stages import STAGES
from sim.model.tables import (  # noqa: F401  (re-exported: the tables are part of the records)
    METHODS,
    NONE,
    RESTORE_PATHS,
    ChangeTable,
    DeploymentRow,
    DeploymentTable,
    IncidentRow,
    IncidentTable,
    UnitTable,
    column,
    int_column,
)


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
    stage_hours: dict[str, float]  # summed over changes first deployed in the window
    deployed_changes: int


@dataclass(frozen=True)
class WindowRows:
    """Which rows of the records the scored window can see (see :func:`window_rows`)."""

    keep: np.ndarray  # per change: in the logs
    deployed_in: np.ndarray  # per change: first deployed inside the window
    deployments: np.ndarray  # indices of deployments that finished inside the window
    incidents: np.ndarray  # indices of incidents created inside the window


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
    return WindowRows(
        keep,
        deployed_in,
        np.flatnonzero((dep_end >= w0) & (dep_end < w1)),
        np.flatnonzero((inc_created >= w0) & (inc_created < w1)),
    )


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
    change_ids = np.array([f"C{i:06d}" for i in range(len(rec.changes))], dtype=object)
    keep_idx = np.flatnonzero(rows.keep)
    changes = pd.DataFrame(
        {
            "change_id": change_ids[keep_idx],
            "time_created": _times(rec, rec.created[keep_idx]),
            "team": column(rec.changes.team)[keep_idx] + 1,
        }
    )
    deployments = _deployment_frame(rec, rows, change_ids)
    incidents = _incident_frame(rec, rows.incidents)
    stage_hours = stage_totals(rec, rows.deployed_in)
    start, end = window_bounds(rec)
    return WindowLogs(changes, deployments, incidents, start, end, stage_hours, int(rows.deployed_in.sum()))


def _times(rec: SimulationRecords, hours: np.ndarray) -> pd.DatetimeIndex:
    return pd.to_datetime(hours_to_ns(rec.origin, hours), utc=True)


def _deployment_frame(rec: SimulationRecords, rows: WindowRows, change_ids: np.ndarray) -> pd.DataFrame:
    """The window's deployments, listing only the changes the logs keep."""
    deps = rec.deployments
    d_idx = rows.deployments
    keep = rows.keep
    first = column(deps.first)[d_idx]
    count = column(deps.count)[d_idx]
    members = column(deps.members)
    dep_lists = [" ".join(change_ids[c] for c in members[a : a + n] if keep[c]) for a, n in zip(first, count)]
    automated = column(deps.automated)[d_idx].astype(bool)
    return pd.DataFrame(
        {
            "deploy_id": pd.Series([f"D{d:05d}" for d in d_idx], dtype=object),
            "time_created": _times(rec, column(deps.end)[d_idx]),
            "change_ids": pd.Series(dep_lists, dtype=object),
            "unplanned": pd.Series(column(deps.unplanned)[d_idx].astype(bool), dtype=bool),
            "batch_size": pd.Series(count, dtype=np.int64),
            "method": pd.Series(np.where(automated, METHODS[1], METHODS[0]), dtype=object),
            "team": column(deps.team)[d_idx] + 1,
        }
    )


def _incident_frame(rec: SimulationRecords, i_idx: np.ndarray) -> pd.DataFrame:
    """The window's incidents; one resolved after the window's end is still open in the logs."""
    incs = rec.incidents
    resolved = column(incs.resolved)[i_idx]
    resolved = np.where(resolved < rec.window_end, resolved, np.nan)  # NaN (open) stays NaN
    res_ts = _times(rec, np.nan_to_num(resolved, nan=0.0))
    res_ts = res_ts.where(~np.isnan(resolved), pd.NaT)
    paths = np.array(RESTORE_PATHS, dtype=object)[column(incs.path)[i_idx]]
    caused_by = column(incs.deploy)[i_idx]
    return pd.DataFrame(
        {
            "incident_id": pd.Series([f"I{i:05d}" for i in i_idx], dtype=object),
            "time_created": _times(rec, column(incs.created)[i_idx]),
            "time_resolved": res_ts,
            "deploy_id": pd.Series([f"D{d:05d}" for d in caused_by], dtype=object),
            "restore_path": pd.Series(paths, dtype=object),
            "team": column(rec.deployments.team)[caused_by] + 1,
        }
    )


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

    def per_unit(values: array, other: np.ndarray | float) -> np.ndarray:
        # a run may have no unit at all (only work carried in at the state day)
        return (
            np.where(has_unit, column(values)[at], other) if len(values) else np.broadcast_to(other, at.shape)
        )

    trunk = per_unit(units.trunk, 0).astype(bool)
    before_merge = per_unit(units.merge, ready) - created
    del created
    yield "on_branch", np.where(trunk, 0.0, before_merge)
    yield "in_review", np.where(trunk, before_merge, 0.0)
    del before_merge, trunk
    for stage, hours in (
        ("merge_conflicts", units.conflict_hours),
        ("ci_queue", units.queue_hours),
        ("ci_running", units.run_hours),
        ("ci_fixing", units.fix_hours),
    ):
        yield stage, per_unit(hours, 0.0)
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
