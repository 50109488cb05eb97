"""The shapes of every result the analyses return: the JSON documents of docs/cli.md, typed.

They are ``TypedDict`` s: the results stay plain dicts (JSON out, byte for byte) while the type
checker knows every key. ``MetricStats`` is one metric over replications; ``RunResult`` is what
``run`` prints and each element of ``compare``; plans, sweeps and calibration build on them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class MetricStats(TypedDict):
    """One metric over replications (``None`` when no replication has a value)."""

    p10: float | None
    p50: float | None
    p90: float | None
    mean: float | None


Metrics = dict[str, MetricStats]
Bands = dict[str, str | None]


class Counts(TypedDict):
    changes: int
    deployments: int
    incidents: int


class Stability(TypedDict):
    stable: bool
    unstable_share: float
    undeployed_share: float | None
    backlog_growth_per_week: float | None
    open_incidents_growth_per_week: float | None
    incidents_unstable_share: float


class TeamResult(TypedDict):
    team: int  # numbered from 1
    engineers: int
    metrics: Metrics
    bands: Bands


class _RunRequired(TypedDict):
    scenario: str
    days: int
    reps: int
    seed: int
    benchmark: str
    metrics: Metrics
    bands: Bands
    band_probabilities: dict[str, float]
    counts: Counts
    lead_time_breakdown: dict[str, float]
    flow_efficiency: float | None
    stability: Stability
    warnings: list[str]


class RunResult(_RunRequired, total=False):
    teams: list[TeamResult]  # only for organisations (org.teams > 1)


class CompareResult(TypedDict):
    reference: str
    scenarios: list[RunResult]


class WeekResult(TypedDict):
    week: int
    start_day: int
    days: int
    metrics: Metrics
    bands: Bands
    band_probabilities: dict[str, float]
    pooled: dict[str, float | None]  # the week's failure and rework rates pooled over replications


class PlanResult(TypedDict):
    plan: str
    days: int
    reps: int
    seed: int
    benchmark: str
    phases: list[dict[str, Any]]
    weeks: list[WeekResult]
    final: RunResult
    probability_elite_at_end: float
    first_elite_week: int | None
    caveat: NotRequired[str]  # only for a calibrated baseline whose fit is poor or data thin


class TornadoRow(TypedDict):
    key: str
    low: float | None
    high: float | None
    swing: float | None
    low_value: Any
    high_value: Any
    unstable: bool
    unstable_at: list[str]


class SweepResult(TypedDict, total=False):
    sweep: str
    base: str
    days: int
    design: str
    points: int
    parts: dict[str, int]
    reps: int
    seed: int
    benchmark: str
    base_p50: dict[str, float | None]
    base_stable: bool
    tornado: dict[str, list[TornadoRow]]
    sensitivity: dict[str, dict[str, dict[str, float | None]]]
    sensitivity_method: str
    unstable_points: int
    warnings: list[str]
