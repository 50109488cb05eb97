"""The people: how much work the engineers do and how they tire, their teams, and the run's warm-up."""

from __future__ import annotations

from sim.model.sections.fields import Section, param


class Team(Section):
    engineers: int = param(
        "Engineers",
        8,
        "people",
        "assumed",
        "people committing changes (split across org.teams)",
        ge=1,
        le=10000,
    )
    changes_per_engineer_per_day: float = param(
        "Changes per engineer per day",
        2.0,
        "changes / engineer / working day",
        "assumed",
        "completed changes (commits that will ship) per engineer per working day",
        gt=0,
        le=50,
    )
    overtime: float = param(
        "Working hours (overtime)",
        1.0,
        "x normal hours",
        "assumed",
        "heroics: 1.0 = normal 40-hour weeks; 1.5 = 60 hours (long days, then weekends)",
        ge=1.0,
        le=2.0,
        decides=("work",),
    )
    working_hours_per_day: float = param(
        "Hours in a working day",
        8.0,
        "hours",
        "assumed",
        "a normal working day (starts 09:00)",
        ge=1,
        le=12,
        fixed="the working calendar is built once per run",
    )
    overtime_productivity: float = param(
        "Output of a tired extra hour",
        0.5,
        "share of a normal hour's output",
        "assumed",
        "output of an extra (tired) hour relative to a normal hour",
        ge=0,
        le=1,
    )
    fatigue_defect_factor: float = param(
        "Extra defects from fatigue",
        1.5,
        "defect-rate increase per unit of overtime",
        "assumed",
        "defect rate is multiplied by 1 + factor x (overtime - 1)",
        ge=0,
        le=10,
        decides=("work",),
    )
    change_cluster: float = param(
        "Changes per burst of work",
        1.0,
        "changes",
        "assumed",
        "changes come in bursts (a pull request's commits) of this mean size, geometric; 1 = one at a time",
        ge=1,
        le=100,
    )
    output_evidence: int = param(
        "Changes observed",
        0,
        "changes",
        "assumed",
        "changes the calibration window showed; each replication scales the output per "
        "engineer by a draw from its posterior (0 = take it as known)",
        ge=0,
        le=100_000_000,
        fixed="each replication draws its parameters once, before it runs",
    )
    output_spread: float = param(
        "Month-to-month spread of output",
        0.0,
        "coefficient of variation",
        "assumed",
        "how much the team's output varies from month to month beyond chance; each "
        "replication scales the output per engineer by a Gamma draw of this spread "
        "(0 = steady)",
        ge=0,
        le=5,
        fixed="each replication draws its parameters once, before it runs",
    )


class Org(Section):
    teams: int = param(
        "Teams",
        1,
        "teams",
        "assumed",
        "the engineers are split across this many teams; each team has its own branches (conflicts happen within a "
        "team), release train and deployable service; the CI runner pool and the experts are shared",
        ge=1,
        le=500,
        fixed="the teams are formed once per run",
    )


class Simulation(Section):
    warmup_days: int = param(
        "Warm-up before the window",
        28,
        "days",
        "assumed",
        "days simulated before `start` so queues and branches are full when the window opens",
        ge=0,
        le=365,
        fixed="the warm-up happens before the plan starts",
    )
