"""Calibrate a scenario to a team's own logs (``python -m sim calibrate``, DESIGN §7).

Two halves:

1. **Estimate** what the logs show directly (:mod:`sim.calibrate_logs`): the window, team size
   and output, release cadence, batch cap, deploy method and duration, restore paths, detection,
   when defects fire, and the lead-time split that picks the branching strategy.
2. **Fit** what they cannot show by simulation: the defect rate (→ change failure rate), the
   branch lifetime (→ lead time) and the hand-repair or detection time (→ time to restore) are
   chosen so that the p50 of the simulated DORA metrics matches the observed values.

The fit is a trust-region search on a local linear model of the residuals, re-estimated by
least squares from every point evaluated so far (a response-surface method, robust to the
small steps a discrete-event simulation makes): each step solves the bounded linear problem
with :func:`scipy.optimize.lsq_linear`. Every evaluation runs the same replications with the
same seeds (common random numbers), so two parameter sets differ by their effect, not by luck.
Residuals are scaled by the accuracy bar: relative errors of deployment frequency (20%), lead
time (30%) and time to restore (35%) on a log scale, absolute error of the change failure rate
(0.07). Parameters stay within their validated ranges; what the data cannot tell stays at the
base scenario's value.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

import sim
from sim.bands import bands_for, check_benchmark
from sim.calibrate_logs import LogFacts, read_facts
from sim.errors import InputError
from sim.logs import EventLogs
from sim.parallel import run_tasks
from sim.runner import percentiles, run_replication
from sim.scenario import (
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
GOOD_ENOUGH = 0.3         # stop when every scaled residual is within 30% of the accuracy bar
METRICS = ("deployment_frequency_per_day", "lead_time_hours", "change_failure_rate", "time_to_restore_hours")
# the accuracy bar: (relative?, tolerance)
BAR = {
    "deployment_frequency_per_day": (True, 0.20),
    "lead_time_hours": (True, 0.30),
    "change_failure_rate": (False, 0.07),
    "time_to_restore_hours": (True, 0.35),
}
MISSING_RESIDUAL = 3.0    # a simulated metric that is null where the logs have a value


@dataclass(frozen=True)
class CalibrationResult:
    """The calibrated scenario, its commented TOML text and the report (the ``--json`` document)."""

    scenario: Scenario
    toml: str
    report: dict[str, Any]
    warnings: list[str]


def default_base_path() -> Path | None:
    """``scenarios/baseline.toml`` next to the installed ``sim`` package, else under the cwd."""
    for root in (Path(sim.__file__).resolve().parent.parent, Path.cwd()):
        path = root / "scenarios" / "baseline.toml"
        if path.is_file():
            return path
    return None


# ---------------------------------------------------------------------------------------------
# What to fit


@dataclass(frozen=True)
class FitParameter:
    key: str
    target: str           # the metric it mainly moves
    low: float
    high: float
    start: float

    def clip(self, value: float) -> float:
        return float(min(self.high, max(self.low, value)))


def _escape_share(scenario: Scenario) -> float:
    """Rough share of defects CI lets through: skipped suites catch nothing (sim.model's skip rule)."""
    ci = scenario.ci
    slow = 1.0 - math.exp(-(ci.test_suite_minutes - ci.skip_threshold_minutes) / (3.0 * ci.skip_threshold_minutes)) \
        if ci.test_suite_minutes > ci.skip_threshold_minutes else 0.0
    skip = min(0.95, slow + ci.flaky_distrust * ci.flaky_rate)
    return skip + (1.0 - skip) * (1.0 - scenario.quality.test_detection_rate)


def plan_fit(facts: LogFacts, scenario: Scenario) -> tuple[list[FitParameter], list[str]]:
    """The parameters to fit, each with its range and starting value, and notes on what is not fitted."""
    observed = facts.observed["metrics"]
    counts = facts.observed["counts"]
    notes: list[str] = []
    if counts["deployments"] < 5:
        notes.append(f"only {counts['deployments']} deployments in the window (at least 5 needed): nothing fitted by "
                     "simulation; defect rate, branch lifetime and repair times left at the base's values")
        return [], notes
    fit: list[FitParameter] = []
    lead = observed["lead_time_hours"]
    if lead is not None:
        trunk = scenario.branching.strategy == "trunk"
        low, high = (0.01, 2.0) if trunk else (0.25, 60.0)
        before = facts.stats.get("median_hours_before_release")
        if before is None:
            start = scenario.branching.branch_lifetime_days
        elif trunk:
            start = before / 24.0 / 2.0
        else:
            start = before / 24.0 / 0.55  # about half a branch's life passes before a change merges
        fit.append(FitParameter("branching.branch_lifetime_days", "lead_time_hours", low, high,
                                min(high, max(low, start))))
    else:
        notes.append("no change was deployed in the window: branch lifetime left at the base's value")
    incidents = facts.stats.get("restore_paths")
    cfr = observed["change_failure_rate"]
    if not incidents or cfr is None or cfr == 0:
        notes.append("no incidents caused by a deployment: defect rate, detection and repair times left at the "
                     "base's values (the simulated change failure rate is the base's, not the team's)")
        return fit, notes
    size = max(1.0, facts.stats.get("changes_per_planned_deployment", 1.0))
    per_change = 1.0 - (1.0 - min(cfr, 0.95)) ** (1.0 / size)
    defect = per_change / max(0.05, _escape_share(scenario))
    fit.append(FitParameter("quality.defect_rate", "change_failure_rate", 1e-4, 0.9, min(0.9, max(1e-4, defect))))
    restore = observed["time_to_restore_hours"]
    if restore is None:
        notes.append("no change-caused incident was resolved: detection and repair times left at the base's values")
        return fit, notes
    fast = incidents.get("rollback", 0) + incidents.get("flag", 0)
    if fast >= incidents.get("hotfix", 0):
        start = facts.estimates.get("operations.detect_minutes")
        value = start.value if start else restore * 60 / math.log(2)
        fit.append(FitParameter("operations.detect_minutes", "time_to_restore_hours", 0.5, 5000.0,
                                min(5000.0, max(0.5, float(value)))))
    else:
        ops = scenario.operations
        deploy = (scenario.release.manual_deploy_hours if scenario.release.deploy == "manual"
                  else scenario.release.automated_deploy_minutes / 60)
        rest = restore - ops.detect_minutes / 60 * math.log(2) - deploy
        growth = 1.0 + ops.diagnosis_growth * math.log2(max(1.0, size))
        fit.append(FitParameter("operations.hotfix_hours", "time_to_restore_hours", 0.05, 200.0,
                                min(200.0, max(0.05, rest / growth / 0.85))))
    return fit, notes


# ---------------------------------------------------------------------------------------------
# Evaluating parameter sets by simulation


def _replication_metrics(scenario: Scenario, seed: int, replication: int, benchmark: str) -> dict[str, Any]:
    return run_replication(scenario, seed, replication, benchmark).metrics


class _Evaluator:
    """Simulates parameter sets with common random numbers and scores them against the logs."""

    def __init__(self, scenario: Scenario, params: list[FitParameter], observed: dict[str, Any], *,
                 seed: int, reps: int, workers: int | None, benchmark: str,
                 tick: Callable[[int], None]):
        self.scenario = scenario
        self.params = params
        self.observed = observed
        self.seed = seed
        self.reps = reps
        self.workers = workers
        self.benchmark = benchmark
        self.tick = tick
        self.evaluations = 0

    def values(self, x: np.ndarray) -> dict[str, float]:
        return {p.key: _round(p.clip(math.exp(v))) for p, v in zip(self.params, x)}

    def scenario_at(self, x: np.ndarray) -> Scenario:
        return self.scenario.with_values(self.values(x), source="calibration")

    def simulate(self, scenarios: list[Scenario]) -> list[dict[str, float | None]]:
        """p50 of every metric for each scenario, over the same replications."""
        tasks = [(sc, self.seed, k, self.benchmark) for sc in scenarios for k in range(self.reps)]
        done = 0

        def progress(finished: int, _total: int) -> None:
            nonlocal done
            self.tick(finished - done)
            done = finished

        results = run_tasks(_replication_metrics, tasks, workers=self.workers, callback=progress)
        out = []
        for i in range(len(scenarios)):
            chunk = results[i * self.reps:(i + 1) * self.reps]
            out.append({key: percentiles([r.get(key) for r in chunk])["p50"] for key in METRICS})
        self.evaluations += len(scenarios)
        return out

    def residuals(self, simulated: dict[str, float | None]) -> np.ndarray:
        return np.array([scaled_error(key, simulated.get(key), self.observed[key]) for key in self.targets])

    @property
    def targets(self) -> list[str]:
        return [key for key in METRICS if self.observed.get(key) is not None]


def scaled_error(key: str, simulated: float | None, observed: float | None) -> float:
    """Signed error in units of the accuracy bar (±1 = at the bar); NaN when the logs have no value."""
    if observed is None:
        return math.nan
    if simulated is None:
        return MISSING_RESIDUAL
    relative, tolerance = BAR[key]
    if not relative:
        return (simulated - observed) / tolerance
    if observed <= 0:
        return 0.0 if simulated <= 0 else MISSING_RESIDUAL
    return math.log(max(simulated, 1e-9) / observed) / math.log(1.0 + tolerance)


def bar_error(key: str, simulated: float | None, observed: float | None) -> float | None:
    """The error the accuracy bar measures: relative (|sim/obs − 1|) or absolute (CFR)."""
    if simulated is None or observed is None:
        return None
    relative, _ = BAR[key]
    if not relative:
        return abs(simulated - observed)
    return abs(simulated / observed - 1.0) if observed > 0 else (0.0 if simulated == 0 else None)


def _round(value: float) -> float:
    """Four significant digits: what the TOML file keeps, so the file reproduces the fit exactly."""
    return float(f"{value:.4g}")


def _cost(r: np.ndarray) -> float:
    r = np.where(np.isnan(r), 0.0, r)
    return float(np.sum(r * r))


def fit_by_simulation(evaluator: _Evaluator, budget: int = MAX_EVALUATIONS) -> dict[str, Any]:
    """Trust-region search on a locally fitted linear model of the scaled residuals (log parameters)."""
    params = evaluator.params
    k = len(params)
    low = np.log([p.low for p in params])
    high = np.log([p.high for p in params])
    x0 = np.log([p.start for p in params])
    step = 0.4
    design = [x0] + [x0 + np.where(np.arange(k) == i, step if x0[i] + step <= high[i] else -step, 0.0)
                     for i in range(k)]
    xs: list[np.ndarray] = []
    rs: list[np.ndarray] = []
    sims: list[dict[str, Any]] = []
    for x, simulated in zip(design, evaluator.simulate([evaluator.scenario_at(x) for x in design])):
        xs.append(np.log(list(evaluator.values(x).values())))
        rs.append(evaluator.residuals(simulated))
        sims.append(simulated)
    best = int(np.argmin([_cost(r) for r in rs]))
    radius = 1.0
    while evaluator.evaluations < budget:
        if np.all(np.abs(np.nan_to_num(rs[best])) <= GOOD_ENOUGH):
            break
        jacobian, offset = _local_model(np.array(xs), np.array(rs), xs[best], radius)
        lower = np.maximum(low - xs[best], -radius)
        upper = np.minimum(high - xs[best], radius)
        if np.all(upper - lower < 1e-6):
            break
        solution = optimize.lsq_linear(jacobian, -offset, bounds=(lower, np.maximum(upper, lower + 1e-9)))
        candidate = xs[best] + solution.x
        candidate_values = np.log(list(evaluator.values(candidate).values()))
        if any(np.allclose(candidate_values, x) for x in xs):
            radius *= 0.5
            if radius < 0.02:
                break
            continue
        simulated = evaluator.simulate([evaluator.scenario_at(candidate)])[0]
        xs.append(candidate_values)
        rs.append(evaluator.residuals(simulated))
        sims.append(simulated)
        if _cost(rs[-1]) < _cost(rs[best]):
            best = len(xs) - 1
            radius = min(2.0, radius * 1.5)
        else:
            radius *= 0.5
            if radius < 0.02:
                break
    return {
        "values": {p.key: float(math.exp(v)) for p, v in zip(params, xs[best])},
        "simulated": sims[best],
        "residuals": rs[best],
        "evaluations": evaluator.evaluations,
        "converged": bool(np.all(np.abs(np.nan_to_num(rs[best])) <= 1.0)),
    }


def _local_model(xs: np.ndarray, rs: np.ndarray, center: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares fit r(x) ≈ offset + J (x − center), near points weighing more."""
    k = xs.shape[1]
    distance = np.linalg.norm(xs - center, axis=1)
    weights = np.exp(-0.5 * (distance / max(radius, 0.2)) ** 2) + 1e-3
    design = np.hstack([np.ones((len(xs), 1)), xs - center]) * np.sqrt(weights)[:, None]
    jacobian = np.zeros((rs.shape[1], k))
    offset = np.zeros(rs.shape[1])
    ridge = 1e-3 * np.eye(k + 1)
    ridge[0, 0] = 0.0
    for j in range(rs.shape[1]):
        ok = ~np.isnan(rs[:, j])
        if ok.sum() < 2:
            continue
        a = design[ok]
        b = rs[ok, j] * np.sqrt(weights[ok])
        coef = np.linalg.solve(a.T @ a + ridge, a.T @ b)
        offset[j], jacobian[j] = coef[0], coef[1:]
    return jacobian, offset


# ---------------------------------------------------------------------------------------------
# The whole calibration


def calibrate(logs: EventLogs, *, base: Scenario | None = None, reps: int = DEFAULT_REPS, seed: int | None = None,
              workers: int | None = None, callback: Callable[[int, int], Any] | None = None,
              check_reps: int = CHECK_REPS, benchmark: str = "2023") -> CalibrationResult:
    """Fit a scenario to a team's logs; see the module docstring.

    ``reps`` replications per evaluation while fitting, ``check_reps`` for the final comparison;
    ``callback(done, total)`` reports progress in replications simulated.
    """
    benchmark = check_benchmark(benchmark)
    if reps < 1 or check_reps < 1:
        raise InputError(f"reps = {reps}, check_reps = {check_reps}: both must be >= 1")
    warnings: list[str] = []
    if base is None:
        path = default_base_path()
        if path is None:
            warnings.append("scenarios/baseline.toml not found: parameters the logs cannot tell use the model's defaults")
            base = Scenario()
        else:
            base = load_scenario(path)
    _check_logs(logs)
    facts = read_facts(logs, base)
    warnings.extend(facts.warnings)
    seed = base.seed if seed is None else seed
    estimated = {key: est.value for key, est in facts.estimates.items()}
    start = (facts.start - pd.Timedelta(days=facts.start.dayofweek)).date()
    counts = facts.observed["counts"]
    identity = {
        "name": "calibrated",
        "description": (f"Calibrated to logs of {facts.start.date()} to {facts.end.date()} (end exclusive): "
                        f"{counts['changes']} changes, {counts['deployments']} deployments, "
                        f"{counts['incidents']} incidents"),
        "start": start, "days": facts.days, "seed": seed,
    }
    scenario = base.with_values({**identity, **estimated}, source="calibration")
    params, notes = plan_fit(facts, scenario)
    missing = facts.missing + notes
    total = MAX_EVALUATIONS * reps + check_reps
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if callback is not None:
            callback(min(done, total - check_reps), total)

    fit: dict[str, Any] = {"values": {}, "evaluations": 0, "converged": None}
    if params:
        evaluator = _Evaluator(scenario, params, facts.observed["metrics"], seed=seed, reps=reps, workers=workers,
                               benchmark=benchmark, tick=tick)
        fit = fit_by_simulation(evaluator)
        scenario = scenario.with_values({k: _round(v) for k, v in fit["values"].items()}, source="calibration")
    origins = _origins(facts, fit, params, base)
    text = _toml(scenario, origins, facts)
    scenario = load_scenario_text(text, "calibrated.toml")
    done = total - check_reps

    def check_tick(finished: int, _total: int) -> None:
        if callback is not None:
            callback(done + finished, total)

    results = run_tasks(_replication_metrics, [(scenario, seed, k, benchmark) for k in range(check_reps)],
                        workers=workers, callback=check_tick)
    report = _report(facts, scenario, results, origins, fit, params, missing, warnings, reps, check_reps, seed,
                     benchmark)
    for key in METRICS:
        row = report["metrics"][key]
        if row["observed"] is not None and row["within_bar"] is False:
            warnings.append(f"{key}: simulated p50 {row['simulated_p50']:.4g} vs observed {row['observed']:.4g} "
                            f"is outside the calibration bar")
    report["warnings"] = warnings
    return CalibrationResult(scenario, text, report, warnings)


def _check_logs(logs: EventLogs) -> None:
    if len(logs.changes) == 0 and len(logs.deployments) == 0:
        raise InputError("calibrate: the logs hold no changes and no deployments: nothing to calibrate from")
    if len(logs.deployments) == 0:
        raise InputError("calibrate: deployments.csv holds no deployments: the release train cannot be "
                         "calibrated (every DORA metric but rework needs deployments)")


def _origins(facts: LogFacts, fit: dict[str, Any], params: list[FitParameter], base: Scenario) -> dict[str, dict]:
    """Where each parameter's value comes from: estimated, fitted, or the base's default."""
    origins: dict[str, dict] = {}
    fitted = {p.key: p for p in params}
    for key in parameter_keys():
        if key in fitted:
            origins[key] = {"origin": "fitted",
                            "note": f"fitted by simulation so the simulated {fitted[key].target} matches the logs"}
        elif key in facts.estimates:
            origins[key] = {"origin": "estimated", "note": facts.estimates[key].note}
        else:
            origins[key] = {"origin": "default", "note": f"the logs cannot tell: the base's value "
                                                         f"({parameter_info(key)['source']})"}
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
            params: list[FitParameter], missing: list[str], warnings: list[str], reps: int, check_reps: int,
            seed: int, benchmark: str) -> dict[str, Any]:
    observed = facts.observed["metrics"]
    simulated = {key: percentiles([r.get(key) for r in results]) for key in (*METRICS, "rework_rate")}
    p50 = {key: value["p50"] for key, value in simulated.items()}
    observed_bands = facts.observed["bands"]
    simulated_bands = bands_for(p50, benchmark)
    band_of = {"deployment_frequency_per_day": "deployment_frequency", "lead_time_hours": "lead_time",
               "change_failure_rate": "change_failure_rate", "time_to_restore_hours": "time_to_restore"}
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
        "fit": {"reps": reps, "evaluations": fit["evaluations"], "converged": fit["converged"],
                "parameters": [p.key for p in params]},
        "metrics": metrics,
        "bands": {"observed": observed_bands, "simulated": simulated_bands},
        "counts": facts.observed["counts"],
        "lead_time_split": {key: facts.stats.get(key) for key in
                            ("median_hours_before_release", "median_hours_waiting_for_release")},
        "log_statistics": {k: v for k, v in facts.stats.items() if k not in
                           ("median_hours_before_release", "median_hours_waiting_for_release")},
        "parameters": {key: {"value": _json_value(get_value(scenario, key)), **origin}
                       for key, origin in origins.items()},
        "missing": missing,
        "warnings": warnings,
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)
