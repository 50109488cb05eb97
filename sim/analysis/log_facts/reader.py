"""The reader: sets up the arrays and the window, then every estimator fills in its part."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from sim.analysis.log_facts.escapes import EscapesReader
from sim.analysis.log_facts.facts import (
    MIN_DEPLOYMENTS,
    NS_PER_DAY,
    NS_PER_HOUR,
    WEEKEND_CADENCES,
    WORK_START_HOUR,
    LogFacts,
    _arrays,
)
from sim.analysis.log_facts.release import ReleaseReader
from sim.analysis.log_facts.restores import RestoresReader
from sim.analysis.log_facts.window import (
    _local_offset_hours,
    _quiet_weekend_end,
    default_window,
    infer_start,
)
from sim.analysis.log_facts.work import AUTHOR_COLUMNS, WorkReader
from sim.metrics.logs import EventLogs
from sim.metrics.scoring import score
from sim.model.scenario import Scenario


class Reader(WorkReader, ReleaseReader, EscapesReader, RestoresReader):
    """Holds the arrays, the window and the local-time offset while the estimates are made."""

    def __init__(self, logs: EventLogs, base: Scenario, window: tuple[int, int] | None = None):
        self.base = base
        column = next((c for c in AUTHOR_COLUMNS if c in logs.changes), None)
        self.authors = None if column is None else logs.changes[column].astype("str").to_numpy()
        self.a = a = _arrays(logs)
        self.deploy_ids = logs.deployments["deploy_id"].astype("str").to_numpy()
        self.offset_ns = _local_offset_hours(a.change_t) * NS_PER_HOUR
        first_day, self.end = default_window(a)
        self.start = first_day
        planned = np.flatnonzero(~a.unplanned)
        self.planned_rows = planned[np.argsort(a.deploy_t[planned], kind="stable")]
        self.cadence = self._cadence(self.planned_rows) if len(planned) >= 2 else None
        if self.cadence and len(planned) < MIN_DEPLOYMENTS and self.cadence[0] not in WEEKEND_CADENCES:
            self.cadence = None  # a few weekday deployments do not show a pattern; a few Saturdays do
        scheduled = self.cadence is not None and self.cadence[0] in WEEKEND_CADENCES
        if window is not None:  # set by the user (--start/--end) or recorded by the import
            self.start, self.end = window
        else:
            self.start = infer_start(a, first_day, self.end, self._no_release_before(), scheduled)
            self.end = _quiet_weekend_end(self.start, self.end)
        start, end = pd.Timestamp(self.start, tz="UTC"), pd.Timestamp(self.end, tz="UTC")
        observed = score(logs.changes, logs.deployments, logs.incidents, start=start, end=end)
        self.facts = LogFacts(start, end, dict(observed))
        self.facts.warnings.extend(observed["warnings"])
        if window is None and first_day < self.start:
            self._note_window(logs, first_day)
        if self.offset_ns:
            hour = (WORK_START_HOUR - self.offset_ns / NS_PER_HOUR) % 24
            self.facts.stats["working_hours_utc"] = f"{hour:02.0f}:00–{(hour + 8) % 24:02.0f}:00"
        self.deploy_in = self.in_window(a.deploy_t)
        self.planned = self.deploy_in & ~a.unplanned
        self.duration_h: float | None = None

    def _no_release_before(self) -> int | None:
        """The window opened after the first logged release minus the longest plausible gap (ns).

        A regular weekend train ships at every window, so one period before the first release; other
        trains: half again the longest gap between logged releases. None when too few to tell.
        """
        if self.cadence is None:
            return None
        times = self.a.deploy_t[self.planned_rows]
        gaps = np.diff(times)
        minimum = 2 if self.cadence[0] in WEEKEND_CADENCES else MIN_DEPLOYMENTS
        if len(times) < minimum:
            return None
        longest = int(gaps.max()) if len(gaps) else 0
        if self.cadence[0] in WEEKEND_CADENCES:
            # a train that shipped at every window of its cadence would have shipped at the one before
            period = {"weekly": 7, "biweekly": 14, "monthly": 35}[self.cadence[0]] * NS_PER_DAY
            if longest <= period:
                return int(times[0]) - period
        # the gap before the first logged release is one more draw: allow half again the longest
        return int(times[0]) - int(1.5 * longest)

    def _note_window(self, logs: EventLogs, default_start: int) -> None:
        early = int((self.a.change_t < self.start).sum())
        default = score(logs.changes, logs.deployments, logs.incidents)["metrics"][
            "deployment_frequency_per_day"
        ]
        first = pd.Timestamp(default_start, tz="UTC").date()
        start = pd.Timestamp(self.start, tz="UTC").date()
        self.facts.warnings.append(
            f"{early} changes were created before {start} (from {first}) and only shipped later: the logs "
            f"cover {start} onwards completely, so the window starts there (score's default window from "
            f"{first} gives deployment frequency {default:.3g}/day); those changes count for lead time only"
        )


def read_facts(logs: EventLogs, base: Scenario, window: tuple[dt.date, dt.date] | None = None) -> LogFacts:
    """The window (``window``, end exclusive, or inferred), the observed metrics and every direct estimate."""
    bounds = None
    if window is not None:
        bounds = (int(pd.Timestamp(window[0], tz="UTC").value), int(pd.Timestamp(window[1], tz="UTC").value))
    reader = Reader(logs, base, bounds)
    facts = reader.facts
    counts = facts.observed["counts"]
    undeployed = counts["undeployed_changes"]
    if undeployed:
        facts.warnings.append(
            f"{undeployed} changes created in the window were never deployed in it "
            "(counted as work, not timed)"
        )
    reader.work()
    reader.release()
    reader.escapes()
    reader.restores()
    return facts
