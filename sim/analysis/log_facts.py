"""What a team's own logs show directly — the first half of calibration (:mod:`sim.analysis.calibrate`).

:func:`read_facts` turns three event logs (docs/logs.md) into :class:`LogFacts`: the scored window,
the observed DORA metrics, and direct estimates of the scenario parameters the logs can show,
each with a note saying how it was read. Everything here is arithmetic on the logs; nothing
simulates. How each estimate maps onto the model (:mod:`sim.model.delivery`):

Window
    ``score``'s default window runs from the first to the last deployment or incident; here the
    window covers the days of every change, deployment and incident (resolution times never widen
    it), and then starts where the logs hold every change made: not before
    the release that the train would have run before the first logged one (a regular train
    that ran then would be in the log), and not where the daily change counts are thinner than
    a complete day's (earlier days ~ Poisson(rate x P(lead time > days before the start)), P by
    Kaplan–Meier from the certainly complete days). Among the starts left, a Monday giving a
    usual export length (a quarter first) wins; a window ending before a quiet weekend is
    extended over it the same way.
Working hours
    Logs are in UTC; the 8-hour span holding most changes is taken as the team's 09:00–17:00 and
    every time-of-day pattern is read in that local time.
Work
    changes per working day (hotfix changes excluded) → ``team.engineers`` x
    ``team.changes_per_engineer_per_day`` at the base's rate per engineer.
Release train
    planned deployments on weekends → weekly / biweekly / monthly (the model's Saturday 09:00
    windows, matched by which Saturdays shipped); on working days after 15:00 only, or one
    deployment a day at a steady hour → daily; otherwise continuous. Deploy duration from
    hotfix deployments (change created → deployed), from back-to-back deployments and from the
    delay after a scheduled window opens → ``release.deploy`` and its duration. Batch sizes piling
    up at one maximum → ``release.max_batch_size``.
Restores
    an unplanned deployment with no changes at an incident's resolution = an automated rollback;
    with changes = a hand hotfix; none = a feature-flag flip. Incidents that begin the second a
    deployment ends = checklist errors (manual deploys); the rest fire after the deployment →
    ``operations.fire_delay_hours``. Detection time from rollback and flag restores.
Lead time split
    a change first shipped at release k was not ready at the previous release that had room
    (else it would have shipped) and was ready by release k: its time before release lies in an
    interval. A log-normal fitted to those intervals gives the median time before release; the
    rest of the lead time is waiting for the release (and deploying). Behind a full release
    train (a cap that every deployment hits) changes ship in the order they became ready, so
    being overtaken by a later-created change bounds a change's time before release from below.
    Under a day before release → trunk, else long-lived branches.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sim.metrics.logs import EventLogs
from sim.metrics.scoring import score
from sim.model.scenario import Scenario, get_value

NS_PER_HOUR = 3_600 * 10**9
NS_PER_DAY = 24 * NS_PER_HOUR
SATURDAY = 5
DAILY_RELEASE_HOUR = 15.0   # the model's daily window (sim.model.calendar)
WEEKEND_RELEASE_HOUR = 9.0  # the model's weekend window
WORK_START_HOUR = 9.0
SAME_INSTANT_HOURS = 1 / 60  # an incident within a minute of its deployment began with it
RESOLVE_BEFORE_HOURS = 0.5   # a restoring deployment is logged at most this long before the resolution
RESOLVE_AFTER_HOURS = 5 / 60  # ... or this long after it
MIN_DEPLOYMENTS = 5
WEEKEND_CADENCES = ("weekly", "biweekly", "monthly")
MIN_SAMPLES = 3
MANUAL_MIN_HOURS = 0.75      # deployments that take longer than this are taken as manual
PLAUSIBLE_LOG_LIKELIHOOD = 3.0  # start days within this of the best explain the counts about as well
USUAL_WINDOW_DAYS = (90, 91, 92, 60, 61, 30, 31, 180, 181, 182, 183, 365, 366, 120, *range(7, 400, 7))


@dataclass(frozen=True)
class Estimate:
    """A parameter value read from the logs, with how it was read."""

    value: Any
    note: str


@dataclass
class LogFacts:
    """The logs, reduced to what calibration needs."""

    start: pd.Timestamp
    end: pd.Timestamp
    observed: dict[str, Any]                 # the score JSON over [start, end)
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
    change_t: np.ndarray        # int64 ns
    deploy_t: np.ndarray
    unplanned: np.ndarray
    listed: list[np.ndarray]    # per deployment: indices of the known changes it lists
    first_deploy: np.ndarray    # per change: row of its first deployment, -1 if never deployed
    incident_t: np.ndarray
    resolved_t: np.ndarray      # int64 ns, meaningless where not resolved
    resolved: np.ndarray        # bool
    incident_deploy: np.ndarray  # row of the causing deployment, -1 none, -2 unknown id


def _ns(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    stamps = pd.to_datetime(values, utc=True, format="ISO8601")
    array = stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return array.view("i8").copy(), ~np.isnat(array)


def _arrays(logs: EventLogs) -> _Arrays:
    changes, deployments, incidents = logs.changes, logs.deployments, logs.incidents
    change_t, _ = _ns(changes["time_created"])
    deploy_t, _ = _ns(deployments["time_created"])
    unplanned = (deployments["unplanned"].astype("str").str.strip().str.lower().isin(["true", "1", "1.0"])
                 .to_numpy() if "unplanned" in deployments else np.zeros(len(deployments), dtype=bool))
    change_index = pd.Index(changes["change_id"].astype("str"))
    cells = deployments["change_ids"].map(
        lambda cell: " ".join(map(str, cell)) if isinstance(cell, list | tuple | np.ndarray)
        else (cell if isinstance(cell, str) else "")).astype("str")
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
    return _Arrays(change_t, deploy_t, unplanned, listed, first_deploy, incident_t, resolved_t,
                   resolved, incident_deploy)


# ---------------------------------------------------------------------------------------------
# The window


def _day(ns: int) -> int:
    return int(ns) // NS_PER_DAY * NS_PER_DAY


def _survival(durations: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier: (times, survival just after each time) for right-censored durations."""
    order = np.argsort(durations, kind="stable")
    durations, observed = durations[order], observed[order]
    at_risk = len(durations) - np.arange(len(durations))
    factors = np.where(observed, 1.0 - 1.0 / at_risk, 1.0)
    return durations, np.cumprod(factors)


def _survival_at(curve: tuple[np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    times, surv = curve
    index = np.searchsorted(times, x, side="right") - 1
    return np.where(index >= 0, surv[np.clip(index, 0, None)], 1.0) if len(times) else np.ones_like(x)


def _preferred_start(plausible: np.ndarray, end_day: int, weekday: np.ndarray) -> int:
    """Among start days the change counts cannot tell apart, a Monday giving a usual window length.

    When a release train ran rarely, days after its last release before the window hold every
    change too, so the counts fit several starts. Then a start on a Monday, and a usual export
    length (a quarter first; the last one or two days may have been a quiet weekend) decide,
    else the middle Monday or the middle day.
    """
    if plausible[-1] - plausible[0] <= 2:
        return int(plausible[0])
    mondays = [int(d) for d in plausible if weekday[d] == 0]
    for days in (mondays, [int(d) for d in plausible]):
        for length in USUAL_WINDOW_DAYS:
            for end in (end_day, end_day + 1, end_day + 2):
                if end - length in days:
                    return end - length
    if mondays:
        return mondays[len(mondays) // 2]
    return int(plausible[len(plausible) // 2])


def _quiet_weekend_end(start: int, end: int) -> int:
    """Extend a window that ends before a weekend without events over it, if that gives a usual length.

    Logs of a team that works Monday to Friday end on Friday however long the window was.
    """
    length = (end - start) // NS_PER_DAY
    for usual in USUAL_WINDOW_DAYS:
        extra = usual - length
        if extra == 0:
            return end
        if 0 < extra <= 2 and all(pd.Timestamp(end + k * NS_PER_DAY).day_of_week >= SATURDAY for k in range(extra)):
            return end + extra * NS_PER_DAY
    return end


def default_window(a: _Arrays) -> tuple[int, int]:
    """The days the logs could cover, in ns: whole UTC days from the first to the last ``time_created``
    of any change, deployment or incident. Resolution times never widen it (an incident resolved weeks
    later says nothing about the work). Unlike ``score``'s default window, changes count here: work
    created before the first deployment or after the last one is evidence of the team's pace, and
    :func:`infer_start` then moves the start to where the logs hold every change made."""
    stamps = np.concatenate([a.change_t, a.deploy_t, a.incident_t])
    return _day(stamps.min()), _day(stamps.max()) + NS_PER_DAY


def infer_start(a: _Arrays, first_day: int, end: int, not_before: int | None, scheduled: bool = False) -> int:
    """The first day from which the logs hold every change made (ns).

    Candidates run from ``not_before`` (no release happened before it, though the release train
    would have shipped something) to the first deployment or incident. The daily change counts
    keep the candidates nearly as likely as the best one, and :func:`_preferred_start` chooses
    among them. With a weekend release train (``scheduled``) every change made after the last
    release before the window survives, so counts prove nothing and all candidates stay. A
    weekend start without any change moves to the Monday.
    """
    activity = np.concatenate([a.deploy_t, a.incident_t])
    if len(activity) == 0 or len(a.change_t) == 0:
        return first_day
    active_day = _day(activity.min())
    lowest = first_day if not_before is None else max(first_day, -(-not_before // NS_PER_DAY) * NS_PER_DAY)
    if active_day - lowest <= 0 or end - active_day < 14 * NS_PER_DAY:
        return min(lowest, active_day)
    day_of = (a.change_t - first_day) // NS_PER_DAY
    n_days = (end - first_day) // NS_PER_DAY
    counts = np.bincount(day_of, minlength=n_days).astype(float)
    weekday = (pd.Timestamp(first_day).day_of_week + np.arange(n_days)) % 7
    weekend = weekday >= SATURDAY
    complete_from = (active_day - first_day) // NS_PER_DAY
    candidates = np.arange((lowest - first_day) // NS_PER_DAY, complete_from + 1)
    if not (scheduled and not_before is not None):
        candidates = _explained_by_counts(a, candidates, counts, weekend, complete_from, active_day, end)
    start = _preferred_start(candidates, n_days, weekday)
    while weekend[start] and start < complete_from and counts[start] == 0:
        start += 1
    return first_day + start * NS_PER_DAY


def _explained_by_counts(a: _Arrays, candidates: np.ndarray, counts: np.ndarray, weekend: np.ndarray,
                         complete_from: int, active_day: int, end: int) -> np.ndarray:
    """The candidate start days (indices) whose thinned-before, complete-after counts fit nearly best."""
    # rates of a complete day (working days and weekends apart) from the days after activity began
    rate = np.empty(len(counts))
    for mask in (weekend, ~weekend):
        sample = counts[complete_from:][mask[complete_from:]]
        rate[mask] = max(sample.mean() if len(sample) else 0.0, 1e-3)
    # how long a change waits to ship, from the changes of the complete days
    cohort = a.change_t >= active_day
    deployed_at = np.where(a.first_deploy >= 0, a.deploy_t[np.clip(a.first_deploy, 0, None)], end)
    deployed = (a.first_deploy >= 0) & (deployed_at < end)
    waited = (np.where(deployed, deployed_at, end) - a.change_t)[cohort] / NS_PER_DAY
    curve = _survival(np.maximum(waited, 0.0), deployed[cohort])
    scores: list[float] = []
    for start in candidates:
        before = np.arange(start)
        mu = rate[before] * np.maximum(_survival_at(curve, start - before - 0.5), 1e-6)
        lam = rate[start:complete_from]
        scores.append(float(np.sum(counts[before] * np.log(mu) - mu)
                            + np.sum(counts[start:complete_from] * np.log(lam) - lam)))
    likelihood = np.array(scores)
    return candidates[likelihood >= likelihood.max() - PLAUSIBLE_LOG_LIKELIHOOD]


# ---------------------------------------------------------------------------------------------
# Reading the logs


def _local_offset_hours(change_t: np.ndarray) -> int:
    """Whole hours to add to UTC so the busiest 8 hours of the day start at 09:00."""
    if len(change_t) < 20:
        return 0
    hours = ((change_t % NS_PER_DAY) // NS_PER_HOUR).astype(int)
    histogram = np.bincount(hours, minlength=24)
    doubled = np.concatenate([histogram, histogram])
    mass = np.array([doubled[h:h + 8].sum() for h in range(24)])
    busiest = int(np.argmax(mass))
    if mass[busiest] <= 1.1 * mass[int(WORK_START_HOUR)]:
        return 0
    return (int(WORK_START_HOUR) - busiest + 12) % 24 - 12


class _Reader:
    """Holds the arrays, the window and the local-time offset while the estimates are made."""

    def __init__(self, logs: EventLogs, base: Scenario):
        self.base = base
        self.a = a = _arrays(logs)
        self.offset_ns = _local_offset_hours(a.change_t) * NS_PER_HOUR
        first_day, self.end = default_window(a)
        self.start = first_day
        planned = np.flatnonzero(~a.unplanned)
        self.planned_rows = planned[np.argsort(a.deploy_t[planned], kind="stable")]
        self.cadence = self._cadence(self.planned_rows) if len(planned) >= 2 else None
        if self.cadence and len(planned) < MIN_DEPLOYMENTS and self.cadence[0] not in WEEKEND_CADENCES:
            self.cadence = None  # a few weekday deployments do not show a pattern; a few Saturdays do
        scheduled = self.cadence is not None and self.cadence[0] in WEEKEND_CADENCES
        self.start = infer_start(a, first_day, self.end, self._no_release_before(), scheduled)
        self.end = _quiet_weekend_end(self.start, self.end)
        start, end = pd.Timestamp(self.start, tz="UTC"), pd.Timestamp(self.end, tz="UTC")
        observed = score(logs.changes, logs.deployments, logs.incidents, start=start, end=end)
        self.facts = LogFacts(start, end, dict(observed))
        self.facts.warnings.extend(observed["warnings"])
        if first_day < self.start:
            self._note_window(logs, first_day)
        if self.offset_ns:
            hour = (WORK_START_HOUR - self.offset_ns / NS_PER_HOUR) % 24
            self.facts.stats["working_hours_utc"] = f"{hour:02.0f}:00–{(hour + 8) % 24:02.0f}:00"
        self.deploy_in = self.in_window(a.deploy_t)
        self.planned = self.deploy_in & ~a.unplanned
        self.duration_h: float | None = None

    def in_window(self, t: np.ndarray) -> np.ndarray:
        return (t >= self.start) & (t < self.end)

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
        default = score(logs.changes, logs.deployments, logs.incidents)["metrics"]["deployment_frequency_per_day"]
        first = pd.Timestamp(default_start, tz="UTC").date()
        start = pd.Timestamp(self.start, tz="UTC").date()
        self.facts.warnings.append(
            f"{early} changes were created before {start} (from {first}) and only shipped later: the logs "
            f"cover {start} onwards completely, so the window starts there (score's default window from "
            f"{first} gives deployment frequency {default:.3g}/day); those changes count for lead time only")

    # -- helpers ----------------------------------------------------------------------------------
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

    # -- work -------------------------------------------------------------------------------------
    def work(self) -> None:
        a = self.a
        created_in = self.in_window(a.change_t)
        first_unplanned = (a.first_deploy >= 0) & a.unplanned[np.clip(a.first_deploy, 0, None)]
        team_changes = created_in & ~first_unplanned
        local_days = self.local(a.change_t[team_changes])
        weekend = local_days.day_of_week >= SATURDAY
        n_days = self.facts.days
        start_weekday = pd.Timestamp(self.start + self.offset_ns).day_of_week
        working_days = int(np.sum((start_weekday + np.arange(n_days)) % 7 < SATURDAY))
        if working_days == 0 or team_changes.sum() == 0:
            self.facts.missing.append("no changes created on a working day inside the window: team size and "
                                      "output per engineer left at the base's values")
            return
        per_day = float((~weekend).sum()) / working_days
        self.facts.stats["changes_per_working_day"] = per_day
        if weekend.any():
            share = float(weekend.mean())
            self.facts.stats["weekend_change_share"] = share
            if share > 0.03:
                self.facts.warnings.append(
                    f"{share:.0%} of changes were made at weekends; the scenario keeps team.overtime at "
                    f"{self.base_value('team.overtime')} (set it if the team works weekends)")
        rate = float(self.base_value("team.changes_per_engineer_per_day"))
        engineers = int(min(500, max(1, round(per_day / rate))))
        per_engineer = min(50.0, per_day / engineers)
        self.set("team.engineers", engineers,
                 f"{per_day:.1f} changes per working day at the base's ~{rate:g} per engineer")
        self.set("team.changes_per_engineer_per_day", round(per_engineer, 4),
                 f"{per_day:.1f} changes per working day / {engineers} engineers")

    # -- release train ----------------------------------------------------------------------------
    def release(self) -> None:
        a = self.a
        rows = np.flatnonzero(self.planned)
        rows = rows[np.argsort(a.deploy_t[rows], kind="stable")]
        if self.cadence is not None:
            cadence, how = self.cadence
            self.set("release.cadence", cadence, how)
        else:
            cadence = self.base_value("release.cadence")
            self.facts.missing.append(
                f"only {_count(len(rows), 'planned deployment')} in the window ({MIN_DEPLOYMENTS} needed to see a weekday "
                f"pattern): release.cadence left at the base's {cadence!r}")
        if len(rows) == 0:
            return
        sizes = self.n_listed(rows)
        cap = self._batch_cap(sizes)
        self.facts.stats["changes_per_planned_deployment"] = float(sizes.mean())
        self._deploy_method(rows, cadence, cap)
        self._lead_time_split(rows, cap)

    def _cadence(self, rows: np.ndarray) -> tuple[str, str]:
        local = self.local(self.a.deploy_t[rows])
        weekday = local.day_of_week.to_numpy()
        hour = (local.hour + local.minute / 60).to_numpy()
        weekend_share = float(np.mean(weekday >= SATURDAY))
        if weekend_share >= 0.6:
            return self._weekend_cadence(local[weekday >= SATURDAY], weekend_share)
        # the model's daily window opens at 15:00 on working days and stays open into the evening
        after_window = ((weekday < SATURDAY) & (hour >= DAILY_RELEASE_HOUR)) | (
            (weekday >= 1) & (weekday <= SATURDAY) & (hour < 6))
        day_key = (local - pd.Timedelta(hours=6)).normalize()
        deploy_days = day_key.nunique()
        working_days = max(1, round((self.end - self.start) / NS_PER_DAY * 5 / 7))
        busy = deploy_days >= 0.4 * working_days
        if after_window.mean() >= 0.9:
            return "daily", (f"{after_window.mean():.0%} of planned deployments ship on working days after "
                             f"15:00, on {deploy_days} days")
        first_hours = pd.Series(hour).groupby(day_key.to_numpy()).first()
        iqr = float(np.subtract(*np.percentile(first_hours, [75, 25]))) if len(first_hours) else 24.0
        per_day = len(rows) / max(deploy_days, 1)
        if busy and per_day <= 1.2 and iqr <= 2.5:
            return "daily", f"one planned deployment a day at a steady time of day, on {deploy_days} days"
        return "continuous", (f"{len(rows)} planned deployments at any time of the working week "
                              f"({per_day:.1f} per deployment day)")

    def _weekend_cadence(self, weekend_local: pd.DatetimeIndex, share: float) -> tuple[str, str]:
        saturdays = {(d - pd.Timedelta(days=d.day_of_week - SATURDAY)).date() for d in weekend_local.normalize()}
        first = pd.Timestamp(self.start + self.offset_ns).date()
        days = [first + dt.timedelta(days=i) for i in range((self.end - self.start) // NS_PER_DAY)]
        candidates = {cadence: {d for d in days if _opens_on(cadence, d)} for cadence in ("weekly", "biweekly", "monthly")}

        def jaccard(windows: set) -> float:
            return len(windows & saturdays) / max(1, len(windows | saturdays))

        best = max(candidates, key=lambda c: (jaccard(candidates[c]), -len(candidates[c])))
        return best, (f"{share:.0%} of planned deployments ship at weekends, on {len(saturdays)} Saturdays "
                      f"(matching the {best} Saturday windows)")

    def _batch_cap(self, sizes: np.ndarray) -> int:
        """The batch cap when batch sizes pile up at their maximum (0 = none seen)."""
        if len(sizes) < MIN_DEPLOYMENTS:
            self.facts.missing.append(
                f"only {_count(len(sizes), 'planned deployment')}: release.max_batch_size left at the base's value")
            return int(self.base_value("release.max_batch_size"))
        top = int(sizes.max())
        at_top = int((sizes == top).sum())
        if top >= 1 and at_top >= 3 and at_top >= 0.2 * len(sizes):
            self.set("release.max_batch_size", top,
                     f"{at_top} of {len(sizes)} planned deployments ship exactly {top} changes, none more")
            return top
        self.set("release.max_batch_size", 0, f"batch sizes up to {top} do not pile up at a maximum")
        return 0

    def _durations(self, rows: np.ndarray, cadence: str, cap: int) -> tuple[list[float], list[float]]:
        """(deploy-duration samples in hours, gaps between consecutive planned deployments)."""
        a = self.a
        samples: list[float] = []
        for row in np.flatnonzero(self.deploy_in & a.unplanned):
            changes = a.listed[row]
            if len(changes) == 1 and a.first_deploy[changes[0]] == row:
                took = (a.deploy_t[row] - a.change_t[changes[0]]) / NS_PER_HOUR
                if 0 < took < 24:
                    samples.append(took)
        times = a.deploy_t[rows]
        gaps = np.diff(times) / NS_PER_HOUR
        if cadence != "continuous":
            session = np.concatenate([[0], np.cumsum(gaps > 12)])
            if cap:  # a full batch is followed at once by the next one: the gap is one deployment
                full = self.n_listed(rows[:-1]) >= cap
                samples.extend(g for g, s0, s1, f in zip(gaps, session[:-1], session[1:], full) if s0 == s1 and f)
            open_hour = DAILY_RELEASE_HOUR if cadence == "daily" else WEEKEND_RELEASE_HOUR
            local = self.local(times)
            for k in np.flatnonzero(np.diff(np.concatenate([[-1], session])) != 0):
                since = (local[k] - (local[k] - pd.Timedelta(hours=open_hour)).normalize()).total_seconds() / 3600
                since -= open_hour
                if 0 < since < 12:
                    samples.append(since)
        return samples, [float(g) for g in gaps if g < 12]

    def _deploy_method(self, rows: np.ndarray, cadence: str, cap: int) -> None:
        samples, gaps = self._durations(rows, cadence, cap)
        checklist = self._checklist_incidents()
        if len(samples) >= MIN_SAMPLES:
            # the median resists deployments that waited for work to become ready inside a window
            typical = float(np.median(samples))
            mean = typical * 1.05
            self.duration_h = mean
            if typical >= MANUAL_MIN_HOURS:
                self.set("release.deploy", "manual", f"deployments take {typical:.1f} h (median of {len(samples)})")
                self.set("release.manual_deploy_hours", round(min(48.0, max(0.25, mean)), 3),
                         f"median of {len(samples)} deploy durations")
            else:
                self.set("release.deploy", "automated",
                         f"deployments take {typical * 60:.0f} min (median of {len(samples)})")
                self.set("release.automated_deploy_minutes", round(min(600.0, max(1.0, mean * 60)), 2),
                         f"median of {len(samples)} deploy durations")
        elif cadence == "continuous" and len(gaps) >= 10 and np.percentile(gaps, 5) < MANUAL_MIN_HOURS:
            self.set("release.deploy", "automated", "deployments follow each other within minutes")
        elif checklist:
            self.set("release.deploy", "manual", f"{checklist} incidents began the moment a deployment ended")
        else:
            self.facts.missing.append("deploy durations cannot be read from the logs: release.deploy left at "
                                      f"the base's {self.base_value('release.deploy')!r}")
        method = self.facts.estimates.get("release.deploy", Estimate(self.base_value("release.deploy"), "")).value
        if self.duration_h is None:
            self.duration_h = (float(self.base_value("release.manual_deploy_hours")) if method == "manual"
                               else float(self.base_value("release.automated_deploy_minutes")) / 60)
        if method == "manual":
            n = int(self.deploy_in.sum())
            prior = float(self.base_value("release.manual_error_rate"))
            rate = (checklist + 20 * prior) / (n + 20)
            self.set("release.manual_error_rate", round(rate, 4),
                     f"{checklist} of {n} deployments failed the moment they ended (shrunk towards the base's "
                     f"{prior:g})")

    def _checklist_incidents(self) -> int:
        a = self.a
        caused = self.in_window(a.incident_t) & (a.incident_deploy >= 0)
        rows = a.incident_deploy[caused]
        delay = (a.incident_t[caused] - a.deploy_t[rows]) / NS_PER_HOUR
        return int(np.sum(np.abs(delay) <= SAME_INSTANT_HOURS))

    def _lead_time_split(self, rows: np.ndarray, cap: int) -> None:
        """Median time before release → branching strategy (and, behind a full release train, lifetime)."""
        room = np.ones(len(rows), dtype=bool) if not cap else self.n_listed(rows) < cap
        if room.mean() < 0.3:
            self._queue_order_split(rows)
            return
        lows, highs = self._readiness_intervals(rows, room)
        if len(highs) < 10:
            self.facts.missing.append("too few shipped changes to split lead time: branching left at the base's values")
            return
        median = _interval_lognormal_median(np.array(lows), np.array(highs))
        self._record_split(median, f"half of the changes are ready to release within {median:.1f} h of being created")

    def _readiness_intervals(self, rows: np.ndarray, room: np.ndarray) -> tuple[list[float], list[float]]:
        """Per shipped change: (not ready at the last earlier release with room, ready by its own) in hours."""
        a = self.a
        if self.duration_h is None:
            raise RuntimeError("the deploy duration is read (_deploy_method) before lead time is split")
        starts = a.deploy_t[rows] - int(self.duration_h * NS_PER_HOUR)
        lows: list[float] = []
        highs: list[float] = []
        position = {int(r): k for k, r in enumerate(rows)}
        shipped = np.flatnonzero((a.first_deploy >= 0) & self.in_window(a.deploy_t[np.clip(a.first_deploy, 0, None)]))
        for c in shipped:
            k = position.get(int(a.first_deploy[c]))
            if k is None:
                continue
            high = (starts[k] - a.change_t[c]) / NS_PER_HOUR
            earlier = np.flatnonzero(room[:k])
            low = (starts[earlier[-1]] - a.change_t[c]) / NS_PER_HOUR if len(earlier) else 0.0
            if high > 0:
                lows.append(max(low, 0.0))
                highs.append(max(high, low + 1e-3))
        return lows, highs

    def _queue_order_split(self, rows: np.ndarray) -> None:
        """Behind a full release train changes ship in the order they became ready.

        A change shipped after one created later cannot have been ready before that one was
        created: the gap is a lower bound of its time before release. The upper quartile of these
        bounds tracks the median time before release (checked against the model's own records).
        """
        a = self.a
        self.facts.stats["release_train_full"] = True
        latest = -np.inf
        bounds: list[float] = []
        for row in rows:
            first = [c for c in a.listed[row] if a.first_deploy[c] == row]
            if not first:
                continue
            created = a.change_t[first]
            if np.isfinite(latest):
                bounds.extend(np.maximum(0.0, (latest - created) / NS_PER_HOUR))
            latest = max(latest, float(created.max()))
        if len(bounds) < 10:
            self.facts.missing.append("too few shipped changes to split lead time: branching left at the base's values")
            return
        lead = self.facts.observed["metrics"]["lead_time_hours"]
        median = float(np.percentile(bounds, 75))
        if lead is not None:
            median = min(median, lead)
        self._record_split(median, f"changes leave the full release queue up to {median:.1f} h out of the order "
                                   "they were created in")

    def _record_split(self, median: float, how: str) -> bool:
        lead = self.facts.observed["metrics"]["lead_time_hours"]
        self.facts.stats["median_hours_before_release"] = median
        if lead is not None:
            self.facts.stats["median_hours_waiting_for_release"] = max(0.0, lead - median)
        trunk = median < 24.0
        self.set("branching.strategy", "trunk" if trunk else "long_lived", how)
        return trunk

    def escapes(self) -> None:
        """Share of changes that reach production with a defect: from which planned deployments failed.

        A deployment of n new changes fails by a defect with probability 1 − (1 − q)^n; the
        maximum-likelihood q over the planned deployments (checklist failures set aside) starts the
        defect-rate fit. Unlike the change failure rate it does not mix in rollbacks and hotfixes.
        """
        a = self.a
        rows = np.flatnonzero(self.planned)
        if len(rows) < MIN_DEPLOYMENTS:
            return
        caused = self.in_window(a.incident_t) & (a.incident_deploy >= 0)
        delays = a.incident_t[caused] - a.deploy_t[a.incident_deploy[caused]]
        by_defect = set(a.incident_deploy[caused][delays > SAME_INSTANT_HOURS * NS_PER_HOUR].tolist())
        sizes = np.array([int(np.sum(a.first_deploy[a.listed[r]] == r)) for r in rows], dtype=float)
        failed = np.array([r in by_defect for r in rows])
        keep = sizes > 0
        sizes, failed = sizes[keep], failed[keep]
        if len(sizes) < MIN_DEPLOYMENTS:
            return
        self.facts.stats["planned_failure_share"] = float(failed.mean())
        self.facts.stats["new_changes_per_planned_deployment"] = float(sizes.mean())

        def negative_ll(log_q: float) -> float:
            survive = np.exp(sizes * math.log1p(-math.exp(log_q)))
            return -float(np.sum(np.where(failed, np.log(np.maximum(1.0 - survive, 1e-12)),
                                          np.log(np.maximum(survive, 1e-12)))))

        best = optimize.minimize_scalar(negative_ll, bounds=(math.log(1e-6), math.log(0.5)), method="bounded")
        self.facts.stats["escaped_defects_per_change"] = float(math.exp(best.x))
        # a hotfix ships one change that skipped CI: it fails with the plain defect rate
        hotfixes = [r for r in np.flatnonzero(self.deploy_in & a.unplanned)
                    if len(a.listed[r]) == 1 and a.first_deploy[a.listed[r][0]] == r]
        if hotfixes:
            self.facts.stats["hotfixes"] = len(hotfixes)
            self.facts.stats["hotfix_failure_share"] = float(np.mean([r in by_defect for r in hotfixes]))

    # -- restores ---------------------------------------------------------------------------------
    def restores(self) -> None:
        a = self.a
        incident_in = self.in_window(a.incident_t)
        no_cause = int((incident_in & (a.incident_deploy == -1)).sum())
        unknown = int((incident_in & (a.incident_deploy == -2)).sum())
        caused = incident_in & (a.incident_deploy >= 0)
        open_ = int((caused & ~a.resolved).sum())
        if no_cause:
            self.facts.warnings.append(f"{no_cause} incidents not caused by a deployment were ignored "
                                       "(the model restores change failures only)")
        if unknown:
            self.facts.warnings.append(f"{unknown} incidents name a deployment that is not in the log; ignored")
        if open_:
            self.facts.warnings.append(f"{open_} change-caused incidents are still open; ignored for restore times")
        done = np.flatnonzero(caused & a.resolved)
        if len(caused.nonzero()[0]) == 0:
            self.facts.missing.append("no incidents caused by a deployment: restore paths, detection and when "
                                      "defects fire cannot be read")
            return
        delays = (a.incident_t[caused] - a.deploy_t[a.incident_deploy[caused]]) / NS_PER_HOUR
        fired = delays[delays > SAME_INSTANT_HOURS]
        if len(fired) >= 5:
            self.set("operations.fire_delay_hours", round(float(min(720.0, fired.mean())), 3),
                     f"mean time from deployment to failure over {len(fired)} incidents")
        paths = self._paths(done)
        counts = {p: int(sum(1 for q in paths.values() if q == p)) for p in ("rollback", "hotfix", "flag")}
        self.facts.stats["restore_paths"] = counts
        if not done.size:
            self.facts.missing.append("no resolved change-caused incidents: restore parameters left at the "
                                      "base's values")
            return
        rollback = counts["rollback"] > counts["hotfix"]
        if counts["rollback"] + counts["hotfix"]:
            self.set("operations.automated_rollback", rollback,
                     f"{counts['rollback']} restores by an empty unplanned deployment (rollback), "
                     f"{counts['hotfix']} by a hotfix deployment")
        self._feature_flags(done, paths)
        fast = [h for i, h in self._restore_hours(done).items() if paths.get(i) in ("rollback", "flag")]
        if len(fast) >= MIN_SAMPLES:
            action = np.float64(np.mean([float(self.base_value("operations.rollback_minutes"))
                                         if paths[i] == "rollback" else float(self.base_value("operations.flag_flip_minutes"))
                                         for i in paths if paths[i] in ("rollback", "flag")]))
            detect = max(1.0, float(np.mean(fast)) * 60 - action)
            self.set("operations.detect_minutes", round(min(20160.0, detect), 2),
                     f"mean of {len(fast)} rollback / flag restores minus the switch itself")

    def _feature_flags(self, done: np.ndarray, paths: dict[int, str]) -> None:
        """Flag flips restore without a deployment, and only defects of flagged changes.

        Counted over resolved defect incidents of planned deployments (checklist errors and rushed
        hotfixes cannot be switched off). An incident is switched off when every escaped defect
        of its batch is behind a flag, so with K ~ Poisson(λ) escaped defects (given K ≥ 1) the
        share switched off is E[c^K | K ≥ 1]; solving for c gives ``flag_coverage``.
        """
        a = self.a
        rows = a.incident_deploy[done]
        delay = (a.incident_t[done] - a.deploy_t[rows]) / NS_PER_HOUR
        eligible = [int(i) for i, row, d in zip(done, rows, delay) if not a.unplanned[row] and d > SAME_INSTANT_HOURS]
        flips = sum(1 for i in eligible if paths.get(i) == "flag")
        total = len(done)
        if flips >= 3 and flips >= 0.2 * len(eligible):
            share = flips / len(eligible)
            escapes = self.facts.stats.get("escaped_defects_per_change")
            size = self.facts.stats.get("new_changes_per_planned_deployment")
            coverage = _coverage_for(share, escapes * size) if escapes and size else share
            self.set("branching.feature_flags", True,
                     f"{flips} of {len(eligible)} defect incidents were restored without a deployment (a flag "
                     "switched off)")
            self.set("branching.flag_coverage", round(coverage, 3),
                     f"{share:.0%} of defect incidents switched off, with ~{(escapes or 0) * (size or 0):.1f} escaped "
                     "defects per deployment all needing a flag")
        elif total >= 5 and self.base_value("branching.feature_flags"):
            self.set("branching.feature_flags", False, f"all but {flips} of {total} restores needed a deployment")

    def _restore_hours(self, done: np.ndarray) -> dict[int, float]:
        a = self.a
        return {int(i): (a.resolved_t[i] - a.incident_t[i]) / NS_PER_HOUR for i in done}

    def _paths(self, done: np.ndarray) -> dict[int, str]:
        """How each resolved incident was restored: the unplanned deployment logged at its resolution.

        Pairs are (incident, unplanned deployment) within ``RESOLVE_BEFORE_HOURS`` before to
        ``RESOLVE_AFTER_HOURS`` after the resolution, matched one to one, closest first, so a busy
        team's rollbacks are not credited to each other's incidents. No deployment = a flag flip.
        """
        a = self.a
        rows = np.flatnonzero(a.unplanned)
        times = a.deploy_t[rows]
        order = np.argsort(times, kind="stable")
        rows, times = rows[order], times[order]
        before = int(RESOLVE_BEFORE_HOURS * NS_PER_HOUR)
        after = int(RESOLVE_AFTER_HOURS * NS_PER_HOUR)
        pairs: list[tuple[int, int, int]] = []
        for i in done:
            resolved = a.resolved_t[i]
            lo = np.searchsorted(times, max(a.incident_t[i], resolved - before), side="left")
            hi = np.searchsorted(times, resolved + after, side="right")
            pairs.extend((abs(int(times[k]) - int(resolved)), int(i), int(rows[k])) for k in range(lo, hi))
        out = {int(i): "flag" for i in done}
        used: set[int] = set()
        for _distance, incident, row in sorted(pairs):
            if out[incident] == "flag" and row not in used:
                out[incident] = "rollback" if len(a.listed[row]) == 0 else "hotfix"
                used.add(row)
        return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _coverage_for(share: float, escaped: float) -> float:
    """Flag coverage c with E[c^K | K ≥ 1] = share for K ~ Poisson(``escaped``)."""
    lam = max(escaped, 1e-6)
    none = math.exp(-lam)

    def switched_off(c: float) -> float:
        return (math.exp(-lam * (1.0 - c)) - none) / (1.0 - none)

    if share >= 1.0:
        return 1.0
    return float(optimize.brentq(lambda c: switched_off(c) - share, 0.0, 1.0))


def _opens_on(cadence: str, day: dt.date) -> bool:
    """Whether the model opens a weekend release window of ``cadence`` on ``day`` (sim.model.calendar)."""
    if day.weekday() != SATURDAY:
        return False
    if cadence == "biweekly":
        return (day.toordinal() // 7) % 2 == 0
    if cadence == "monthly":
        return day.day <= 7
    return cadence == "weekly"


def _interval_lognormal_median(lows: np.ndarray, highs: np.ndarray) -> float:
    """Median of a log-normal fitted by maximum likelihood to times known to lie in (low, high]."""
    log_hi = np.log(highs)
    with np.errstate(divide="ignore"):
        log_lo = np.where(lows > 0, np.log(np.maximum(lows, 1e-12)), -np.inf)

    def negative_ll(theta: np.ndarray) -> float:
        mu, sigma = theta[0], math.exp(theta[1])
        upper = stats.norm.cdf((log_hi - mu) / sigma)
        lower = stats.norm.cdf((log_lo - mu) / sigma)
        return -float(np.sum(np.log(np.maximum(upper - lower, 1e-300))))

    start = np.array([float(np.median(log_hi)) - 0.5, 0.0])
    fit = optimize.minimize(negative_ll, start, method="Nelder-Mead")
    return float(math.exp(fit.x[0]))


def read_facts(logs: EventLogs, base: Scenario) -> LogFacts:
    """The window, the observed metrics and every direct estimate the logs allow."""
    reader = _Reader(logs, base)
    facts = reader.facts
    counts = facts.observed["counts"]
    undeployed = counts["undeployed_changes"]
    if undeployed:
        facts.warnings.append(f"{undeployed} changes created in the window were never deployed in it "
                              "(counted as work, not timed)")
    reader.work()
    reader.release()
    reader.escapes()
    reader.restores()
    return facts
