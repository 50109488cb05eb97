"""What one replication produced, and how it becomes the event logs of docs/logs.md.

The model keeps plain records while it runs (one record per merge unit, deployment and incident,
and per-change columns); :func:`to_logs` turns them into the three logs a real team would have,
restricted to what the scored window can see, and :func:`stage_totals` says where each change's
lead time went.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sim.model.calendar import hours_to_ns
from sim.model.scenario import Scenario
from sim.model.stages import STAGES


@dataclass
class Unit:
    """A merge unit: a long-lived branch's changes, or one change on trunk."""

    changes: list[int]
    start: float
    merge: float
    engineer: int
    conflict_hours: float = 0.0
    queue_hours: float = 0.0
    run_hours: float = 0.0
    fix_hours: float = 0.0


@dataclass
class Deployment:
    index: int
    start: float
    end: float
    changes: list[int]
    unplanned: bool
    method: str


@dataclass
class Incident:
    index: int
    deploy: int
    created: float
    resolved: float | None = None
    path: str = ""


@dataclass
class SimulationRecords:
    """Everything a replication produced, in simulation hours."""

    scenario: Scenario
    origin: dt.date
    window_start: float
    window_end: float
    created: list[float]
    first_ready: list[float]
    first_deploy_start: list[float]
    first_deploy_end: list[float]
    change_unit: list[int]
    units: list[Unit]
    deployments: list[Deployment]
    incidents: list[Incident]
    ci_waits: list[float] = field(default_factory=list)
    conflicts: int = 0
    merges: int = 0


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


def to_logs(rec: SimulationRecords) -> WindowLogs:
    """Changes created in the window or first deployed in it; deployments and incidents created in it.

    Changes first deployed before the window are dropped from deployments' ``change_ids`` as well,
    so the written logs are self-consistent and score exactly like the run.
    """
    created = np.asarray(rec.created, dtype=float)
    first_end = np.asarray(rec.first_deploy_end, dtype=float)
    w0, w1 = rec.window_start, rec.window_end
    deployed_in = (first_end >= w0) & (first_end < w1)
    keep = ((created >= w0) & (created < w1) & ~(first_end < w0)) | deployed_in
    keep_idx = np.flatnonzero(keep)
    change_ids = np.array([f"C{i:06d}" for i in range(len(created))], dtype=object)

    def ts(hours: np.ndarray) -> pd.DatetimeIndex:
        return pd.to_datetime(hours_to_ns(rec.origin, hours), utc=True)

    changes = pd.DataFrame({"change_id": change_ids[keep_idx], "time_created": ts(created[keep_idx])})
    deps = [d for d in rec.deployments if w0 <= d.end < w1]
    dep_ids = [f"D{d.index:05d}" for d in deps]
    dep_lists = [" ".join(change_ids[c] for c in d.changes if keep[c]) for d in deps]
    deployments = pd.DataFrame({
        "deploy_id": pd.Series(dep_ids, dtype=object),
        "time_created": ts(np.array([d.end for d in deps], dtype=float)),
        "change_ids": pd.Series(dep_lists, dtype=object),
        "unplanned": pd.Series([d.unplanned for d in deps], dtype=bool),
        "batch_size": pd.Series([len(d.changes) for d in deps], dtype=np.int64),
        "method": pd.Series([d.method for d in deps], dtype=object),
    })
    incs = [i for i in rec.incidents if w0 <= i.created < w1]
    resolved = np.array([i.resolved if (i.resolved is not None and i.resolved < w1) else np.nan for i in incs],
                        dtype=float)
    res_ts = ts(np.nan_to_num(resolved, nan=0.0))
    res_ts = res_ts.where(~np.isnan(resolved), pd.NaT)
    incidents = pd.DataFrame({
        "incident_id": pd.Series([f"I{i.index:05d}" for i in incs], dtype=object),
        "time_created": ts(np.array([i.created for i in incs], dtype=float)),
        "time_resolved": res_ts,
        "deploy_id": pd.Series([f"D{i.deploy:05d}" for i in incs], dtype=object),
        "restore_path": pd.Series([i.path for i in incs], dtype=object),
    })
    stage_hours = stage_totals(rec, deployed_in)
    start = pd.Timestamp(rec.origin, tz="UTC") + pd.Timedelta(hours=w0)
    end = pd.Timestamp(rec.origin, tz="UTC") + pd.Timedelta(hours=w1)
    return WindowLogs(changes, deployments, incidents, start, end, stage_hours, int(deployed_in.sum()))


def stage_totals(rec: SimulationRecords, mask: np.ndarray) -> dict[str, float]:
    """Hours spent in each stage, summed over the changes in ``mask`` (their first trip to production)."""
    idx = np.flatnonzero(mask)
    totals = dict.fromkeys(STAGES, 0.0)
    if len(idx) == 0:
        return totals
    created = np.asarray(rec.created)[idx]
    ready = np.asarray(rec.first_ready)[idx]
    dstart = np.asarray(rec.first_deploy_start)[idx]
    dend = np.asarray(rec.first_deploy_end)[idx]
    unit_of = np.asarray(rec.change_unit)[idx]
    # one row per merge unit, plus a last row of zeros for changes that never had one (hotfixes)
    per_unit = np.array([(u.merge, u.conflict_hours, u.queue_hours, u.run_hours, u.fix_hours) for u in rec.units]
                        + [(np.nan, 0.0, 0.0, 0.0, 0.0)]).reshape(-1, 5)
    merge, conflict, queue, running, fixing = per_unit[unit_of].T
    on_branch = np.where(unit_of >= 0, merge, ready) - created
    totals["on_branch"] = float(on_branch.sum())
    totals["merge_conflicts"] = float(conflict.sum())
    totals["ci_queue"] = float(queue.sum())
    totals["ci_running"] = float(running.sum())
    totals["ci_fixing"] = float(fixing.sum())
    totals["release_wait"] = float((dstart - ready).sum())
    totals["deploying"] = float((dend - dstart).sum())
    return totals
