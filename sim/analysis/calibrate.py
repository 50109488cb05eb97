"""Calibrate a scenario to a team's own logs (``python -m sim calibrate``, docs/cli.md).

Two halves:

1. **Estimate** what the logs show directly (:mod:`sim.analysis.log_facts`): the window, team size
   and output, release cadence, batch cap, deploy method and duration, restore paths, feature
   flags, detection, when defects fire, and the lead-time split that picks the branching strategy.
2. **Fit** what they cannot show by simulation: the defect rate (→ change failure rate), the
   branch lifetime (→ lead time; behind a release train that is always full also the warm-up,
   i.e. the backlog the window opens with; for a team whose replayed releases fix its waits, the
   share of work made in the run-up to a release) and the hand-repair or detection time (→ time to
   restore) are chosen so that the p50 of the simulated DORA metrics matches the observed values.

What is fitted, with its ranges and starts, is chosen in :mod:`sim.analysis.calibrate_plan`; the
search is in :mod:`sim.analysis.calibrate_search` (a trust-region search on a response surface,
every evaluation with common random numbers, residuals scaled by the accuracy bar), the file, report
and diagnostics it writes in :mod:`sim.analysis.calibrate_report`. Parameters stay within their
validated ranges; what the data cannot tell stays at the base scenario's value.

Big logs are fitted on part of their window: when simulating the whole window would make more than
:data:`FIT_CHANGES` changes a replication, every replication of the fit and of the check simulates
only the window's first days (at least :data:`MIN_FIT_DAYS`), because a stable team's rates and
medians do not depend on how long it is watched. The written scenario keeps its whole window (from the
Monday on or before the logs' first day to their end), and a warning says how many days were simulated
(a year of 2 M changes: 28 days a replication).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.calibrate_plan import RELEASE_WHEN_READY, plan_fit, quiet_defect_rate
from sim.analysis.calibrate_report import diagnostics, origins_of, report_of, scenario_text
from sim.analysis.calibrate_search import (
    BAR,
    MAX_EVALUATIONS,
    METRICS,
    POLISH_EVALUATIONS,
    _Evaluator,
    _replication_metrics,
    bar_error,
    fit_by_simulation,
    scaled_error,
)
from sim.analysis.ci_facts import add_ci_facts
from sim.analysis.log_facts import Estimate, LogFacts, read_facts
from sim.analysis.parallel import run_tasks
from sim.analysis.stability import stability_sentence
from sim.errors import InputError
from sim.metrics.bands import check_benchmark
from sim.metrics.logs import EventLogs
from sim.model.advice import fit_caveat
from sim.model.catalog import shipped
from sim.model.scenario import (
    Scenario,
    load_scenario,
    load_scenario_text,
)

__all__ = [
    "BAR",
    "CHECK_REPS",
    "DEFAULT_REPS",
    "METRICS",
    "CalibrationResult",
    "bar_error",
    "calibrate",
    "check_window",
    "default_base_path",
    "fit_days",
    "plan_fit",
    "scaled_error",
]

DEFAULT_REPS = 8  # replications per evaluation while fitting
CHECK_REPS = 20  # replications of the final check (what the report shows)
FIT_CHANGES = 150_000  # changes a replication simulates in its window while fitting, at most
MIN_FIT_DAYS = 28  # ... but never fewer days than this (four weeks: every weekday four times)


@dataclass(frozen=True)
class CalibrationResult:
    """The calibrated scenario, its commented TOML text and the report (the ``--json`` document)."""

    scenario: Scenario
    toml: str
    report: dict[str, Any]
    warnings: list[str]


def default_base_path() -> Path | None:
    """The shipped ``baseline`` scenario (None if this installation has none)."""
    return shipped("scenario").get("baseline")


# ---------------------------------------------------------------------------------------------
# The whole calibration


def _recorded_releases(facts: LogFacts, estimated: dict[str, Any]) -> None:
    """The window's releases (and the one before it, when the logs place it), replayed by the simulation up to
    the state day: days before it, oldest first."""
    raw = facts.stats.get("release_ages_days") or []
    if not raw:
        return
    # patch releases are marked 'p' when work is held for feature releases (oldest first, as the ages; the
    # release before the window, when placed, leads them)
    patches = facts.stats.get("release_patches") or []
    marks = [False] * (len(raw) - len(patches)) + list(patches)
    pairs = sorted(zip(raw, marks, strict=True), key=lambda pair: -pair[0])
    # the release before the window lies before the scenario's start too (a Monday up to 6 days before the
    # window's first day), and a day before it so that its deployment is over: else the simulated window counts it
    before_start = estimated["release.state_day"] + 1.0
    ages = [(max(age, before_start) if age > facts.days else age, patch) for age, patch in pairs]
    estimated["release.recorded_releases"] = " ".join(
        np.format_float_positional(round(min(3650.0, age), 4), trim="-") + ("p" if patch else "")
        for age, patch in ages
    )
    facts.estimates["release.recorded_releases"] = Estimate(
        estimated["release.recorded_releases"],
        f"{len(ages)} releases in days before the window's end (its own, and the one before it when the logs "
        "place it): the simulation releases then, and the fitted law takes over from the last",
    )


def _old_waiting_work(facts: LogFacts, estimated: dict[str, Any]) -> None:
    """The state's old waiting work: changes made before the last release and not shipped by the window's end."""
    waiting = facts.stats.get("old_waiting_work")
    if not waiting:
        return
    note = (
        f"{waiting['count']} changes made before the window's last release were not shipped by its end "
        f"(ages: median {waiting['median_days']:.0f} days, log-scale spread {waiting['spread']:.2f})"
    )
    for key, value in (
        ("release.waiting_changes", min(100_000, waiting["count"])),
        ("release.waiting_age_days", round(min(3650.0, max(0.01, waiting["median_days"])), 4)),
        ("release.waiting_age_spread", round(min(4.0, waiting["spread"]), 4)),
    ):
        estimated[key] = value
        facts.estimates[key] = Estimate(value, note)


def calibrate(
    logs: EventLogs,
    *,
    base: Scenario | None = None,
    reps: int = DEFAULT_REPS,
    seed: int | None = None,
    workers: int | None = None,
    callback: Callable[[int, int], Any] | None = None,
    check_reps: int = CHECK_REPS,
    benchmark: str = "2023",
    window: tuple[dt.date, dt.date] | None = None,
    ci_runs: pd.DataFrame | None = None,
) -> CalibrationResult:
    """Fit a scenario to a team's logs; see the module docstring.

    ``reps`` replications per evaluation while fitting, ``check_reps`` for the final comparison;
    ``callback(done, total)`` reports progress in replications simulated. ``window`` (start, end
    exclusive, UTC days) sets the window instead of inferring it from the logs. ``ci_runs`` (the table of
    ``ci_runs.csv``, :func:`sim.analysis.ci_facts.read_ci_runs`) adds the CI parameters its runs show.
    """
    benchmark = check_benchmark(benchmark)
    if reps < 1 or check_reps < 1:
        raise InputError(f"reps = {reps}, check_reps = {check_reps}: both must be >= 1")
    warnings: list[str] = []
    base = _resolve_base(base, warnings)
    _check_logs(logs)
    if window is not None:
        window = check_window(logs, window)
    facts = read_facts(logs, base, window)
    if ci_runs is not None:
        add_ci_facts(facts, ci_runs)
    warnings.extend(facts.warnings)
    seed = base.seed if seed is None else seed
    estimated = {key: est.value for key, est in facts.estimates.items()}
    start = (facts.start - pd.Timedelta(days=facts.start.day_of_week)).date()
    # the simulated window runs from that Monday to the logs' end, so it holds every release of the window
    span = (facts.end.date() - start).days
    counts = facts.observed["counts"]
    identity = {
        "name": "calibrated",
        "description": (
            f"Calibrated to logs of {facts.start.date()} to {facts.end.date()} (end exclusive): "
            f"{counts['changes']} changes, {counts['deployments']} deployments, "
            f"{counts['incidents']} incidents"
        ),
        "start": start,
        "days": span,
        "seed": seed,
    }
    if counts["incidents"] == 0 and counts["deployments"] >= 1 and "quality.defect_rate" not in estimated:
        estimated["quality.defect_rate"] = quiet_defect_rate(facts, base)
        facts.estimates["quality.defect_rate"] = Estimate(
            estimated["quality.defect_rate"],
            (
                f"no incident in {counts['deployments']} deployments: the defect rate that gives a change failure "
                f"rate of 0.5 / (deployments + 1), the Jeffreys estimate of a rate seen zero times"
            ),
        )
    if estimated.get("release.cadence") in RELEASE_WHEN_READY:  # the train's state at the window's end
        estimated["release.state_day"] = span
        facts.estimates["release.state_day"] = Estimate(
            estimated["release.state_day"], f"the window's end, {facts.end.date()}: forecasts start there"
        )
        _old_waiting_work(facts, estimated)
        _recorded_releases(facts, estimated)
        if opened := facts.stats.get("open_incidents_at_end"):
            estimated["operations.open_incidents"] = min(1000, int(opened))
            facts.estimates["operations.open_incidents"] = Estimate(
                estimated["operations.open_incidents"],
                "change-caused incidents still open at the window's end: repaired from the state day on",
            )
    scenario = base.with_values({**identity, **estimated}, source="calibration")
    params, notes = plan_fit(facts, scenario)
    days = fit_days(counts["changes"], span)
    if days < span:
        # a stable team's rates and medians do not depend on how long it is watched: big logs are
        # fitted and checked on their first ``days`` days, and the scenario keeps the logs' window
        warnings.append(
            f"the logs hold {counts['changes']} changes in {facts.days} days: each replication "
            f"of the fit simulates the first {days} days (about {FIT_CHANGES} changes), and the "
            f"written scenario keeps days = {span}"
        )
        scenario = scenario.with_values({"days": days}, source="calibration")
    missing = facts.missing + notes
    total = (MAX_EVALUATIONS * reps + (1 + POLISH_EVALUATIONS) * check_reps) if params else check_reps
    progress = _Progress(callback, total)
    evaluations = 0
    converged = None
    results: list[dict[str, Any]] | None = None
    if params:
        evaluator = _Evaluator(
            scenario,
            params,
            facts.observed["metrics"],
            seed=seed,
            workers=workers,
            benchmark=benchmark,
            tick=progress.add,
        )
        best, evaluations = fit_by_simulation(evaluator, np.log([p.start for p in params]), reps, check_reps)
        scenario = evaluator.scenario_at(best.x)
        results = best.replications
        converged = best.good(1.0)
    origins = origins_of(facts, params)
    text = scenario_text(scenario.with_values({"days": span}, source="calibration"), origins, facts)
    written = load_scenario_text(text, "calibrated.toml")
    checked = written.with_values({"days": days}, source="calibration") if days < span else written
    if results is None or checked != scenario:
        tasks = [(checked, seed, k, benchmark) for k in range(check_reps)]
        results = run_tasks(_replication_metrics, tasks, workers=workers, callback=progress.batch())
    scenario = written
    progress.finish()
    fit = {
        "reps": reps,
        "evaluations": evaluations,
        "converged": converged,
        "parameters": [p.key for p in params],
        "days_simulated": days,
    }
    report = report_of(facts, scenario, results, origins, fit, missing, check_reps, seed, benchmark)
    sentence = stability_sentence(report["stability"])
    if sentence:
        warnings.append(f"the calibrated scenario is unstable: {sentence}")
    for key in METRICS:
        row = report["metrics"][key]
        if row["observed"] is not None and row["within_bar"] is False:
            warnings.append(
                f"{key}: simulated p50 {row['simulated_p50']:.4g} vs observed {row['observed']:.4g} "
                f"is outside the calibration bar"
            )
    report["warnings"] = warnings
    fit_record = diagnostics(report, facts, missing)
    report["diagnostics"] = fit_record.model_dump()
    text = scenario_text(scenario.model_copy(update={"calibration": fit_record}), origins, facts)
    scenario = load_scenario_text(text, "calibrated.toml")
    caveat = fit_caveat(scenario)
    report["caveat"] = caveat
    return CalibrationResult(scenario, text, report, warnings)


def check_window(logs: EventLogs, window: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """The window if it is a real one that holds a deployment, else a one-line :class:`InputError`."""
    start, end = window
    if end <= start:
        raise InputError(
            f"--start {start.isoformat()} --end {end.isoformat()}: the end must come after the start"
        )
    times = logs.deployments["time_created"]
    inside = ((times >= pd.Timestamp(start, tz="UTC")) & (times < pd.Timestamp(end, tz="UTC"))).sum()
    if inside == 0:
        raise InputError(
            f"--start {start.isoformat()} --end {end.isoformat()}: no deployment in the window: the "
            f"release train cannot be calibrated (choose a window with releases)"
        )
    return start, end


def fit_days(changes: int, days: int) -> int:
    """Days each fitting replication simulates: the logs' window, or fewer when that would simulate more
    than :data:`FIT_CHANGES` changes (never fewer than :data:`MIN_FIT_DAYS`)."""
    if changes <= FIT_CHANGES:
        return days
    return min(days, max(MIN_FIT_DAYS, math.ceil(days * FIT_CHANGES / changes)))


def _resolve_base(base: Scenario | None, warnings: list[str]) -> Scenario:
    if base is not None:
        return base
    path = default_base_path()
    if path is None:
        warnings.append(
            "scenarios/baseline.toml not found: parameters the logs cannot tell use the model's defaults"
        )
        return Scenario()
    return load_scenario(path)


class _Progress:
    """``callback(done, total)`` in replications simulated; the total is the most the fit may use."""

    def __init__(self, callback: Callable[[int, int], Any] | None, total: int):
        self.callback = callback
        self.total = total
        self.done = 0

    def add(self, n: int) -> None:
        self.done = min(self.total, self.done + n)
        if self.callback is not None and n:
            self.callback(self.done, self.total)

    def batch(self) -> Callable[[int, int], None]:
        start = self.done

        def update(finished: int, _total: int) -> None:
            self.add(start + finished - self.done)

        return update

    def finish(self) -> None:
        self.add(self.total - self.done)


def _check_logs(logs: EventLogs) -> None:
    if len(logs.changes) == 0 and len(logs.deployments) == 0:
        raise InputError("calibrate: the logs hold no changes and no deployments: nothing to calibrate from")
    if len(logs.deployments) == 0:
        raise InputError(
            "calibrate: deployments.csv holds no deployments: the release train cannot be "
            "calibrated (every DORA metric but rework needs deployments)"
        )
