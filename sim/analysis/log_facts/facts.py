"""The shared vocabulary of reading logs: constants, estimates, the facts read, the logs as arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics.logs import EventLogs
from sim.model.constants import DAY_START_HOUR
from sim.model.scenario import Scenario, get_value

NS_PER_HOUR = 3_600 * 10**9
NS_PER_DAY = 24 * NS_PER_HOUR
SATURDAY = 5
WORK_START_HOUR = DAY_START_HOUR  # the model's hours, read from its constants (sim.model.calendar uses them)
SAME_INSTANT_HOURS = 1 / 60  # an incident within a minute of its deployment began with it
RESOLVE_BEFORE_HOURS = 0.5  # a restoring deployment is logged at most this long before the resolution
RESOLVE_AFTER_HOURS = 5 / 60  # ... or this long after it
MIN_DEPLOYMENTS = 5
WEEKEND_CADENCES = ("weekly", "biweekly", "monthly")
MIN_SAMPLES = 3
MANUAL_MIN_HOURS = 0.75  # deployments that take longer than this are taken as manual
PLAUSIBLE_LOG_LIKELIHOOD = 3.0  # start days within this of the best explain the counts about as well
USUAL_WINDOW_DAYS = (90, 91, 92, 60, 61, 30, 31, 180, 181, 182, 183, 365, 366, 120, *range(7, 400, 7))


@dataclass(frozen=True)
class Estimate:
    """A parameter value read from the logs, with how it was read."""

    value: Any
    note: str
    source: str = ""  # where it was read when not the three logs (e.g. "CI runs")


@dataclass
class LogFacts:
    """The logs, reduced to what calibration needs."""

    start: pd.Timestamp
    end: pd.Timestamp
    observed: dict[str, Any]  # the score JSON over [start, end)
    estimates: dict[str, Estimate] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def days(self) -> int:
        return max(1, round((self.end - self.start) / pd.Timedelta(days=1)))


# ---------------------------------------------------------------------------------------------
# Columns as arrays


@dataclass(frozen=True)
class _Arrays:
    change_t: np.ndarray  # int64 ns
    deploy_t: np.ndarray
    unplanned: np.ndarray
    listed: list[np.ndarray]  # per deployment: indices of the known changes it lists
    first_deploy: np.ndarray  # per change: row of its first deployment, -1 if never deployed
    incident_t: np.ndarray
    resolved_t: np.ndarray  # int64 ns, meaningless where not resolved
    resolved: np.ndarray  # bool
    incident_deploy: np.ndarray  # row of the causing deployment, -1 none, -2 unknown id


def _ns(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    array = stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return array.view("i8").copy(), ~np.isnat(array)


def _arrays(logs: EventLogs) -> _Arrays:
    changes, deployments, incidents = logs.changes, logs.deployments, logs.incidents
    change_t, _ = _ns(changes["time_created"])
    deploy_t, _ = _ns(deployments["time_created"])
    unplanned = (
        deployments["unplanned"].astype("str").str.strip().str.lower().isin(["true", "1", "1.0"]).to_numpy()
        if "unplanned" in deployments
        else np.zeros(len(deployments), dtype=bool)
    )
    change_index = pd.Index(changes["change_id"].astype("str"))
    cells = (
        deployments["change_ids"]
        .map(
            lambda cell: (
                " ".join(map(str, cell))
                if isinstance(cell, list | tuple | np.ndarray)
                else (cell if isinstance(cell, str) else "")
            )
        )
        .astype("str")
    )
    exploded = cells.str.split().explode().dropna()
    rows = np.asarray(exploded.index, dtype=np.int64) if len(exploded) else np.zeros(0, dtype=np.int64)
    position = pd.Series(np.arange(len(deployments)), index=deployments.index)
    rows = position.loc[rows].to_numpy() if len(rows) else rows
    codes = change_index.get_indexer(exploded.astype("str").to_numpy()) if len(exploded) else rows
    known = codes >= 0
    rows, codes = rows[known], codes[known]
    listed = [np.zeros(0, dtype=np.int64)] * len(deployments)
    if len(rows):
        order = np.argsort(rows, kind="stable")
        split = np.split(codes[order], np.flatnonzero(np.diff(rows[order])) + 1)
        for row, group in zip(np.unique(rows[order]), split):
            listed[int(row)] = np.unique(group)
    first_deploy = np.full(len(change_t), -1, dtype=np.int64)
    if len(rows):
        by_time = np.lexsort((rows, deploy_t[rows]))
        pairs = pd.DataFrame({"change": codes[by_time], "row": rows[by_time]}).drop_duplicates("change")
        first_deploy[pairs["change"].to_numpy()] = pairs["row"].to_numpy()
    incident_t, _ = _ns(incidents["time_created"])
    resolved_t, resolved = _ns(incidents["time_resolved"])
    deploy_index = pd.Index(deployments["deploy_id"].astype("str"))
    named = incidents["deploy_id"]
    has = named.notna().to_numpy() & (named.astype("str").str.strip() != "").to_numpy()
    incident_deploy = np.full(len(incidents), -1, dtype=np.int64)
    if has.any():
        found = deploy_index.get_indexer(named[has].astype("str").str.strip().to_numpy())
        incident_deploy[has] = np.where(found >= 0, found, -2)
    return _Arrays(
        change_t, deploy_t, unplanned, listed, first_deploy, incident_t, resolved_t, resolved, incident_deploy
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class _ReaderBase:
    """What every estimator reads and writes while the logs are read (set up by the reader,
    :mod:`sim.analysis.log_facts.reader`)."""

    base: Scenario
    a: _Arrays
    deploy_ids: np.ndarray  # each deployment row's deploy_id
    facts: LogFacts
    start: int
    end: int
    offset_ns: int
    planned_rows: np.ndarray
    deploy_in: np.ndarray
    planned: np.ndarray
    duration_h: float | None
    cadence: tuple[str, str] | None
    authors: np.ndarray | None

    def in_window(self, t: np.ndarray) -> np.ndarray:
        return (t >= self.start) & (t < self.end)

    def local(self, t: np.ndarray) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(pd.to_datetime(np.asarray(t) + self.offset_ns, unit="ns"))

    def set(self, key: str, value: Any, note: str) -> None:
        if isinstance(value, np.generic):
            value = value.item()
        self.facts.estimates[key] = Estimate(value, note)

    def base_value(self, key: str) -> Any:
        return get_value(self.base, key)

    def n_listed(self, rows: np.ndarray) -> np.ndarray:
        return np.array([len(self.a.listed[r]) for r in rows], dtype=int)
