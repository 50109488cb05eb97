"""90-day transformation plans (docs/plans.md): a starting scenario plus phases that ramp in, replicated and
scored week by week. Plan files — their format, how a phase ramps in, reading, validating and writing them —
are :mod:`sim.analysis.plan_file`; this module re-exports what callers use of it.

Weekly numbers (:func:`run_plan`): every replication's logs are scored with
:func:`sim.metrics.scoring.score` restricted to each week ``[start + 7(w−1) days, start + 7w days)``,
so a week's numbers mean what a whole run's mean. Only whole weeks are scored (90 days = 12
weeks; the last 6 days are left to ``final``). ``final`` scores the last :data:`FINAL_DAYS` days
the same way and is shaped like ``run`` (its lead-time breakdown covers the changes first deployed
in those days). ``first_elite_week`` is the first week whose p50s are all Elite (``bands.overall``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.analysis.parallel import run_tasks
from sim.analysis.plan_file import STATIC_KEYS, Plan, load_plan, load_plan_text, plan_to_toml
from sim.analysis.results import Metrics, PlanResult, WeekResult
from sim.analysis.runner import ReplicationResult, band_probabilities, percentiles, summarize
from sim.analysis.stability import backlog
from sim.metrics.bands import bands_for, check_benchmark
from sim.metrics.registry import METRIC_KEYS
from sim.metrics.scoring import ScoreResult, score_columns
from sim.model.delivery import simulate
from sim.model.params import Phase
from sim.model.records import stage_totals, to_columns, window_bounds
from sim.model.scenario import Scenario

FINAL_DAYS = 14
STABILITY_DAYS = 28  # a plan's backlog is judged over its last four weeks (at least), after the phases landed


def week_windows(days: int) -> list[tuple[int, int]]:
    """(first day, days) of each scored week: whole weeks only (a horizon under a week is one short week).

    A last partial week is dropped: the release calendar is weekly (a 6-day week 13 of a 90-day
    run ends on the Saturday of the release window, before its hotfixes), so a short week's
    numbers would not mean what a week's mean. ``final`` covers the end of the run instead.
    """
    if days < 7:
        return [(0, days)]
    return [(7 * w, 7) for w in range(days // 7)]


def final_window(days: int) -> tuple[int, int]:
    """(first day, days) of the closing window: the last 14 days (the whole run if shorter)."""
    length = min(FINAL_DAYS, days)
    return days - length, length


@dataclass(frozen=True)
class PlanReplication:
    """One replication's contribution: each week's metrics and overall band, and the final window."""

    weeks: tuple[tuple[dict[str, float | None], str | None], ...]
    final: ReplicationResult


def run_plan_replication(
    scenario: Scenario, seed: int, replication: int, benchmark: str, phases: tuple[Phase, ...]
) -> PlanReplication:
    """Simulate once and score every week and the final window (one task: parallel-friendly)."""
    records = simulate(scenario, seed, replication, phases)
    columns = to_columns(records)
    window_start = window_bounds(records)[0]
    day = pd.Timedelta(days=1)

    def scored(first_day: int, length: int) -> ScoreResult:
        start = window_start + first_day * day
        return score_columns(columns, start=start, end=start + length * day, benchmark=benchmark)

    weeks = []
    for first_day, length in week_windows(scenario.days):
        result = scored(first_day, length)
        weeks.append((result["metrics"], result["bands"]["overall"]))
    first_day, length = final_window(scenario.days)
    result = scored(first_day, length)
    t0 = records.window_start + 24.0 * first_day
    first_end = records.first_deploy_end
    deployed = (first_end >= t0) & (first_end < records.window_end)
    teams: tuple[dict[str, float | None], ...] = ()
    if records.teams > 1:
        start = window_start + first_day * day
        teams = tuple(
            score_columns(part, start=start, end=start + length * day, benchmark=benchmark)["metrics"]
            for part in columns.by_team(records.teams)
        )
    judged_from = records.window_end - 24.0 * max(STABILITY_DAYS, scenario.days // 3)
    final = ReplicationResult(
        replication,
        result["metrics"],
        result["bands"]["overall"],
        result["counts"],
        stage_totals(records, deployed),
        int(deployed.sum()),
        backlog(records, max(records.window_start, judged_from)),
        teams,
    )
    return PlanReplication(tuple(weeks), final)


def run_plan(
    plan: Plan,
    reps: int | None = None,
    seed: int | None = None,
    *,
    workers: int | None = None,
    benchmark: str = "2023",
    progress: str | None = None,
    callback: Callable[[int, int], Any] | None = None,
) -> PlanResult:
    """Replicate a plan and summarise it week by week: the ``plan`` JSON of docs/cli.md."""
    benchmark = check_benchmark(benchmark)
    reps = plan.reps if reps is None else reps
    seed = plan.seed if seed is None else seed
    tasks = [(plan.scenario, seed, k, benchmark, plan.phases) for k in range(reps)]
    results: list[PlanReplication] = run_tasks(
        run_plan_replication, tasks, workers=workers, progress=progress, callback=callback
    )
    weeks: list[WeekResult] = []
    for index, (first_day, length) in enumerate(week_windows(plan.scenario.days)):
        week = [r.weeks[index] for r in results]
        metrics: Metrics = {key: percentiles([m.get(key) for m, _ in week]) for key in METRIC_KEYS}
        weeks.append(
            {
                "week": index + 1,
                "start_day": first_day,
                "days": length,
                "metrics": metrics,
                "bands": bands_for({key: value["p50"] for key, value in metrics.items()}, benchmark),
                "band_probabilities": band_probabilities([overall for _, overall in week]),
                "pooled": pooled_rates([m for m, _ in week], length),
            }
        )
    length = final_window(plan.scenario.days)[1]
    final = summarize(plan.scenario, [r.final for r in results], seed, benchmark, days=length)
    first_elite = next((w["week"] for w in weeks if w["bands"]["overall"] == "elite"), None)
    return {
        "plan": plan.name,
        "days": plan.scenario.days,
        "reps": reps,
        "seed": seed,
        "benchmark": benchmark,
        "phases": [phase_summary(p) for p in plan.phases],
        "weeks": weeks,
        "final": final,
        "probability_elite_at_end": final["band_probabilities"]["elite"],
        "first_elite_week": first_elite,
    }


def pooled_rates(metrics: list[dict[str, float | None]], days: int) -> dict[str, float | None]:
    """A week's rates over all replications' deployments together (failed or unplanned / deployed):
    one replication's week has a handful of deployments, so its own rate is mostly noise."""
    deployed = [(m.get("deployment_frequency_per_day") or 0.0) * days for m in metrics]
    total = sum(deployed)
    out: dict[str, float | None] = {"deployments": round(total)}
    for key in ("change_failure_rate", "rework_rate"):
        hits = sum(n * (m.get(key) or 0.0) for n, m in zip(deployed, metrics))
        out[key] = hits / total if total > 0 else None
    return out


def phase_summary(phase: Phase) -> dict[str, Any]:
    return {
        "day": phase.day,
        "name": phase.name,
        "ramp_days": phase.ramp_days,
        "set": dict(phase.values),
        "capacity_cost": phase.capacity_cost,
        "defect_cost": phase.defect_cost,
        "teams": _team_numbers(phase),
    }


def _team_numbers(phase: Phase) -> list[int] | str:
    return "all" if phase.teams is None else sorted(k + 1 for k in phase.teams)


__all__ = [
    "FINAL_DAYS",
    "STATIC_KEYS",
    "Plan",
    "PlanReplication",
    "final_window",
    "load_plan",
    "load_plan_text",
    "phase_summary",
    "plan_to_toml",
    "pooled_rates",
    "run_plan",
    "run_plan_replication",
    "week_windows",
]
