"""Monte Carlo replications of a scenario, scored with the same function as real logs.

Replication ``k`` draws from ``SeedSequence(entropy=seed, spawn_key=(k, stream))`` only, so
results do not depend on how replications are spread over workers, and replication ``k`` of
two scenarios shares its random numbers (common random numbers).

Each replication is scored as a whole (the organisation's pooled logs: the DORA definitions
applied to everything it ships) and, for an organisation of teams, team by team; its backlog is
judged stable or not (:mod:`sim.analysis.stability`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.analysis.parallel import run_tasks
from sim.analysis.results import MetricStats, RunResult, Stability, TeamResult
from sim.analysis.stability import Backlog, backlog, summarize_stability
from sim.metrics.bands import BANDS, bands_for, check_benchmark
from sim.metrics.registry import METRIC_KEYS
from sim.metrics.scoring import ScoreCounts, score_columns
from sim.model.advice import scenario_notes
from sim.model.delivery import simulate, team_size
from sim.model.params import Phase
from sim.model.records import stage_totals, to_columns, window_bounds, window_rows
from sim.model.scenario import Scenario
from sim.model.stages import ACTIVE_STAGES, STAGES

DEFAULT_REPS = 30


@dataclass(frozen=True)
class ReplicationResult:
    """What one replication contributes to a summary (small, cheap to send between processes)."""

    replication: int
    metrics: dict[str, float | None]
    overall: str | None
    counts: ScoreCounts
    stage_hours: dict[str, float]
    deployed_changes: int
    backlog: Backlog
    team_metrics: tuple[dict[str, float | None], ...] = ()  # per team (organisations only)
    simulated_changes: int = 0  # every change the replication simulated, warm-up included


def run_replication(
    scenario: Scenario, seed: int, replication: int, benchmark: str = "2023", phases: tuple[Phase, ...] = ()
) -> ReplicationResult:
    records = simulate(scenario, seed, replication, phases)
    rows = window_rows(records)
    start, end = window_bounds(records)
    # what needs the records alone first, then the scorer's columns: fewer arrays are held at once
    stages = stage_totals(records, rows.deployed_in)
    deployed = int(rows.deployed_in.sum())
    judged = backlog(records)
    columns = to_columns(records, rows)
    del rows
    result = score_columns(columns, start=start, end=end, benchmark=benchmark)
    teams: tuple[dict[str, float | None], ...] = ()
    if records.teams > 1:
        teams = tuple(
            score_columns(part, start=start, end=end, benchmark=benchmark)["metrics"]
            for part in columns.by_team(records.teams)
        )
    return ReplicationResult(
        replication,
        result["metrics"],
        result["bands"]["overall"],
        result["counts"],
        stages,
        deployed,
        judged,
        teams,
        len(records.changes),
    )


def replicate(
    scenario: Scenario,
    reps: int = DEFAULT_REPS,
    seed: int | None = None,
    *,
    workers: int | None = None,
    benchmark: str = "2023",
    phases: tuple[Phase, ...] = (),
    progress: str | None = None,
    show_progress: bool | None = None,
    callback: Callable[[int, int], Any] | None = None,
) -> list[ReplicationResult]:
    seed = scenario.seed if seed is None else seed
    tasks = [(scenario, seed, k, benchmark, tuple(phases)) for k in range(reps)]
    return run_tasks(
        run_replication, tasks, workers=workers, progress=progress, show=show_progress, callback=callback
    )


def percentiles(values: Sequence[float | None]) -> MetricStats:
    """p10/p50/p90/mean over the replications that have a value (``None`` when none do)."""
    data = np.array([v for v in values if v is not None], dtype=float)
    if data.size == 0:
        return {"p10": None, "p50": None, "p90": None, "mean": None}
    p10, p50, p90 = np.percentile(data, [10, 50, 90])
    return {"p10": float(p10), "p50": float(p50), "p90": float(p90), "mean": float(data.mean())}


def band_probabilities(overalls: Sequence[str | None]) -> dict[str, float]:
    n = len(overalls)
    return {band: (sum(1 for o in overalls if o == band) / n if n else 0.0) for band in BANDS}


def breakdown(results: Sequence[ReplicationResult]) -> tuple[dict[str, float], float | None]:
    """Mean hours per deployed change in each stage (pooled over replications) and flow efficiency."""
    deployed = sum(r.deployed_changes for r in results)
    totals = {stage: sum(r.stage_hours.get(stage, 0.0) for r in results) for stage in STAGES}
    if deployed == 0:
        return dict.fromkeys(STAGES, 0.0), None
    lead = sum(totals.values())
    active = sum(totals[s] for s in ACTIVE_STAGES)
    return {s: totals[s] / deployed for s in STAGES}, (active / lead if lead > 0 else None)


def summarize(
    scenario: Scenario,
    results: Sequence[ReplicationResult],
    seed: int,
    benchmark: str = "2023",
    days: int | None = None,
) -> RunResult:
    """The ``run`` JSON of docs/cli.md."""
    benchmark = check_benchmark(benchmark)
    metrics = {key: percentiles([r.metrics.get(key) for r in results]) for key in METRIC_KEYS}
    p50s = {key: value["p50"] for key, value in metrics.items()}
    lead_breakdown, efficiency = breakdown(results)
    summary: RunResult = {
        "scenario": scenario.name,
        "days": scenario.days if days is None else days,
        "reps": len(results),
        "seed": seed,
        "benchmark": benchmark,
        "metrics": metrics,
        "bands": bands_for(p50s, benchmark),
        "band_probabilities": band_probabilities([r.overall for r in results]),
        "counts": {
            "changes": sum(r.counts.get("changes", 0) for r in results),
            "deployments": sum(r.counts.get("deployments", 0) for r in results),
            "incidents": sum(r.counts.get("incidents", 0) for r in results),
        },
        "lead_time_breakdown": lead_breakdown,
        "flow_efficiency": efficiency,
        "stability": stability_of(results),
        "warnings": scenario_notes(scenario),
    }
    if scenario.org.teams > 1 and results and results[0].team_metrics:
        summary["teams"] = team_summaries(scenario, results, benchmark)
    return summary


def stability_of(results: Sequence[ReplicationResult]) -> Stability:
    return summarize_stability([r.backlog for r in results])


def team_summaries(
    scenario: Scenario, results: Sequence[ReplicationResult], benchmark: str
) -> list[TeamResult]:
    """Each team's metrics over replications and the bands of their p50s (teams numbered from 1)."""
    teams = scenario.org.teams
    out: list[TeamResult] = []
    for k in range(teams):
        metrics = {key: percentiles([r.team_metrics[k].get(key) for r in results]) for key in METRIC_KEYS}
        out.append(
            {
                "team": k + 1,
                "engineers": team_size(k, scenario.team.engineers, teams),
                "metrics": metrics,
                "bands": bands_for({key: m["p50"] for key, m in metrics.items()}, benchmark),
            }
        )
    return out


def run_scenario(
    scenario: Scenario,
    reps: int = DEFAULT_REPS,
    seed: int | None = None,
    *,
    workers: int | None = None,
    benchmark: str = "2023",
    progress: str | None = None,
    show_progress: bool | None = None,
    callback: Callable[[int, int], Any] | None = None,
) -> RunResult:
    """Replicate and summarise a scenario: the one call behind ``run``, ``compare`` and the app."""
    seed = scenario.seed if seed is None else seed
    results = replicate(
        scenario,
        reps,
        seed,
        workers=workers,
        benchmark=benchmark,
        progress=progress,
        show_progress=show_progress,
        callback=callback,
    )
    return summarize(scenario, results, seed, benchmark)
