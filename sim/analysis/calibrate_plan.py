"""What a calibration fits by simulation (:func:`plan_fit`) and the starting values it reads from the logs.

Each parameter the logs cannot show directly gets a range and a start: the branch lifetime from the
lead-time split, the defect rate from the change failure rate and the share of defects CI lets through,
the detection or hand-repair time from the restore time (an M/G/c guess for hotfixes), and for an
irregular team whose releases are replayed the run-up share from its reading of the window's changes.
A team with too few deployments gets fewer parameters, and a note says what stays at the base's values.
"""

from __future__ import annotations

import math

from scipy import optimize

from sim.analysis.calibrate_search import FitParameter
from sim.analysis.log_facts import LogFacts
from sim.analysis.release_gaps import IRREGULAR_MAX_BRANCH_DAYS
from sim.model.scenario import Scenario

__all__ = ["MIN_LEAD_FIT_DEPLOYMENTS", "RELEASE_WHEN_READY", "plan_fit", "quiet_defect_rate"]

MIN_LEAD_FIT_DEPLOYMENTS = 3  # an irregular team's lead time is fitted from this many releases on
RELEASE_WHEN_READY = ("irregular", "when_ready")  # cadences of teams that release when they judge it ready


def _escape_share(scenario: Scenario) -> float:
    """Rough share of defects CI lets through: skipped suites catch nothing (sim.model.delivery's skip rule)."""
    ci = scenario.ci
    slow = (
        1.0
        - math.exp(-(ci.test_suite_minutes - ci.skip_threshold_minutes) / (3.0 * ci.skip_threshold_minutes))
        if ci.test_suite_minutes > ci.skip_threshold_minutes
        else 0.0
    )
    skip = min(0.95, slow + ci.flaky_distrust * ci.flaky_rate)
    return skip + (1.0 - skip) * (1.0 - scenario.quality.test_detection_rate)


def quiet_defect_rate(facts: LogFacts, scenario: Scenario) -> float:
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
    deploy = (
        scenario.release.manual_deploy_hours
        if scenario.release.deploy == "manual"
        else scenario.release.automated_deploy_minutes / 60
    )
    growth = 1.0 + ops.diagnosis_growth * math.log2(max(1.0, batch))

    def predicted(hours: float) -> float:
        service = hours * growth
        load = incidents_per_hour * service / ops.experts
        wait = (
            incidents_per_hour * 1.49 * service**2 / (2 * (1 - load)) / ops.experts if load < 1 else math.inf
        )
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
    return FitParameter(
        "branching.branch_lifetime_days", "lead_time_hours", low, high, min(high, max(low, start)), 0.6
    )


def _run_up_parameter(scenario: Scenario, lead: float | None) -> FitParameter | None:
    """The run-up share, fitted to the lead time where the window's releases are replayed (they fix the waits
    the gap law would draw, so the share of work made for a release is what moves the lead time)."""
    release = scenario.release
    if lead is None or release.cadence != "irregular" or not release.recorded_releases.strip():
        return None
    start = min(0.9, max(0.02, release.prep_share))
    return FitParameter("release.prep_share", "lead_time_hours", 0.01, 0.95, start, -0.5)


def plan_fit(facts: LogFacts, scenario: Scenario) -> tuple[list[FitParameter], list[str]]:
    """The parameters to fit, each with its range and starting value, and notes on what is not fitted."""
    observed = facts.observed["metrics"]
    counts = facts.observed["counts"]
    notes: list[str] = []
    irregular = scenario.release.cadence in RELEASE_WHEN_READY
    lead = observed["lead_time_hours"]
    if counts["deployments"] < 5 and not (
        irregular and counts["deployments"] >= MIN_LEAD_FIT_DEPLOYMENTS and lead is not None
    ):
        notes.append(
            f"only {counts['deployments']} deployment(s) in the window (at least 5 needed): nothing fitted by "
            "simulation; defect rate, branch lifetime and repair times left at the base's values"
        )
        return [], notes
    fit: list[FitParameter] = []
    # a team releasing when ready: the time before release is read from its changes (the lead-time split),
    # and the rest of its lead time is the wait for a release, which the gap law carries; the lead time
    # the model misses (old work a release ships) is reported, not put on every new change's branch
    split = irregular and "branching.branch_lifetime_days" in facts.estimates
    run_up = _run_up_parameter(scenario, lead)
    if counts["deployments"] < 5:
        # a team releasing when ready shows its lead time in a few releases; failures need more
        if split and run_up is not None:
            notes.append(
                f"only {counts['deployments']} deployments in the window: the run-up share is fitted to the lead "
                "time of the replayed releases; defect rate and repair times left at the base's values (5 needed)"
            )
            return [run_up], notes
        if split:
            notes.append(
                f"only {counts['deployments']} deployments in the window: nothing fitted by simulation "
                "(the branch lifetime is read from the lead-time split); defect rate and repair times "
                "left at the base's values (5 needed)"
            )
            return [], notes
        notes.append(
            f"only {counts['deployments']} deployments in the window: the branch lifetime is fitted to "
            "the lead time; defect rate and repair times left at the base's values (5 needed)"
        )
        return [_lead_parameter(facts, scenario)], notes
    if split:
        notes.append(
            "the branch lifetime is read from the lead-time split, not fitted to the lead time: the wait "
            "for a release is the gap law's"
        )
        if run_up is not None:
            fit.append(run_up)
    elif lead is not None:
        fit.append(_lead_parameter(facts, scenario))
        if facts.stats.get("release_train_full"):
            # changes queue for a full release train: their wait also depends on the backlog the
            # window opened with, which the days simulated before the window build up
            fit.append(
                FitParameter(
                    "simulation.warmup_days",
                    "lead_time_hours",
                    2.0,
                    365.0,
                    float(max(2, scenario.simulation.warmup_days)),
                    0.3,
                    integer=True,
                )
            )
    else:
        notes.append("no change was deployed in the window: branch lifetime left at the base's value")
    incidents = facts.stats.get("restore_paths")
    cfr = observed["change_failure_rate"]
    if not incidents or cfr is None or cfr == 0:
        if "quality.defect_rate" in facts.estimates:
            notes.append(
                "no incidents caused by a deployment: detection and repair times left at the base's "
                "values; the defect rate is read from zero failures (see its note)"
            )
        else:
            notes.append(
                "no incidents caused by a deployment: defect rate, detection and repair times left at the "
                "base's values (the simulated change failure rate is the base's, not the team's)"
            )
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
    fit.append(
        FitParameter(
            "quality.defect_rate", "change_failure_rate", 1e-4, 0.9, min(0.9, max(1e-4, defect)), sensitivity
        )
    )
    restore = observed["time_to_restore_hours"]
    if restore is None:
        notes.append(
            "no change-caused incident was resolved: detection and repair times left at the base's values"
        )
        return fit, notes
    fast = incidents.get("rollback", 0) + incidents.get("flag", 0)
    if fast >= incidents.get("hotfix", 0):
        estimate = facts.estimates.get("operations.detect_minutes")
        value = estimate.value if estimate else restore * 60 / math.log(2)
        fit.append(
            FitParameter(
                "operations.detect_minutes",
                "time_to_restore_hours",
                0.5,
                5000.0,
                min(5000.0, max(0.5, float(value))),
                0.9,
            )
        )
    else:
        rate = counts["incidents"] / (facts.days * 24.0)
        start = _hotfix_start(scenario, restore, rate, size)
        fit.append(FitParameter("operations.hotfix_hours", "time_to_restore_hours", 0.05, 200.0, start, 0.8))
    return fit, notes
