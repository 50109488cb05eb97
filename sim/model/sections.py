"""The sections of a scenario (docs/scenarios.md): every model parameter, declared once, on its field.

Each parameter carries its label in plain words, unit, source label — ``published`` (with a
citation) or ``assumed`` — help text and range, so the README, the reference tables and the app read
them from here. It also says what a plan may do with it (docs/plans.md):

- ``fixed``: why a plan phase cannot change it (the model sizes it once per run);
- ``decides``: the stages of the model that work out settings from it once per run when nothing
  changes (``work``, ``branches``, ``ci``, ``cadence``, ``release``); while a plan changes the key,
  those stages look it up at every use instead. The key lists of the stages are derived from this.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

CADENCES = ("continuous", "daily", "weekly", "biweekly", "monthly", "irregular", "when_ready")
STRATEGIES = ("long_lived", "trunk")
DEPLOY_METHODS = ("manual", "automated")

BRINDESCU = "Brindescu et al. 2020, 'An empirical investigation into merge conflicts and their effect on software quality', EMSE"
DIAS = "Dias et al. 2020, 'Understanding predictive factors for merge conflicts', IST"
GOOGLE_FLAKY = "Micco 2016, 'Flaky tests at Google and how we mitigate them' (Google Testing Blog): ~1.5% of test runs flaky"
DORA_2018 = "DORA / Forsgren, Humble, Kim 2018, Accelerate and the 2018 State of DevOps report"


STAGES = ("work", "branches", "ci", "cadence", "release")  # what ``decides`` may name


def _p(label: str, default: Any, unit: str, source: str, help: str, cite: str = "", *,
       decides: tuple[str, ...] = (), fixed: str = "", **limits: Any) -> Any:
    """A parameter: a pydantic Field carrying its label in plain words, unit, source label and citation,
    and what a plan may do with it (``decides``, ``fixed``: see the module's docstring)."""
    unknown = set(decides) - set(STAGES)
    if unknown:
        raise ValueError(f"decides names unknown stages {sorted(unknown)}; stages are {STAGES}")
    extra: JsonDict = {"label": label, "unit": unit, "source": source, "cite": cite}
    if decides:
        extra["decides"] = list(decides)
    if fixed:
        extra["fixed"] = fixed
    return Field(default, description=help, json_schema_extra=extra, **limits)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Team(_Section):
    engineers: int = _p("Engineers", 8, "people", "assumed", "people committing changes (split across org.teams)",
                        ge=1, le=10000)
    changes_per_engineer_per_day: float = _p("Changes per engineer per day",
        2.0, "changes / engineer / working day", "assumed",
        "completed changes (commits that will ship) per engineer per working day", gt=0, le=50)
    overtime: float = _p("Working hours (overtime)",
        1.0, "x normal hours", "assumed",
        "heroics: 1.0 = normal 40-hour weeks; 1.5 = 60 hours (long days, then weekends)", ge=1.0, le=2.0, decides=("work",))
    working_hours_per_day: float = _p("Hours in a working day", 8.0, "hours", "assumed", "a normal working day (starts 09:00)", ge=1, le=12, fixed="the working calendar is built once per run")
    overtime_productivity: float = _p("Output of a tired extra hour",
        0.5, "share of a normal hour's output", "assumed",
        "output of an extra (tired) hour relative to a normal hour", ge=0, le=1)
    fatigue_defect_factor: float = _p("Extra defects from fatigue",
        1.5, "defect-rate increase per unit of overtime", "assumed",
        "defect rate is multiplied by 1 + factor x (overtime - 1)", ge=0, le=10, decides=("work",))
    change_cluster: float = _p("Changes per burst of work", 1.0, "changes", "assumed",
                               "changes come in bursts (a pull request's commits) of this mean size, geometric; "
                               "1 = one at a time", ge=1, le=100)
    output_evidence: int = _p("Changes observed", 0, "changes", "assumed",
                              "changes the calibration window showed; each replication scales the output per "
                              "engineer by a draw from its posterior (0 = take it as known)", ge=0, le=100_000_000,
                              fixed="each replication draws its parameters once, before it runs")
    output_spread: float = _p("Month-to-month spread of output", 0.0, "coefficient of variation", "assumed",
                              "how much the team's output varies from month to month beyond chance; each "
                              "replication scales the output per engineer by a Gamma draw of this spread "
                              "(0 = steady)", ge=0, le=5, fixed="each replication draws its parameters once, before it runs")


class Org(_Section):
    teams: int = _p(
        "Teams", 1, "teams", "assumed",
        "the engineers are split across this many teams; each team has its own branches (conflicts happen within a "
        "team), release train and deployable service; the CI runner pool and the experts are shared", ge=1, le=500, fixed="the teams are formed once per run")


class Branching(_Section):
    strategy: Literal["long_lived", "trunk"] = _p("Branching strategy",
        "long_lived", "long_lived | trunk", "assumed",
        "long_lived: an engineer's changes wait on a feature branch until it merges; trunk: each change merges on its own", decides=("branches",))
    branch_lifetime_days: float = _p("Branch lifetime (trunk: review time)",
        10.0, "days", "assumed", "mean time a branch lives before it merges (trunk: review time of one change)",
        gt=0, le=120, decides=("branches",))
    branch_lifetime_cv: float = _p(
        "How much branch lifetimes vary", 0.7, "coefficient of variation", "assumed",
        "spread of long-lived branch lifetimes (Gamma; 1 = exponential, 0 = every branch lives exactly the mean)",
        ge=0.05, le=3, decides=("branches",))
    feature_flags: bool = _p("Feature flags", False, "switch", "assumed", "unfinished or failing work can be switched off without a deploy", decides=("work",))
    flag_coverage: float = _p("Share of changes behind a flag",
        0.8, "share of changes", "assumed", "share of changes behind a flag when feature flags are used", ge=0, le=1, decides=("work",))
    conflict_rate: float = _p("Merge-conflict hazard",
        0.005, "per branch-day per other open branch", "assumed",
        "merge-conflict hazard: P(conflict) = 1 - exp(-rate x branch age in days x other open branches); "
        "calibrated so ~1 in 5 long-lived merges conflict", cite=f"calibrated to {BRINDESCU}; {DIAS}", ge=0, le=1, decides=("branches",))
    conflict_resolution_hours: float = _p("Time to resolve a conflict",
        4.0, "hours", "assumed", "mean rework to resolve a conflict on a 5-day-old branch (grows with age)", ge=0, le=200, decides=("branches",))
    conflict_defect_multiplier: float = _p("Extra defects in conflicting code",
        2.0, "x defect rate", "published", "conflicting code is about twice as likely to carry a defect",
        cite=BRINDESCU, ge=1, le=10, decides=("branches",))


class CI(_Section):
    test_suite_minutes: float = _p("Test suite duration", 60.0, "minutes", "assumed", "mean duration of the test suite", gt=0, le=1440, decides=("ci",))
    suite_cv: float = _p("How much suite duration varies",
        0.3, "coefficient of variation", "assumed", "spread of suite durations (1 = exponential)", ge=0, le=3, decides=("ci",))
    runners: int = _p("CI runners", 2, "runners", "assumed", "parallel CI runners (a queue forms when all are busy)", ge=1, le=1000, fixed="the CI runner pool is sized once per run")
    flaky_rate: float = _p("Flaky test rate",
        0.10, "probability per run", "assumed",
        "probability a run fails for no reason and is re-run (the automated and elite scenarios use Google's ~1.5%; "
        "the baseline's 10% for a neglected suite is assumed)",
        cite=GOOGLE_FLAKY, ge=0, le=0.95, decides=("ci",))
    skip_threshold_minutes: float = _p("Suite length people start skipping at",
        20.0, "minutes", "assumed", "above this suite duration engineers start skipping tests", gt=0, le=1440, decides=("ci",))
    max_flaky_reruns: int = _p(
        "Flaky re-runs before overriding", 3, "runs", "assumed",
        "after this many flaky failures in a row the run is overridden as green", ge=0, le=20, decides=("ci",))
    skip_scale: float = _p(
        "How fast skipping grows with suite length", 3.0, "x the skip threshold", "assumed",
        "slow-suite skip probability = 1 - exp(-(suite - threshold) / (scale x threshold)): with 3, a suite three "
        "times the threshold is skipped ~49% of the time", gt=0, le=100, decides=("ci",))
    max_skip_share: float = _p(
        "Most runs ever skipped", 0.95, "share of runs", "assumed",
        "however slow or flaky the suite, at most this share of runs is skipped or overridden", ge=0, le=1, decides=("ci",))
    flaky_distrust: float = _p("Skipping because tests are flaky",
        2.0, "skip probability per unit flaky rate", "assumed",
        "a suite nobody trusts is skipped or overridden more: adds factor x flaky_rate to the skip probability",
        ge=0, le=10, decides=("ci",))


class Quality(_Section):
    defect_rate: float = _p("Defect rate", 0.08, "probability per change", "assumed",
                            "probability that a change carries a production defect", ge=0, le=1, decides=("work",))
    test_detection_rate: float = _p("Share of defects tests catch", 0.6, "probability", "assumed",
                                    "probability the suite catches a defect when it runs", ge=0, le=1)
    fix_hours: float = _p("Time to fix what CI caught", 3.0, "hours", "assumed", "mean time to fix a defect CI caught, before re-testing",
                          ge=0, le=200)


class Release(_Section):
    cadence: Literal["continuous", "daily", "weekly", "biweekly", "monthly", "irregular", "when_ready"] = _p(
        "Release cadence", "weekly", "continuous | daily | weekly | biweekly | monthly | irregular | when_ready",
        "assumed",
        "when merged changes may ship: continuous = as soon as ready; daily = 15:00 on working days; "
        "weekly = Saturday 09:00 window; biweekly = every other Saturday; monthly = first Saturday of the month; "
        "irregular = when the team judges it ready, gaps drawn from release.gap_days and release.gap_spread; "
        "when_ready = the more work waits, the sooner a release (release.pending_hazard)",
        decides=("cadence",))
    max_batch_size: int = _p("Most changes per deployment", 0, "changes", "assumed", "most changes in one deployment; 0 = no cap", ge=0, le=100000, decides=("release",))
    deploy: Literal["manual", "automated"] = _p("Deploy method",
        "manual", "manual | automated", "assumed",
        "manual: checklist, hours, error-prone, only in the release window; automated: one click, minutes", decides=("release",))
    window_hours: float = _p("Release window length", 8.0, "hours", "assumed",
                             "how long a scheduled release window stays open for further batches", gt=0, le=72, fixed="the release calendar is built once per run")
    manual_deploy_hours: float = _p("Manual deployment duration", 3.0, "hours", "assumed", "mean duration of a manual deployment", gt=0, le=48, decides=("release",))
    automated_deploy_minutes: float = _p("Automated deployment duration", 10.0, "minutes", "assumed", "mean duration of an automated deployment",
                                         gt=0, le=600, decides=("release",))
    manual_error_rate: float = _p("Manual deployment error rate", 0.05, "probability per deploy", "assumed",
                                  "probability a manual deployment fails by a checklist error", ge=0, le=1)
    gap_days: float = _p("Median gap between irregular releases", 14.0, "days", "assumed",
                         "irregular cadence: median of the gaps between release windows", gt=0, le=3650,
                         fixed="the irregular release windows are drawn once per run")
    gap_law: Literal["lognormal", "exponential"] = _p(
        "Law of gaps between irregular releases", "lognormal", "lognormal | exponential", "assumed",
        "irregular cadence: lognormal = gaps of median release.gap_days and log-scale spread release.gap_spread; "
        "exponential = a memoryless release clock of median gap release.gap_days (release.gap_spread unused)",
        fixed="the irregular release windows are drawn once per run")
    gap_spread: float = _p("Spread of gaps between irregular releases", 0.8, "log-scale standard deviation",
                           "assumed", "irregular cadence: standard deviation of the log of a gap (0 = fixed gaps)",
                           ge=0, le=4, fixed="the irregular release windows are drawn once per run")
    gap_evidence: int = _p("Release gaps observed", 0, "gaps", "assumed",
                           "irregular and when_ready cadences: gaps (releases) the fit saw; each replication draws "
                           "its own gap law (release hazard) from their posterior (0 = take them as known)", ge=0, le=100000,
                           fixed="the irregular release windows are drawn once per run")
    pending_hazard: float = _p("Release chance per waiting change", 0.01, "per change per day", "assumed",
                               "when_ready cadence: each change made and not yet shipped adds this to the daily "
                               "chance of a release", ge=0, le=100,
                               fixed="the release hazard follows the work drawn for the whole run")
    state_day: int = _p("Day the release state holds", -1, "days after start", "assumed",
                        "the day after `start` on which the last release was release.days_since_release days "
                        "earlier (-1 = no recorded state)", ge=-1, le=3650, fixed="the irregular release windows are drawn once per run")
    days_since_release: float = _p("Days since the last release", 0.0, "days", "assumed",
                                   "irregular cadence: time since the last release on release.state_day", ge=0,
                                   le=3650, fixed="the irregular release windows are drawn once per run")


class Operations(_Section):
    automated_rollback: bool = _p("Automated rollback", False, "switch", "assumed",
                                  "health checks roll a bad deployment back by themselves")
    detect_minutes: float = _p("Time to detect a failure", 120.0, "minutes", "assumed", "mean time from failure to detection", gt=0, le=20160)
    hotfix_hours: float = _p("Time to hotfix by hand", 8.0, "hours", "assumed",
                             "mean time to diagnose and prepare a fix by hand for a one-change deployment",
                             gt=0, le=500)
    diagnosis_growth: float = _p("Extra diagnosis time for big batches", 0.25, "x per doubling of batch size", "assumed",
                                 "hand diagnosis time = hotfix_hours x (1 + growth x log2(batch size))", ge=0, le=5)
    experts: int = _p("Experts on call", 1, "people", "assumed", "people who can restore production by hand (incidents queue for them)",
                      ge=1, le=1000, fixed="the pool of experts is sized once per run")
    rollback_minutes: float = _p("Automated rollback time", 10.0, "minutes", "assumed", "automated rollback once a failure is detected",
                                 gt=0, le=600)
    flag_flip_minutes: float = _p("Time to switch a flag off", 5.0, "minutes", "assumed", "switching a feature flag off", gt=0, le=600)
    fire_delay_hours: float = _p("Time until a defect hurts users", 2.0, "hours", "assumed", "mean time from a deployment to its defect hurting users",
                                 ge=0, le=720)


class Simulation(_Section):
    warmup_days: int = _p("Warm-up before the window", 28, "days", "assumed",
                          "days simulated before `start` so queues and branches are full when the window opens",
                          ge=0, le=365, fixed="the warm-up happens before the plan starts")
