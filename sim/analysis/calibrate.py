"""Calibrate a scenario to a team's own logs (``python -m sim calibrate``, docs/cli.md).

Two halves:

1. **Estimate** what the logs show directly (:mod:`sim.analysis.log_facts`): the window, team size
   and output, release cadence, batch cap, deploy method and duration, restore paths, feature
   flags, detection, when defects fire, and the lead-time split that picks the branching strategy.
2. **Fit** what they cannot show by simulation: the defect rate (→ change failure rate), the
   branch lifetime (→ lead time; behind a release train that is always full also the warm-up,
   i.e. the backlog the window opens with) and the hand-repair or detection time (→ time to
   restore) are chosen so that the p50 of the simulated DORA metrics matches the observed values.

The fit is a trust-region search on a local linear model of the residuals, re-estimated by
weighted least squares from every point evaluated so far (a response-surface method, robust to
the small jumps a discrete-event simulation makes) and leaning on a rough prior Jacobian; each
step solves the bounded linear problem with :func:`scipy.optimize.lsq_linear`. Every evaluation
runs the same replications with the same seeds (common random numbers), so two parameter sets
differ by their effect, not by luck. It starts with few replications per point (``reps``), then
checks the best point with ``check_reps`` (the report's numbers, and what ``run`` with that
many replications shows) and takes a few smaller steps more if the check drifted. Residuals are
scaled by the accuracy bar: relative errors of deployment frequency (20%), lead time (30%) and
time to restore (35%) on a log scale, absolute error of the change failure rate (0.07).
Parameters stay within their validated ranges; what the data cannot tell stays at the base
scenario's value.

Big logs are fitted on part of their window: when simulating the whole window would make more than
:data:`FIT_CHANGES` changes a replication, every replication of the fit and of the check simulates
only the window's first days (at least :data:`MIN_FIT_DAYS`), because a stable team's rates and
medians do not depend on how long it is watched. The written scenario keeps the logs' window, and a
warning says how many days were simulated (a year of 2 M changes: 28 days a replication).
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
from scipy import optimize

from sim.analysis.log_facts import Estimate, LogFacts, read_facts
from sim.analysis.parallel import run_tasks
from sim.analysis.runner import percentiles, run_replication
from sim.analysis.stability import stability_sentence
from sim.errors import InputError
from sim.metrics.bands import bands_for, check_benchmark
from sim.metrics.logs import EventLogs
from sim.metrics.registry import KEY_METRICS
from sim.model.advice import fit_caveat
from sim.model.catalog import shipped
from sim.model.scenario import (
    Calibration,
    Scenario,
    get_value,
    load_scenario,
    load_scenario_text,
    parameter_info,
    parameter_keys,
    scenario_to_toml,
)

DEFAULT_REPS = 8          # replications per evaluation while fitting
CHECK_REPS = 20           # replications of the final check (what the report shows)
MAX_EVALUATIONS = 18      # parameter sets simulated while fitting, at most
FIT_CHANGES = 150_000     # changes a replication simulates in its window while fitting, at most
MIN_FIT_DAYS = 28         # ... but never fewer days than this (four weeks: every weekday four times)
GOOD_ENOUGH = 0.3         # stop when every scaled residual is within 30% of the accuracy bar
METRICS = ("deployment_frequency_per_day", "lead_time_hours", "change_failure_rate", "time_to_restore_hours")
# the accuracy bar: (relative?, tolerance)
BAR = {
    "deployment_frequency_per_day": (True, 0.20),
    "lead_time_hours": (True, 0.30),
    "change_failure_rate": (False, 0.07),
    "time_to_restore_hours": (True, 0.35),
}
MAX_RESIDUAL = 8.0        # residuals are clipped here: far off is far off
NULL_RESIDUAL = 10.0      # the cost of a metric the simulation leaves null where the logs have it
POLISH_ABOVE = 0.5        # re-fit with the check's replications when a residual there exceeds this
POLISH_EVALUATIONS = 4
MIN_LEAD_FIT_DEPLOYMENTS = 3  # an irregular team's lead time is fitted from this many releases on
IRREGULAR_MAX_BRANCH_DAYS = 120.0
RELEASE_WHEN_READY = ("irregular", "when_ready")  # cadences of teams that release when they judge it ready  # the longest branch life the fit may choose for a team releasing when ready
PATIENCE = 4              # evaluations in a row without a 2% better cost before a search gives up


FIT_NOTES = {
    "quality.defect_rate": "chosen by simulation so the simulated change failure rate matches the logs",
    "branching.branch_lifetime_days": "chosen by simulation so the simulated median lead time matches the logs",
    "simulation.warmup_days": "chosen by simulation: the backlog the window opens with gives the observed "
                              "median lead time",
    "operations.hotfix_hours": "chosen by simulation so the simulated median time to restore matches the logs",
    "operations.detect_minutes": "chosen by simulation so the simulated median time to restore matches the logs",
}


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
# What to fit


@dataclass(frozen=True)
class FitParameter:
    key: str
    target: str           # the metric it mainly moves
    low: float
    high: float
    start: float
    elasticity: float = 1.0  # rough change of the target per unit change of log(parameter), a prior
    integer: bool = False

    def clip(self, value: float) -> float:
        return float(min(self.high, max(self.low, value)))

    def file_value(self, value: float) -> float | int:
        """The value as the scenario file holds it (what the simulation then runs)."""
        value = self.clip(value)
        return round(value) if self.integer else _round(value)


def _escape_share(scenario: Scenario) -> float:
    """Rough share of defects CI lets through: skipped suites catch nothing (sim.model.delivery's skip rule)."""
    ci = scenario.ci
    slow = 1.0 - math.exp(-(ci.test_suite_minutes - ci.skip_threshold_minutes) / (3.0 * ci.skip_threshold_minutes)) \
        if ci.test_suite_minutes > ci.skip_threshold_minutes else 0.0
    skip = min(0.95, slow + ci.flaky_distrust * ci.flaky_rate)
    return skip + (1.0 - skip) * (1.0 - scenario.quality.test_detection_rate)


def _quiet_defect_rate(facts: LogFacts, scenario: Scenario) -> float:
    """A defect rate for logs without incidents: the failure rate 0.5 / (n + 1) of n deployments, per change."""
    n = facts.observed["counts"]["deployments"]
    size = max(1.0, float(facts.stats.get("changes_per_planned_deployment", 1.0)))
    per_change = 1.0 - (1.0 - 0.5 / (n + 1)) ** (1.0 / size)
    return round(min(0.9, max(1e-4, per_change / max(0.05, _escape_share(scenario)))), 6)


def _hotfix_start(scenario: Scenario, restore: float, incidents_per_hour: float, batch: float) -> float:
    """Hand-repair hours that give the observed restore time, queue included (an M/G/c guess).

    Restore = detection + waiting for an expert + diagnosis and fix (gamma, cv 0.7, growing with
    log2 of the batch) + the hotfix deployment; its median is taken as 0.85 x its mean.
    """
    ops = scenario.operations
    deploy = (scenario.release.manual_deploy_hours if scenario.release.deploy == "manual"
              else scenario.release.automated_deploy_minutes / 60)
    growth = 1.0 + ops.diagnosis_growth * math.log2(max(1.0, batch))

    def predicted(hours: float) -> float:
        service = hours * growth
        load = incidents_per_hour * service / ops.experts
        wait = incidents_per_hour * 1.49 * service**2 / (2 * (1 - load)) / ops.experts if load < 1 else math.inf
        return 0.85 * (ops.detect_minutes / 60 + wait + service + deploy)

    stable = 0.95 * ops.experts / max(incidents_per_hour * growth, 1e-9)
    high = min(200.0, stable)
    if predicted(0.05) >= restore:
        return 0.05
    if predicted(high) <= restore:
        return high
    return float(optimize.brentq(lambda h: predicted(h) - restore, 0.05, high, xtol=1e-3))


def _lead_parameter(facts: LogFacts, scenario: Scenario) -> FitParameter:
    """The branch lifetime, fitted to the median lead time, with its range and a start from the lead-time split."""
    trunk = scenario.branching.strategy == "trunk"
    low, high = (0.01, 2.0) if trunk else (0.25, 60.0)
    if scenario.release.cadence in RELEASE_WHEN_READY:
        # work waits for a release judged ready: how long it sat before is the only other part of
        # lead time the logs show, and on such teams it can be weeks whatever the branching
        low, high = 0.01, IRREGULAR_MAX_BRANCH_DAYS
    before = facts.stats.get("median_hours_before_release")
    if before is None:
        start = scenario.branching.branch_lifetime_days
    elif trunk:
        start = before / 24.0 / 2.0
    else:
        start = before / 24.0 / 0.55  # about half a branch's life passes before a change merges
    return FitParameter("branching.branch_lifetime_days", "lead_time_hours", low, high, min(high, max(low, start)), 0.6)


def plan_fit(facts: LogFacts, scenario: Scenario) -> tuple[list[FitParameter], list[str]]:
    """The parameters to fit, each with its range and starting value, and notes on what is not fitted."""
    observed = facts.observed["metrics"]
    counts = facts.observed["counts"]
    notes: list[str] = []
    irregular = scenario.release.cadence in RELEASE_WHEN_READY
    lead = observed["lead_time_hours"]
    if counts["deployments"] < 5 and not (irregular and counts["deployments"] >= MIN_LEAD_FIT_DEPLOYMENTS
                                          and lead is not None):
        notes.append(f"only {counts['deployments']} deployment(s) in the window (at least 5 needed): nothing fitted by "
                     "simulation; defect rate, branch lifetime and repair times left at the base's values")
        return [], notes
    fit: list[FitParameter] = []
    if counts["deployments"] < 5:
        # a team releasing when ready shows its lead time in a few releases; failures need more
        notes.append(f"only {counts['deployments']} deployments in the window: the branch lifetime is fitted to "
                     "the lead time; defect rate and repair times left at the base's values (5 needed)")
        return [_lead_parameter(facts, scenario)], notes
    if lead is not None:
        fit.append(_lead_parameter(facts, scenario))
        if facts.stats.get("release_train_full"):
            # changes queue for a full release train: their wait also depends on the backlog the
            # window opened with, which the days simulated before the window build up
            fit.append(FitParameter("simulation.warmup_days", "lead_time_hours", 2.0, 365.0,
                                    float(max(2, scenario.simulation.warmup_days)), 0.3, integer=True))
    else:
        notes.append("no change was deployed in the window: branch lifetime left at the base's value")
    incidents = facts.stats.get("restore_paths")
    cfr = observed["change_failure_rate"]
    if not incidents or cfr is None or cfr == 0:
        if "quality.defect_rate" in facts.estimates:
            notes.append("no incidents caused by a deployment: detection and repair times left at the base's "
                         "values; the defect rate is read from zero failures (see its note)")
        else:
            notes.append("no incidents caused by a deployment: defect rate, detection and repair times left at the "
                         "base's values (the simulated change failure rate is the base's, not the team's)")
        return fit, notes
    size = max(1.0, facts.stats.get("changes_per_planned_deployment", 1.0))
    per_change = facts.stats.get("escaped_defects_per_change", 1.0 - (1.0 - min(cfr, 0.95)) ** (1.0 / size))
    defect = per_change / max(0.05, _escape_share(scenario))
    hotfixes = facts.stats.get("hotfixes", 0)
    if facts.stats.get("planned_failure_share", 0.0) >= 0.9 and hotfixes >= 5:
        # every release fails whatever the rate above some level: hotfixes (no CI) show the rate itself
        defect = (facts.stats["hotfix_failure_share"] * hotfixes + 0.5) / (hotfixes + 1)
    # d CFR / d log(p) of a batch failing with probability 1 - (1 - p)^n, at the observed rate
    sensitivity = max(0.02, -(1.0 - min(cfr, 0.95)) * math.log(1.0 - min(cfr, 0.95)))
    fit.append(FitParameter("quality.defect_rate", "change_failure_rate", 1e-4, 0.9, min(0.9, max(1e-4, defect)),
                            sensitivity))
    restore = observed["time_to_restore_hours"]
    if restore is None:
        notes.append("no change-caused incident was resolved: detection and repair times left at the base's values")
        return fit, notes
    fast = incidents.get("rollback", 0) + incidents.get("flag", 0)
    if fast >= incidents.get("hotfix", 0):
        estimate = facts.estimates.get("operations.detect_minutes")
        value = estimate.value if estimate else restore * 60 / math.log(2)
        fit.append(FitParameter("operations.detect_minutes", "time_to_restore_hours", 0.5, 5000.0,
                                min(5000.0, max(0.5, float(value))), 0.9))
    else:
        rate = counts["incidents"] / (facts.days * 24.0)
        start = _hotfix_start(scenario, restore, rate, size)
        fit.append(FitParameter("operations.hotfix_hours", "time_to_restore_hours", 0.05, 200.0, start, 0.8))
    return fit, notes


# ---------------------------------------------------------------------------------------------
# Evaluating parameter sets by simulation


def _replication_metrics(scenario: Scenario, seed: int, replication: int, benchmark: str) -> dict[str, Any]:
    """One replication's metrics, and whether its backlog ran away (``unstable``)."""
    result = run_replication(scenario, seed, replication, benchmark)
    return {**result.metrics, "unstable": result.backlog.unstable}


@dataclass
class Evaluation:
    """One parameter set simulated: log-parameters, per-replication metrics, p50s, scaled residuals."""

    x: np.ndarray
    replications: list[dict[str, Any]]
    p50: dict[str, float | None]
    residuals: np.ndarray

    @property
    def cost(self) -> float:
        r = np.where(np.isnan(self.residuals), NULL_RESIDUAL, self.residuals)
        return float(np.sum(r * r))

    def good(self, limit: float) -> bool:
        return bool(np.all(np.abs(np.nan_to_num(self.residuals, nan=math.inf)) <= limit))


class _Evaluator:
    """Simulates parameter sets with common random numbers and scores them against the logs."""

    def __init__(self, scenario: Scenario, params: list[FitParameter], observed: dict[str, Any], *,
                 seed: int, workers: int | None, benchmark: str, tick: Callable[[int], None]):
        self.scenario = scenario
        self.params = params
        self.observed = observed
        self.targets = [key for key in METRICS if observed.get(key) is not None]
        self.seed = seed
        self.workers = workers
        self.benchmark = benchmark
        self.tick = tick
        self.evaluations = 0
        self.low = np.log([p.low for p in params])
        self.high = np.log([p.high for p in params])

    def prior(self) -> np.ndarray:
        """A rough Jacobian: each parameter moves its own target metric only."""
        jacobian = np.zeros((len(self.targets), len(self.params)))
        for j, p in enumerate(self.params):
            if p.target in self.targets:
                relative, tolerance = BAR[p.target]
                jacobian[self.targets.index(p.target), j] = p.elasticity / (
                    math.log(1.0 + tolerance) if relative else tolerance)
        return jacobian

    def values(self, x: np.ndarray) -> dict[str, float | int]:
        return {p.key: p.file_value(math.exp(v)) for p, v in zip(self.params, x)}

    def snap(self, x: np.ndarray) -> np.ndarray:
        """The log-parameters the scenario file will hold (rounded, within range)."""
        return np.log(list(self.values(x).values()))

    def scenario_at(self, x: np.ndarray) -> Scenario:
        return self.scenario.with_values(self.values(x), source="calibration")

    def evaluate(self, points: list[np.ndarray], reps: int) -> list[Evaluation]:
        """Simulate each point over replications 0..reps-1 (the same seeds for every point)."""
        points = [self.snap(x) for x in points]
        tasks = [(self.scenario_at(x), self.seed, k, self.benchmark) for x in points for k in range(reps)]
        done = 0

        def progress(finished: int, _total: int) -> None:
            nonlocal done
            self.tick(finished - done)
            done = finished

        results = run_tasks(_replication_metrics, tasks, workers=self.workers, callback=progress)
        out = []
        for i, x in enumerate(points):
            chunk = results[i * reps:(i + 1) * reps]
            p50 = {key: percentiles([r.get(key) for r in chunk])["p50"] for key in METRICS}
            residuals = np.array([scaled_error(key, p50[key], self.observed[key]) for key in self.targets])
            out.append(Evaluation(x, chunk, p50, residuals))
        self.evaluations += len(points)
        return out


def scaled_error(key: str, simulated: float | None, observed: float | None) -> float:
    """Signed error in units of the accuracy bar (±1 = at the bar).

    NaN when the simulation has no value where the logs have one (no incident resolved, say):
    its direction is unknown, and it counts as :data:`NULL_RESIDUAL` in the cost.
    """
    if observed is None:
        return 0.0
    if simulated is None:
        return math.nan
    relative, tolerance = BAR[key]
    if not relative:
        error = (simulated - observed) / tolerance
    elif observed <= 0:
        error = 0.0 if simulated <= 0 else MAX_RESIDUAL
    else:
        error = math.log(max(simulated, 1e-9) / observed) / math.log(1.0 + tolerance)
    return float(np.clip(error, -MAX_RESIDUAL, MAX_RESIDUAL))


def bar_error(key: str, simulated: float | None, observed: float | None) -> float | None:
    """The error the accuracy bar measures: relative (|sim/obs − 1|) or absolute (CFR)."""
    if simulated is None or observed is None:
        return None
    relative, _ = BAR[key]
    if not relative:
        return abs(simulated - observed)
    return abs(simulated / observed - 1.0) if observed > 0 else (0.0 if simulated == 0 else None)


def _round(value: float) -> float:
    """Four significant digits (and at most six decimals, as the TOML file keeps), so the file
    reproduces the fitted scenario exactly."""
    return round(float(f"{value:.4g}"), 6)


def search(evaluator: _Evaluator, history: list[Evaluation], reps: int, budget: int, good: float,
           prior: np.ndarray | None = None, patience: int = PATIENCE,
           radius: float = 1.0) -> tuple[Evaluation, np.ndarray | None]:
    """Trust-region steps on a local linear model of the scaled residuals, refitted after each point.

    Stops when every residual is within ``good``, after ``budget`` evaluations, or after
    ``patience`` evaluations in a row that did not lower the cost by 2%. ``radius`` is the first
    trust region (in log-parameter units). Returns the best evaluation and the last local
    Jacobian (a prior for a later search).
    """
    best = min(history, key=lambda e: e.cost)
    jacobian = prior
    spent = stalled = 0
    while spent < budget and stalled < patience and not best.good(good):
        jacobian, offset = _local_model(history, best, radius, prior)
        lower = np.maximum(evaluator.low - best.x, -radius)
        upper = np.minimum(evaluator.high - best.x, radius)
        solution = optimize.lsq_linear(jacobian, -offset, bounds=(lower, np.maximum(upper, lower + 1e-9)))
        candidate = evaluator.snap(best.x + solution.x)
        if any(np.allclose(candidate, e.x) for e in history):
            radius *= 0.5
            if radius < 0.02:
                break
            continue
        trial = evaluator.evaluate([candidate], reps)[0]
        spent += 1
        history.append(trial)
        stalled = 0 if trial.cost < 0.98 * best.cost else stalled + 1
        if trial.cost < best.cost:
            best = trial
            radius = min(2.0, radius * 1.5)
        else:
            radius *= 0.5
            if radius < 0.02:
                break
    return best, jacobian


def _local_model(history: list[Evaluation], center: Evaluation, radius: float,
                 prior: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares r(x) ≈ offset + J (x − center): near points weigh more, J leans on ``prior``."""
    xs = np.array([e.x for e in history])
    rs = np.array([e.residuals for e in history])
    k = xs.shape[1]
    distance = np.linalg.norm(xs - center.x, axis=1)
    weights = np.exp(-0.5 * (distance / max(radius, 0.2)) ** 2) + 1e-3
    design = np.hstack([np.ones((len(xs), 1)), xs - center.x]) * np.sqrt(weights)[:, None]
    pull = np.eye(k + 1) * (1.0 if prior is not None else 1e-3)
    pull[0, 0] = 0.0
    jacobian = np.zeros((rs.shape[1], k))
    offset = np.nan_to_num(center.residuals, nan=0.0).copy()
    for j in range(rs.shape[1]):
        ok = ~np.isnan(rs[:, j])
        if ok.sum() == 0:
            continue
        a = design[ok]
        b = rs[ok, j] * np.sqrt(weights[ok])
        target = np.zeros(k + 1) if prior is None else np.concatenate([[0.0], prior[j]])
        coef = np.linalg.solve(a.T @ a + pull, a.T @ b + pull @ target)
        offset[j], jacobian[j] = coef[0], coef[1:]
    return jacobian, offset


def fit_by_simulation(evaluator: _Evaluator, x0: np.ndarray, reps: int, check_reps: int,
                      budget: int = MAX_EVALUATIONS) -> tuple[Evaluation, int]:
    """Fit with ``reps`` replications per point, then polish with ``check_reps`` (the final check).

    Returns the best evaluation at ``check_reps`` replications and the evaluations spent.
    """
    k = len(x0)
    step = 0.4
    design = [x0] + [x0 + np.where(np.arange(k) == i, step if x0[i] + step <= evaluator.high[i] else -step, 0.0)
                     for i in range(k)]
    history = evaluator.evaluate(design, reps)
    best, jacobian = search(evaluator, history, reps, budget - len(design), GOOD_ENOUGH, prior=evaluator.prior())
    # the check runs more replications: if its p50s drift from the fit's, take a few steps more
    checked = evaluator.evaluate([best.x], check_reps)[0]
    if not checked.good(POLISH_ABOVE):
        checked, _ = search(evaluator, [checked], check_reps, POLISH_EVALUATIONS, GOOD_ENOUGH, prior=jacobian,
                            patience=3, radius=0.25)
    return checked, evaluator.evaluations


# ---------------------------------------------------------------------------------------------
# The whole calibration


def calibrate(logs: EventLogs, *, base: Scenario | None = None, reps: int = DEFAULT_REPS, seed: int | None = None,
              workers: int | None = None, callback: Callable[[int, int], Any] | None = None,
              check_reps: int = CHECK_REPS, benchmark: str = "2023",
              window: tuple[dt.date, dt.date] | None = None) -> CalibrationResult:
    """Fit a scenario to a team's logs; see the module docstring.

    ``reps`` replications per evaluation while fitting, ``check_reps`` for the final comparison;
    ``callback(done, total)`` reports progress in replications simulated. ``window`` (start, end
    exclusive, UTC days) sets the window instead of inferring it from the logs.
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
    warnings.extend(facts.warnings)
    seed = base.seed if seed is None else seed
    estimated = {key: est.value for key, est in facts.estimates.items()}
    start = (facts.start - pd.Timedelta(days=facts.start.day_of_week)).date()
    counts = facts.observed["counts"]
    identity = {
        "name": "calibrated",
        "description": (f"Calibrated to logs of {facts.start.date()} to {facts.end.date()} (end exclusive): "
                        f"{counts['changes']} changes, {counts['deployments']} deployments, "
                        f"{counts['incidents']} incidents"),
        "start": start, "days": facts.days, "seed": seed,
    }
    if counts["incidents"] == 0 and counts["deployments"] >= 1 and "quality.defect_rate" not in estimated:
        estimated["quality.defect_rate"] = _quiet_defect_rate(facts, base)
        facts.estimates["quality.defect_rate"] = Estimate(estimated["quality.defect_rate"], (
            f"no incident in {counts['deployments']} deployments: the defect rate that gives a change failure "
            f"rate of 0.5 / (deployments + 1), the Jeffreys estimate of a rate seen zero times"))
    if estimated.get("release.cadence") == "irregular":  # the train's state at the window's end
        estimated["release.state_day"] = (facts.end.date() - start).days
        facts.estimates["release.state_day"] = Estimate(estimated["release.state_day"],
                                                        f"the window's end, {facts.end.date()}: forecasts start there")
    scenario = base.with_values({**identity, **estimated}, source="calibration")
    params, notes = plan_fit(facts, scenario)
    days = fit_days(counts["changes"], facts.days)
    if days < facts.days:
        # a stable team's rates and medians do not depend on how long it is watched: big logs are
        # fitted and checked on their first ``days`` days, and the scenario keeps the logs' window
        warnings.append(f"the logs hold {counts['changes']} changes in {facts.days} days: each replication "
                        f"of the fit simulates the first {days} days (about {FIT_CHANGES} changes), and the "
                        f"written scenario keeps days = {facts.days}")
        scenario = scenario.with_values({"days": days}, source="calibration")
    missing = facts.missing + notes
    total = (MAX_EVALUATIONS * reps + (1 + POLISH_EVALUATIONS) * check_reps) if params else check_reps
    progress = _Progress(callback, total)
    evaluations = 0
    converged = None
    results: list[dict[str, Any]] | None = None
    if params:
        evaluator = _Evaluator(scenario, params, facts.observed["metrics"], seed=seed, workers=workers,
                               benchmark=benchmark, tick=progress.add)
        best, evaluations = fit_by_simulation(evaluator, np.log([p.start for p in params]), reps, check_reps)
        scenario = evaluator.scenario_at(best.x)
        results = best.replications
        converged = best.good(1.0)
    origins = _origins(facts, params)
    text = _toml(scenario.with_values({"days": facts.days}, source="calibration"), origins, facts)
    written = load_scenario_text(text, "calibrated.toml")
    checked = written.with_values({"days": days}, source="calibration") if days < facts.days else written
    if results is None or checked != scenario:
        tasks = [(checked, seed, k, benchmark) for k in range(check_reps)]
        results = run_tasks(_replication_metrics, tasks, workers=workers, callback=progress.batch())
    scenario = written
    progress.finish()
    fit = {"reps": reps, "evaluations": evaluations, "converged": converged, "parameters": [p.key for p in params],
           "days_simulated": days}
    report = _report(facts, scenario, results, origins, fit, missing, check_reps, seed, benchmark)
    sentence = stability_sentence(report["stability"])
    if sentence:
        warnings.append(f"the calibrated scenario is unstable: {sentence}")
    for key in METRICS:
        row = report["metrics"][key]
        if row["observed"] is not None and row["within_bar"] is False:
            warnings.append(f"{key}: simulated p50 {row['simulated_p50']:.4g} vs observed {row['observed']:.4g} "
                            f"is outside the calibration bar")
    report["warnings"] = warnings
    diagnostics = _diagnostics(report, facts, missing)
    report["diagnostics"] = diagnostics.model_dump()
    text = _toml(scenario.model_copy(update={"calibration": diagnostics}), origins, facts)
    scenario = load_scenario_text(text, "calibrated.toml")
    caveat = fit_caveat(scenario)
    report["caveat"] = caveat
    return CalibrationResult(scenario, text, report, warnings)


def _diagnostics(report: dict[str, Any], facts: LogFacts, missing: list[str]) -> Calibration:
    """What travels with the written file: how much data, which metrics are within the bar, what was not fitted."""
    rows = report["metrics"]
    counts = facts.observed["counts"]
    return Calibration(
        window=f"{facts.start.date()} to {facts.end.date()}",
        deployments=int(counts["deployments"]), changes=int(counts["changes"]), incidents=int(counts["incidents"]),
        within_bar=", ".join(key for key in METRICS if rows[key]["within_bar"] is True),
        outside_bar=", ".join(key for key in METRICS if rows[key]["within_bar"] is False),
        not_fitted="; ".join(missing),
    )


def check_window(logs: EventLogs, window: tuple[dt.date, dt.date]) -> tuple[dt.date, dt.date]:
    """The window if it is a real one that holds a deployment, else a one-line :class:`InputError`."""
    start, end = window
    if end <= start:
        raise InputError(f"--start {start.isoformat()} --end {end.isoformat()}: the end must come after the start")
    times = logs.deployments["time_created"]
    inside = ((times >= pd.Timestamp(start, tz="UTC")) & (times < pd.Timestamp(end, tz="UTC"))).sum()
    if inside == 0:
        raise InputError(f"--start {start.isoformat()} --end {end.isoformat()}: no deployment in the window: the "
                         f"release train cannot be calibrated (choose a window with releases)")
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
        warnings.append("scenarios/baseline.toml not found: parameters the logs cannot tell use the model's defaults")
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
        raise InputError("calibrate: deployments.csv holds no deployments: the release train cannot be "
                         "calibrated (every DORA metric but rework needs deployments)")


def _origins(facts: LogFacts, params: list[FitParameter]) -> dict[str, dict]:
    """Where each parameter's value comes from: estimated, fitted, or the base's default."""
    origins: dict[str, dict] = {}
    fitted = {p.key: p for p in params}
    for key in parameter_keys():
        if key in fitted:
            origins[key] = {"origin": "fitted", "note": FIT_NOTES[key]}
        elif key in facts.estimates:
            origins[key] = {"origin": "estimated", "note": facts.estimates[key].note}
        else:
            origins[key] = {"origin": "default",
                            "note": f"the logs cannot show it; the base scenario's value ({parameter_info(key)['source']})"}
    return origins


def _toml(scenario: Scenario, origins: dict[str, dict], facts: LogFacts) -> str:
    comments = {}
    for key, origin in origins.items():
        unit = parameter_info(key)["unit"]
        label = {"estimated": "estimated from the logs", "fitted": "fitted", "default": "left at default"}
        comments[key] = f"{unit}; {label[origin['origin']]}: {origin['note']}"
    comments["start"] = "the Monday on or before the first day the logs cover completely"
    comments["days"] = f"the logs' window: {facts.start.date()} to {facts.end.date()} (end exclusive)"
    header = ["# Calibrated by `dorasim calibrate` from a team's change, deployment and incident logs.",
              "# Each value says where it comes from: estimated from the logs, fitted by simulation so the",
              "# simulated DORA metrics match the observed ones, or left at the base scenario's default.", ""]
    return "\n".join(header) + scenario_to_toml(scenario, comments)


def _report(facts: LogFacts, scenario: Scenario, results: list[dict], origins: dict[str, dict], fit: dict[str, Any],
            missing: list[str], check_reps: int, seed: int, benchmark: str) -> dict[str, Any]:
    observed = facts.observed["metrics"]
    simulated = {key: percentiles([r.get(key) for r in results]) for key in (*METRICS, "rework_rate")}
    p50 = {key: value["p50"] for key, value in simulated.items()}
    observed_bands = facts.observed["bands"]
    simulated_bands = bands_for(p50, benchmark)
    band_of = {m.key: m.band_key for m in KEY_METRICS if m.band_key}
    unstable_share = sum(bool(r.get("unstable")) for r in results) / len(results) if results else 0.0
    metrics = {}
    for key in (*METRICS, "rework_rate"):
        error = bar_error(key, p50[key], observed[key]) if key in BAR else None
        metrics[key] = {
            "observed": observed[key],
            "simulated_p50": p50[key],
            "simulated_p10": simulated[key]["p10"],
            "simulated_p90": simulated[key]["p90"],
            "observed_band": observed_bands.get(band_of[key]) if key in band_of else None,
            "simulated_band": simulated_bands.get(band_of[key]) if key in band_of else None,
            "error": error,
            "bar": BAR[key][1] if key in BAR else None,
            "within_bar": (error <= BAR[key][1]) if error is not None else None,
        }
    return {
        "scenario": scenario.name,
        "window": {"start": facts.start.date().isoformat(), "end": facts.end.date().isoformat(),
                   "days": facts.days},
        "benchmark": benchmark,
        "seed": seed,
        "reps": check_reps,
        "fit": fit,
        "metrics": metrics,
        "bands": {"observed": observed_bands, "simulated": simulated_bands},
        "counts": facts.observed["counts"],
        "stability": {"stable": unstable_share <= 0.5, "unstable_share": unstable_share},
        "lead_time_split": {key: facts.stats.get(key) for key in
                            ("median_hours_before_release", "median_hours_waiting_for_release")},
        "log_statistics": {k: v for k, v in facts.stats.items() if k not in
                           ("median_hours_before_release", "median_hours_waiting_for_release")},
        "parameters": {key: {"value": _json_value(get_value(scenario, key)), **origin}
                       for key, origin in origins.items()},
        "missing": missing,
        "warnings": [],
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)
