"""Fitting by simulation: the search behind ``calibrate`` (:mod:`sim.analysis.calibrate`).

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
Parameters stay within their validated ranges.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize

from sim.analysis.parallel import run_tasks
from sim.analysis.runner import percentiles, run_replication
from sim.model.scenario import Scenario

MAX_EVALUATIONS = 18  # parameter sets simulated while fitting, at most
GOOD_ENOUGH = 0.3  # stop when every scaled residual is within 30% of the accuracy bar
METRICS = ("deployment_frequency_per_day", "lead_time_hours", "change_failure_rate", "time_to_restore_hours")
# the accuracy bar: (relative?, tolerance)
BAR = {
    "deployment_frequency_per_day": (True, 0.20),
    "lead_time_hours": (True, 0.30),
    "change_failure_rate": (False, 0.07),
    "time_to_restore_hours": (True, 0.35),
}
MAX_RESIDUAL = 8.0  # residuals are clipped here: far off is far off
NULL_RESIDUAL = 10.0  # the cost of a metric the simulation leaves null where the logs have it
POLISH_ABOVE = 0.5  # re-fit with the check's replications when a residual there exceeds this
POLISH_EVALUATIONS = 4
PATIENCE = 4  # evaluations in a row without a 2% better cost before a search gives up


@dataclass(frozen=True)
class FitParameter:
    key: str
    target: str  # the metric it mainly moves
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

    def __init__(
        self,
        scenario: Scenario,
        params: list[FitParameter],
        observed: dict[str, Any],
        *,
        seed: int,
        workers: int | None,
        benchmark: str,
        tick: Callable[[int], None],
    ):
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
                    math.log(1.0 + tolerance) if relative else tolerance
                )
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
            chunk = results[i * reps : (i + 1) * reps]
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


def search(
    evaluator: _Evaluator,
    history: list[Evaluation],
    reps: int,
    budget: int,
    good: float,
    prior: np.ndarray | None = None,
    patience: int = PATIENCE,
    radius: float = 1.0,
) -> tuple[Evaluation, np.ndarray | None]:
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


def _local_model(
    history: list[Evaluation], center: Evaluation, radius: float, prior: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
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


def fit_by_simulation(
    evaluator: _Evaluator, x0: np.ndarray, reps: int, check_reps: int, budget: int = MAX_EVALUATIONS
) -> tuple[Evaluation, int]:
    """Fit with ``reps`` replications per point, then polish with ``check_reps`` (the final check).

    Returns the best evaluation at ``check_reps`` replications and the evaluations spent.
    """
    k = len(x0)
    step = 0.4
    design = [x0] + [
        x0 + np.where(np.arange(k) == i, step if x0[i] + step <= evaluator.high[i] else -step, 0.0)
        for i in range(k)
    ]
    history = evaluator.evaluate(design, reps)
    best, jacobian = search(
        evaluator, history, reps, budget - len(design), GOOD_ENOUGH, prior=evaluator.prior()
    )
    # the check runs more replications: if its p50s drift from the fit's, take a few steps more
    checked = evaluator.evaluate([best.x], check_reps)[0]
    if not checked.good(POLISH_ABOVE):
        checked, _ = search(
            evaluator,
            [checked],
            check_reps,
            POLISH_EVALUATIONS,
            GOOD_ENOUGH,
            prior=jacobian,
            patience=3,
            radius=0.25,
        )
    return checked, evaluator.evaluations
