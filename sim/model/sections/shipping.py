"""From a merge to production and back: release trains and deployments, then failures and restores."""

from __future__ import annotations

from typing import Literal

from sim.model.sections.fields import Section, param


class Release(Section):
    cadence: Literal["continuous", "daily", "weekly", "biweekly", "monthly", "irregular", "when_ready"] = (
        param(
            "Release cadence",
            "weekly",
            "continuous | daily | weekly | biweekly | monthly | irregular | when_ready",
            "assumed",
            "when merged changes may ship: continuous = as soon as ready; daily = 15:00 on working days; "
            "weekly = Saturday 09:00 window; biweekly = every other Saturday; monthly = first Saturday of the month; "
            "irregular = when the team judges it ready, gaps drawn from release.gap_days and release.gap_spread; "
            "when_ready = the more work waits, the sooner a release (release.pending_hazard)",
            decides=("cadence",),
        )
    )
    max_batch_size: int = param(
        "Most changes per deployment",
        0,
        "changes",
        "assumed",
        "most changes in one deployment; 0 = no cap",
        ge=0,
        le=100000,
        decides=("release",),
    )
    deploy: Literal["manual", "automated"] = param(
        "Deploy method",
        "manual",
        "manual | automated",
        "assumed",
        "manual: checklist, hours, error-prone, only in the release window; automated: one click, minutes",
        decides=("release",),
    )
    window_hours: float = param(
        "Release window length",
        8.0,
        "hours",
        "assumed",
        "how long a scheduled release window stays open for further batches",
        gt=0,
        le=72,
        fixed="the release calendar is built once per run",
    )
    manual_deploy_hours: float = param(
        "Manual deployment duration",
        3.0,
        "hours",
        "assumed",
        "mean duration of a manual deployment",
        gt=0,
        le=48,
        decides=("release",),
    )
    automated_deploy_minutes: float = param(
        "Automated deployment duration",
        10.0,
        "minutes",
        "assumed",
        "mean duration of an automated deployment",
        gt=0,
        le=600,
        decides=("release",),
    )
    manual_error_rate: float = param(
        "Manual deployment error rate",
        0.05,
        "probability per deploy",
        "assumed",
        "probability a manual deployment fails by a checklist error",
        ge=0,
        le=1,
    )
    gap_days: float = param(
        "Median gap between irregular releases",
        14.0,
        "days",
        "assumed",
        "irregular cadence: median of the gaps between release windows",
        gt=0,
        le=3650,
        fixed="the irregular release windows are drawn once per run",
    )
    gap_law: Literal["lognormal", "exponential"] = param(
        "Law of gaps between irregular releases",
        "lognormal",
        "lognormal | exponential",
        "assumed",
        "irregular cadence: lognormal = gaps of median release.gap_days and log-scale spread release.gap_spread; "
        "exponential = a memoryless release clock of median gap release.gap_days (release.gap_spread unused)",
        fixed="the irregular release windows are drawn once per run",
    )
    gap_spread: float = param(
        "Spread of gaps between irregular releases",
        0.8,
        "log-scale standard deviation",
        "assumed",
        "irregular cadence: standard deviation of the log of a gap (0 = fixed gaps)",
        ge=0,
        le=4,
        fixed="the irregular release windows are drawn once per run",
    )
    gap_evidence: int = param(
        "Release gaps observed",
        0,
        "gaps",
        "assumed",
        "irregular and when_ready cadences: gaps (releases) the fit saw; each replication draws "
        "its own gap law (release hazard) from their posterior (0 = take them as known)",
        ge=0,
        le=100000,
        fixed="the irregular release windows are drawn once per run",
    )
    pending_hazard: float = param(
        "Release chance per waiting change",
        0.01,
        "per change per day",
        "assumed",
        "when_ready cadence: each change made and not yet shipped adds this to the daily chance of a release",
        ge=0,
        le=100,
        fixed="the release hazard follows the work drawn for the whole run",
    )
    prep_share: float = param(
        "Work done in the run-up to a release",
        0.0,
        "share of changes",
        "assumed",
        "irregular cadence: the share of changes made in the release.prep_hours before a release window "
        "(finishing touches, fixes and merges a team does to cut a release) instead of when they fell due",
        ge=0,
        le=0.95,
        fixed="the work is drawn once per run",
    )
    held_share: float = param(
        "Work held for a feature release",
        0.0,
        "share of changes",
        "assumed",
        "a replayed past that marks patch releases (release.recorded_releases): the share of changes made on "
        "the development line, which the next recorded patch release does not ship; they ship with the next "
        "recorded feature release, or from the state day on (drawn releases ship all ready work)",
        ge=0,
        le=0.95,
        fixed="the work is drawn once per run",
    )
    prep_hours: float = param(
        "Run-up to a release",
        24.0,
        "hours",
        "assumed",
        "irregular cadence: how long before a release window its run-up work is made",
        gt=0,
        le=720,
        fixed="the work is drawn once per run",
    )
    fixup_share: float = param(
        "Releases followed by a fix-up release",
        0.0,
        "share of releases",
        "assumed",
        "irregular cadence: the share of releases the team follows within the day with a second, fix-up "
        "release shipping one change made after the first",
        ge=0,
        le=1,
        fixed="the irregular release windows are drawn once per run",
    )
    waiting_changes: int = param(
        "Old work waiting at the state day",
        0,
        "changes",
        "assumed",
        "irregular and when_ready cadences with a recorded state: changes made before the last release and "
        "not yet shipped on release.state_day (work that missed releases); they join the release train then",
        ge=0,
        le=100000,
        fixed="the state at the start is set up once per run",
    )
    waiting_age_days: float = param(
        "Median age of the old waiting work",
        30.0,
        "days",
        "assumed",
        "the median age, on release.state_day, of release.waiting_changes (ages log-normal)",
        gt=0,
        le=3650,
        fixed="the state at the start is set up once per run",
    )
    waiting_age_spread: float = param(
        "Spread of the old waiting work's ages",
        0.0,
        "log-scale standard deviation",
        "assumed",
        "the standard deviation of the log of release.waiting_changes' ages",
        ge=0,
        le=4,
        fixed="the state at the start is set up once per run",
    )
    state_day: int = param(
        "Day the release state holds",
        -1,
        "days after start",
        "assumed",
        "the day after `start` on which the last release was release.days_since_release days "
        "earlier (-1 = no recorded state)",
        ge=-1,
        le=3650,
        fixed="the irregular release windows are drawn once per run",
    )
    days_since_release: float = param(
        "Days since the last release",
        0.0,
        "days",
        "assumed",
        "irregular cadence: time since the last release on release.state_day",
        ge=0,
        le=3650,
        fixed="the irregular release windows are drawn once per run",
    )

    recorded_releases: str = param(
        "Releases replayed before the state day",
        "",
        "days before release.state_day",
        "assumed",
        "irregular and when_ready cadences with a recorded state: the releases the logs show, as days before "
        "release.state_day (space-separated); the team releases at these instants until the state day, and "
        "the fitted law or hazard takes over from its last release ('' = draw the past too); a 'p' after a "
        "number marks a patch release, which does not ship the work release.held_share holds",
        pattern=r"^\s*(\d+(\.\d+)?p?(\s+\d+(\.\d+)?p?)*)?\s*$",
        max_length=200_000,
        fixed="the irregular release windows are drawn once per run",
    )


class Operations(Section):
    automated_rollback: bool = param(
        "Automated rollback",
        False,
        "switch",
        "assumed",
        "health checks roll a bad deployment back by themselves",
    )
    detect_minutes: float = param(
        "Time to detect a failure",
        120.0,
        "minutes",
        "assumed",
        "mean time from failure to detection",
        gt=0,
        le=20160,
    )
    hotfix_hours: float = param(
        "Time to hotfix by hand",
        8.0,
        "hours",
        "assumed",
        "mean time to diagnose and prepare a fix by hand for a one-change deployment",
        gt=0,
        le=500,
    )
    diagnosis_growth: float = param(
        "Extra diagnosis time for big batches",
        0.25,
        "x per doubling of batch size",
        "assumed",
        "hand diagnosis time = hotfix_hours x (1 + growth x log2(batch size))",
        ge=0,
        le=5,
    )
    experts: int = param(
        "Experts on call",
        1,
        "people",
        "assumed",
        "people who can restore production by hand (incidents queue for them)",
        ge=1,
        le=1000,
        fixed="the pool of experts is sized once per run",
    )
    rollback_minutes: float = param(
        "Automated rollback time",
        10.0,
        "minutes",
        "assumed",
        "automated rollback once a failure is detected",
        gt=0,
        le=600,
    )
    flag_flip_minutes: float = param(
        "Time to switch a flag off", 5.0, "minutes", "assumed", "switching a feature flag off", gt=0, le=600
    )
    fire_delay_hours: float = param(
        "Time until a defect hurts users",
        2.0,
        "hours",
        "assumed",
        "mean time from a deployment to its defect hurting users",
        ge=0,
        le=720,
    )
    open_incidents: int = param(
        "Incidents open at the state day",
        0,
        "incidents",
        "assumed",
        "with a recorded state (release.state_day): failures of earlier deployments not yet restored on that "
        "day; an expert repairs each by hand from then on and deploys its fix",
        ge=0,
        le=1000,
        fixed="the state at the start is set up once per run",
    )
