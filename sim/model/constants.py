"""The model's fixed constants: every number in the model that is not a scenario parameter.

Each one carries a unit and a source label, like the scenario parameters, and the app's
assumptions table lists them next to the parameters. They are shapes of distributions and
clock times that a team rarely knows and that move the DORA metrics little; a number a user
could reasonably question and want to change (the branch-lifetime spread, the flaky re-run limit,
the skip curve) is a scenario parameter instead (``branching.branch_lifetime_cv``,
``ci.max_flaky_reruns``, ``ci.skip_scale``, ``ci.max_skip_share``).

Durations are Gamma-distributed with a given mean and a coefficient of variation (CV = standard
deviation / mean; 1 = exponential, 0 = fixed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Constant:
    name: str
    value: float
    unit: str
    source: str
    meaning: str


CONSTANTS: dict[str, Constant] = {}


def _constant(name: str, value: float, unit: str, source: str, meaning: str) -> float:
    CONSTANTS[name] = Constant(name, value, unit, source, meaning)
    return value


# -- people at work --------------------------------------------------------------------------
DAY_START_HOUR = _constant(
    "DAY_START_HOUR",
    9.0,
    "hour of the day (UTC)",
    "assumed",
    "working days start at 09:00; a manual deployment needs someone at work",
)
MAX_EVENING_HOURS = _constant(
    "MAX_EVENING_HOURS",
    3.0,
    "hours per weekday",
    "assumed",
    "overtime goes first to weekday evenings, up to this many hours, then to weekends",
)
MIN_CAPACITY_FACTOR = _constant(
    "MIN_CAPACITY_FACTOR",
    0.2,
    "share of normal speed",
    "assumed",
    "however steep a plan's adoption cost, people keep at least this share of their "
    "speed: human work takes at most 1 / 0.2 = 5 times as long",
)

# -- branches ---------------------------------------------------------------------------------
CONFLICT_REFERENCE_AGE_DAYS = _constant(
    "CONFLICT_REFERENCE_AGE_DAYS",
    5.0,
    "days",
    "assumed",
    "branch age at which resolving a conflict takes conflict_resolution_hours; the mean rework is "
    "conflict_resolution_hours × (1 + age / 5 days) / 2, so it grows with the branch's age",
)
CONFLICT_RESOLUTION_CV = _constant(
    "CONFLICT_RESOLUTION_CV",
    0.8,
    "coefficient of variation",
    "assumed",
    "spread of the time to resolve a merge conflict",
)

# -- release and deployment -------------------------------------------------------------------
DAILY_RELEASE_HOUR = _constant(
    "DAILY_RELEASE_HOUR",
    15.0,
    "hour of the day (UTC)",
    "assumed",
    "a daily release train leaves at 15:00 on working days",
)
WEEKEND_RELEASE_HOUR = _constant(
    "WEEKEND_RELEASE_HOUR",
    9.0,
    "hour of the day (UTC)",
    "assumed",
    "weekly, biweekly and monthly release windows open on Saturday at 09:00",
)
MANUAL_DEPLOY_CV = _constant(
    "MANUAL_DEPLOY_CV",
    0.5,
    "coefficient of variation",
    "assumed",
    "spread of a manual deployment's duration (checklists run long)",
)
AUTOMATED_STEP_CV = _constant(
    "AUTOMATED_STEP_CV",
    0.3,
    "coefficient of variation",
    "assumed",
    "spread of an automated deployment, rollback or flag flip: machines are steady",
)

# -- production -------------------------------------------------------------------------------
HOTFIX_DIAGNOSIS_CV = _constant(
    "HOTFIX_DIAGNOSIS_CV",
    0.7,
    "coefficient of variation",
    "assumed",
    "spread of the time to diagnose and prepare a fix by hand",
)


def constants_table() -> list[dict[str, object]]:
    """Rows for the assumptions table: every constant's name, value, unit, source and meaning."""
    return [
        {"name": c.name, "value": c.value, "unit": c.unit, "source": c.source, "meaning": c.meaning}
        for c in CONSTANTS.values()
    ]
