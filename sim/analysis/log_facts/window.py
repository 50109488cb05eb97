"""The window: which days the logs cover completely, and the team's working hours in UTC."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis.log_facts.facts import (
    NS_PER_DAY,
    NS_PER_HOUR,
    PLAUSIBLE_LOG_LIKELIHOOD,
    SATURDAY,
    USUAL_WINDOW_DAYS,
    WORK_START_HOUR,
    _Arrays,
)


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
        if 0 < extra <= 2 and all(
            pd.Timestamp(end + k * NS_PER_DAY).day_of_week >= SATURDAY for k in range(extra)
        ):
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


def _explained_by_counts(
    a: _Arrays,
    candidates: np.ndarray,
    counts: np.ndarray,
    weekend: np.ndarray,
    complete_from: int,
    active_day: int,
    end: int,
) -> np.ndarray:
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
        scores.append(
            float(
                np.sum(counts[before] * np.log(mu) - mu)
                + np.sum(counts[start:complete_from] * np.log(lam) - lam)
            )
        )
    likelihood = np.array(scores)
    return candidates[likelihood >= likelihood.max() - PLAUSIBLE_LOG_LIKELIHOOD]


def _local_offset_hours(change_t: np.ndarray) -> int:
    """Whole hours to add to UTC so the busiest 8 hours of the day start at 09:00."""
    if len(change_t) < 20:
        return 0
    hours = ((change_t % NS_PER_DAY) // NS_PER_HOUR).astype(int)
    histogram = np.bincount(hours, minlength=24)
    doubled = np.concatenate([histogram, histogram])
    mass = np.array([doubled[h : h + 8].sum() for h in range(24)])
    busiest = int(np.argmax(mass))
    if mass[busiest] <= 1.1 * mass[int(WORK_START_HOUR)]:
        return 0
    return (int(WORK_START_HOUR) - busiest + 12) % 24 - 12
