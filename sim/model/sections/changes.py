"""From a finished change to a tested merge: branches and review, CI, and the defects tests catch."""

from __future__ import annotations

from typing import Literal

from sim.model.sections.fields import BRINDESCU, DIAS, GOOGLE_FLAKY, Section, param


class Branching(Section):
    strategy: Literal["long_lived", "trunk"] = param(
        "Branching strategy",
        "long_lived",
        "long_lived | trunk",
        "assumed",
        "long_lived: an engineer's changes wait on a feature branch until it merges; trunk: each change merges on its own",
        decides=("branches",),
    )
    branch_lifetime_days: float = param(
        "Branch lifetime (trunk: review time)",
        10.0,
        "days",
        "assumed",
        "mean time a branch lives before it merges (trunk: review time of one change)",
        gt=0,
        le=120,
        decides=("branches",),
    )
    branch_lifetime_cv: float = param(
        "How much branch lifetimes vary",
        0.7,
        "coefficient of variation",
        "assumed",
        "spread of long-lived branch lifetimes (Gamma; 1 = exponential, 0 = every branch lives exactly the mean)",
        ge=0.05,
        le=3,
        decides=("branches",),
    )
    feature_flags: bool = param(
        "Feature flags",
        False,
        "switch",
        "assumed",
        "unfinished or failing work can be switched off without a deploy",
        decides=("work",),
    )
    flag_coverage: float = param(
        "Share of changes behind a flag",
        0.8,
        "share of changes",
        "assumed",
        "share of changes behind a flag when feature flags are used",
        ge=0,
        le=1,
        decides=("work",),
    )
    conflict_rate: float = param(
        "Merge-conflict hazard",
        0.005,
        "per branch-day per other open branch",
        "assumed",
        "merge-conflict hazard: P(conflict) = 1 - exp(-rate x branch age in days x other open branches); "
        "calibrated so ~1 in 5 long-lived merges conflict",
        cite=f"calibrated to {BRINDESCU}; {DIAS}",
        ge=0,
        le=1,
        decides=("branches",),
    )
    conflict_resolution_hours: float = param(
        "Time to resolve a conflict",
        4.0,
        "hours",
        "assumed",
        "mean rework to resolve a conflict on a 5-day-old branch (grows with age)",
        ge=0,
        le=200,
        decides=("branches",),
    )
    conflict_defect_multiplier: float = param(
        "Extra defects in conflicting code",
        2.0,
        "x defect rate",
        "published",
        "conflicting code is about twice as likely to carry a defect",
        cite=BRINDESCU,
        ge=1,
        le=10,
        decides=("branches",),
    )


class CI(Section):
    test_suite_minutes: float = param(
        "Test suite duration",
        60.0,
        "minutes",
        "assumed",
        "mean duration of the test suite",
        gt=0,
        le=1440,
        decides=("ci",),
    )
    suite_cv: float = param(
        "How much suite duration varies",
        0.3,
        "coefficient of variation",
        "assumed",
        "spread of suite durations (1 = exponential)",
        ge=0,
        le=3,
        decides=("ci",),
    )
    runners: int = param(
        "CI runners",
        2,
        "runners",
        "assumed",
        "parallel CI runners (a queue forms when all are busy)",
        ge=1,
        le=1000,
        fixed="the CI runner pool is sized once per run",
    )
    flaky_rate: float = param(
        "Flaky test rate",
        0.10,
        "probability per run",
        "assumed",
        "probability a run fails for no reason and is re-run (the automated and elite scenarios use Google's ~1.5%; "
        "the baseline's 10% for a neglected suite is assumed)",
        cite=GOOGLE_FLAKY,
        ge=0,
        le=0.95,
        decides=("ci",),
    )
    skip_threshold_minutes: float = param(
        "Suite length people start skipping at",
        20.0,
        "minutes",
        "assumed",
        "above this suite duration engineers start skipping tests",
        gt=0,
        le=1440,
        decides=("ci",),
    )
    max_flaky_reruns: int = param(
        "Flaky re-runs before overriding",
        3,
        "runs",
        "assumed",
        "after this many flaky failures in a row the run is overridden as green",
        ge=0,
        le=20,
        decides=("ci",),
    )
    skip_scale: float = param(
        "How fast skipping grows with suite length",
        3.0,
        "x the skip threshold",
        "assumed",
        "slow-suite skip probability = 1 - exp(-(suite - threshold) / (scale x threshold)): with 3, a suite three "
        "times the threshold is skipped ~49% of the time",
        gt=0,
        le=100,
        decides=("ci",),
    )
    max_skip_share: float = param(
        "Most runs ever skipped",
        0.95,
        "share of runs",
        "assumed",
        "however slow or flaky the suite, at most this share of runs is skipped or overridden",
        ge=0,
        le=1,
        decides=("ci",),
    )
    flaky_distrust: float = param(
        "Skipping because tests are flaky",
        2.0,
        "skip probability per unit flaky rate",
        "assumed",
        "a suite nobody trusts is skipped or overridden more: adds factor x flaky_rate to the skip probability",
        ge=0,
        le=10,
        decides=("ci",),
    )


class Quality(Section):
    defect_rate: float = param(
        "Defect rate",
        0.08,
        "probability per change",
        "assumed",
        "probability that a change carries a production defect",
        ge=0,
        le=1,
        decides=("work",),
    )
    test_detection_rate: float = param(
        "Share of defects tests catch",
        0.6,
        "probability",
        "assumed",
        "probability the suite catches a defect when it runs",
        ge=0,
        le=1,
    )
    fix_hours: float = param(
        "Time to fix what CI caught",
        3.0,
        "hours",
        "assumed",
        "mean time to fix a defect CI caught, before re-testing",
        ge=0,
        le=200,
    )
