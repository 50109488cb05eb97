"""When will a piece of work be live? Ship-date forecasts over replications (docs/cli.md, docs/app.md).

A piece of work of ``changes`` changes that starts on date ``start`` is, in each replication, the
first ``changes`` changes created at or after ``start`` 00:00 UTC; it ships when the last of them is
first deployed. Replication ``k`` simulates with the scenario's named streams for ``k`` (common
random numbers: the same ``k`` of two scenarios shares its draws), so a baseline and a tuned
scenario are compared on the same work.

The horizon is chosen per replication: it starts at :data:`FIRST_HORIZON_DAYS` past the start
(or longer when the team needs more days to create the work), and is doubled until every change
of the work is deployed or :data:`MAX_HORIZON_DAYS` is reached; a replication that has not shipped
by then is counted as not finished (it never makes a target, and percentiles it would decide are
``null``).

Dates are UTC calendar days. ``p50``/``p85``/``p95`` are empirical quantiles: the p85 date is the
first day by the end of which at least 85 % of replications had shipped. The probability of making
``target`` is the share of replications live by the end of that day.

With plan phases (:func:`forecast` ``phases``), the scenario keeps its own start (phase days count
from it) and the work may start on that day or later.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.analysis.parallel import run_tasks
from sim.errors import InputError
from sim.model.delivery import simulate
from sim.model.params import Phase
from sim.model.scenario import Scenario

DEFAULT_CHANGES = 40
DEFAULT_REPS = 100
FIRST_HORIZON_DAYS = 42
MAX_HORIZON_DAYS = 730
QUANTILES = (5, 10, 50, 85, 95)


@dataclass(frozen=True)
class ShipResult:
    """One replication: hours from the work's start until its last change was live (None: not by the cap)."""

    replication: int
    hours: float | None
    horizon_days: int


def _hours_since_origin(scenario: Scenario, day: dt.date, origin: dt.date) -> float:
    return (day - origin).days * 24.0


def ship_time(
    scenario: Scenario,
    changes: int,
    start: dt.date,
    seed: int,
    replication: int,
    phases: tuple[Phase, ...] = (),
    max_days: int = MAX_HORIZON_DAYS,
) -> ShipResult:
    """Simulate until the first ``changes`` changes created from ``start`` on are all live (or the cap)."""
    offset = (start - scenario.start).days
    team = scenario.team
    per_day = max(team.engineers * team.changes_per_engineer_per_day * 5 / 7, 1e-6)
    horizon = min(max_days, max(FIRST_HORIZON_DAYS, math.ceil(3 * changes / per_day)))
    while True:
        days = offset + horizon
        run = scenario.with_values({"days": days}, source="forecast") if days != scenario.days else scenario
        records = simulate(run, seed, replication, phases)
        t0 = _hours_since_origin(run, start, records.origin)
        created = np.asarray(records.created, dtype=float)
        first_end = np.asarray(records.first_deploy_end, dtype=float)
        candidates = np.flatnonzero(created >= t0)
        if len(candidates) >= changes:
            work = candidates[np.argsort(created[candidates], kind="stable")[:changes]]
            ends = first_end[work]
            if not np.isnan(ends).any():
                return ShipResult(replication, float(ends.max() - t0), horizon)
        if horizon >= max_days:
            return ShipResult(replication, None, horizon)
        horizon = min(max_days, horizon * 2)


def _date_of(start: dt.date, hours: float) -> dt.date:
    """The UTC day on which a change went live ``hours`` after ``start`` 00:00."""
    return start + dt.timedelta(days=math.floor(hours / 24.0))


def _quantile_day(days: Sequence[float], q: float, reps: int) -> float | None:
    """The first day count by which at least ``q`` % of all replications had shipped (None: never)."""
    need = math.ceil(q / 100.0 * reps - 1e-9)
    ordered = sorted(days)
    if need < 1:
        need = 1
    return ordered[need - 1] if need <= len(ordered) else None


def summarize_days(
    days: Sequence[int | None],
    *,
    scenario_name: str,
    changes: int,
    start: dt.date,
    seed: int,
    target: dt.date | None = None,
    max_days: int = MAX_HORIZON_DAYS,
) -> dict[str, Any]:
    """The ``forecast`` JSON of docs/cli.md from each replication's ship day (0 = the start day; None: never)."""
    reps = len(days)
    day_counts = [d for d in days if d is not None]
    quantiles = {q: _quantile_day(day_counts, q, reps) for q in QUANTILES}
    dates = {
        f"p{q}": (None if d is None else (start + dt.timedelta(days=d)).isoformat())
        for q, d in quantiles.items()
    }
    probability = None
    if target is not None:
        allowed = (target - start).days
        probability = sum(1 for d in day_counts if d <= allowed) / reps if reps else None
    p50, p95 = quantiles[50], quantiles[95]
    return {
        "scenario": scenario_name,
        "changes": changes,
        "start": start.isoformat(),
        "reps": reps,
        "seed": seed,
        **dates,
        "target": None if target is None else target.isoformat(),
        "probability_by_target": probability,
        **{f"days_p{q}": quantiles[q] for q in QUANTILES},
        "spread_days": None if p50 is None or p95 is None else p95 - p50,
        "mean_days": float(np.mean(day_counts)) if day_counts else None,
        "unfinished": reps - len(day_counts),
        "max_horizon_days": max_days,
        "ship_dates": [None if d is None else (start + dt.timedelta(days=d)).isoformat() for d in days],
    }


def summarize_ships(
    results: Sequence[ShipResult],
    *,
    scenario_name: str,
    changes: int,
    start: dt.date,
    seed: int,
    target: dt.date | None = None,
) -> dict[str, Any]:
    """The ``forecast`` JSON of docs/cli.md from the replications' ship times."""
    days = [None if r.hours is None else math.floor(r.hours / 24.0) for r in results]
    result = summarize_days(
        days,
        scenario_name=scenario_name,
        changes=changes,
        start=start,
        seed=seed,
        target=target,
        max_days=max((r.horizon_days for r in results), default=0),
    )
    finished = [r.hours / 24.0 for r in results if r.hours is not None]
    result["mean_days"] = float(np.mean(finished)) if finished else None
    return result


def forecast(
    scenario: Scenario,
    changes: int = DEFAULT_CHANGES,
    start: dt.date | None = None,
    *,
    reps: int = DEFAULT_REPS,
    seed: int | None = None,
    target: dt.date | None = None,
    phases: Sequence[Phase] = (),
    workers: int | None = None,
    name: str | None = None,
    max_days: int = MAX_HORIZON_DAYS,
    progress: str | None = None,
    callback: Callable[[int, int], Any] | None = None,
) -> dict[str, Any]:
    """Ship-date distribution of ``changes`` changes starting on ``start`` (default: the scenario's start).

    Without phases the scenario is moved to start on ``start`` (its warm-up fills queues and branches
    before it); with phases it keeps its own start and ``start`` must not come before it.
    """
    if changes < 1:
        raise InputError(f"--changes {changes}: must be >= 1")
    if reps < 1:
        raise InputError(f"--reps {reps}: must be >= 1")
    start = (state_date(scenario) or scenario.start) if start is None else start
    if phases:
        if start < scenario.start:
            raise InputError(
                f"--start {start.isoformat()}: before the plan starts ({scenario.start.isoformat()})"
            )
    elif start != scenario.start:
        scenario = moved_to(scenario, start, source="--start")
    if target is not None and target < start:
        raise InputError(f"--target {target.isoformat()}: before --start {start.isoformat()}")
    seed = scenario.seed if seed is None else seed
    tasks = [(scenario, changes, start, seed, k, tuple(phases), max_days) for k in range(reps)]
    results: list[ShipResult] = run_tasks(
        ship_time, tasks, workers=workers, progress=progress, callback=callback
    )
    return summarize_ships(
        results, scenario_name=name or scenario.name, changes=changes, start=start, seed=seed, target=target
    )


def state_date(scenario: Scenario) -> dt.date | None:
    """The day the scenario's recorded release state holds (None: no state)."""
    day = scenario.release.state_day
    return None if day < 0 else scenario.start + dt.timedelta(days=day)


def moved_to(scenario: Scenario, start: dt.date, *, source: str) -> Scenario:
    """The scenario starting on ``start``; a recorded state keeps its date (dropped when it would lie before)."""
    values: dict[str, Any] = {"start": start}
    recorded = state_date(scenario)
    if recorded is not None:
        values["release.state_day"] = (recorded - start).days if recorded >= start else -1
    return scenario.with_values(values, source=source)


def parse_date(text: str, flag: str) -> dt.date:
    """An ISO date (``2026-03-02``) or a one-line :class:`InputError` naming the flag."""
    try:
        return dt.date.fromisoformat(str(text))
    except ValueError:
        raise InputError(f"{flag} {text!r}: not a date (use YYYY-MM-DD)") from None


def probability_curve(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Share of replications live by the end of each day, from the work's start to the last ship date."""
    start = dt.date.fromisoformat(result["start"])
    reps = result["reps"]
    days = sorted((dt.date.fromisoformat(d) - start).days for d in result["ship_dates"] if d is not None)
    if not days or not reps:
        return []
    rows = []
    for offset in range(days[-1] + 1):
        share = sum(1 for d in days if d <= offset) / reps
        rows.append({"date": (start + dt.timedelta(days=offset)).isoformat(), "day": offset, "share": share})
    return rows
