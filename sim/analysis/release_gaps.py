"""Fitting the irregular release process to a window's releases (``calibrate``; sim.model.release_process).

The gaps between consecutive planned releases in the window are complete observations (a release
within :data:`SAME_RELEASE_DAYS` of the one before is a fix-up of it, not a gap); the time from
the last release to the window's end is a censored one (the next gap is at least that long), and so
is the time from the window's start to its first release (the gap running then was at least that
long). Two laws are fitted by maximum likelihood over all of them (long waits at either end pull the
fit towards longer gaps, as they should):

- the **log-normal** (median and log-scale spread; with a single complete gap the spread is held at
  the prior's :data:`~sim.model.release_process.PRIOR_SPREAD`);
- the **exponential**, a memoryless release clock (one parameter, the release rate).

The law with the lower Akaike criterion (2k − 2 log L, the same gaps and censored waits for both) is
kept. A spread-out log-normal has a hazard that falls with the time waited, so a few gaps and long
censored waits make it predict ever longer waits; the exponential needs the evidence of a second
parameter before it gives way. With fewer than two complete gaps the log-normal's spread could only be
assumed, not read, and the exponential is kept. The exponential's rate is the Jeffreys estimate
(R + ½) / T of R release events in the window's T days (the memoryless clock counts the gap running
at the window's start whole), stored as the median gap ln 2 · T / (R + ½).

A team is taken as releasing irregularly when its planned releases follow no calendar pattern (no
weekend train, no daily window) and are at least :data:`IRREGULAR_MEAN_GAP_DAYS` apart on average, or
when there are too few of them to show any pattern.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np
from scipy import optimize, stats

from sim.model.flow.work import RUN_UP_MARGIN_HOURS
from sim.model.release_process import PRIOR_SPREAD

NS_PER_DAY = 86_400 * 10**9
MIN_GAP_DAYS = 1 / 24  # same-hour releases count as an hour apart
SAME_RELEASE_DAYS = 1.0  # releases closer than this are one release event for the gap fit
IRREGULAR_MEAN_GAP_DAYS = 2.0  # releases further apart than this on average are not a continuous flow
IRREGULAR_WINDOW_HOURS = (
    0.25  # an irregular release ships one batch: its window closes within the quarter hour
)
IRREGULAR_MAX_BRANCH_DAYS = 120.0  # the longest branch life read or fitted for a team releasing when ready
MIN_SPREAD = 0.2
MAX_SPREAD = 3.0
# the release before a window: an hour before the oldest work the window's first release ships
PREVIOUS_RELEASE_LEAD_DAYS = 1 / 24
MIN_RUN_UP_CHANGES = 10  # fewer of the window's own changes shipped: the run-up share is left at the base's


@dataclass(frozen=True)
class GapFit:
    gap_days: float  # median of the fitted log-normal
    gap_spread: float  # log-scale standard deviation
    gaps: int  # complete gaps observed
    days_since_release: float  # the censored wait at the window's end
    note: str
    log_likelihood: float | None = (
        None  # of the gaps and censored waits (days), at the fit; None: nothing fitted
    )
    parameters: int = 2
    law: str = "lognormal"  # lognormal | exponential (release.gap_law)
    evidence: int = 0  # release.gap_evidence: complete gaps (log-normal) or release events (exponential)


@dataclass(frozen=True)
class HazardFit:
    per_day: float  # release chance per waiting change per day (the MLE)
    releases: int
    waiting_change_days: float  # ∫ P(t) dt over the window
    log_likelihood: float  # of the release times given the waiting work (days); -inf if one came with none
    note: str


def pending_fit(
    created_ns: np.ndarray, release_ns: np.ndarray, start_ns: int, end_ns: int
) -> HazardFit | None:
    """Maximum likelihood of a release rate proportional to the work waiting (``when_ready``).

    P(t) = changes made since the last release before t (since the window's start before its first
    release): the model's train ships all that is ready, so what waits is what was made since; git dates
    a change by its author, and old work merged late would otherwise count as months of waiting.
    Releases at t_i, i = 1..R, in the window: log L = Σ log(h P(t_i)) − h ∫ P dt, so h = R / ∫ P dt.
    """
    releases = np.sort(np.asarray(release_ns, dtype=np.int64))
    if releases.size == 0:
        return None
    created = np.sort(np.asarray(created_ns, dtype=np.int64))
    # the work waiting is what the team made since its last release (the model's release ships all that is
    # ready): git dates old work by its author, and counting it as waiting would inflate the backlog
    marks = np.concatenate([[start_ns], releases, [end_ns]])
    area = 0.0
    waiting_list = []
    for lo, hi in pairwise(marks):
        made = created[(created >= lo) & (created < hi)]
        area += float(np.sum(hi - made)) / NS_PER_DAY
        waiting_list.append(made.size)
    if area <= 0:
        return None
    waiting = np.array(waiting_list[:-1])
    per_day = releases.size / area
    if (waiting == 0).any():
        log_likelihood = -math.inf
    else:
        log_likelihood = float(np.sum(np.log(per_day * waiting))) - releases.size
    note = (
        f"{releases.size} releases against {area:.0f} change-days of waiting work in the window "
        f"({per_day:.4g} per waiting change per day, maximum likelihood)"
    )
    return HazardFit(per_day, int(releases.size), area, log_likelihood, note)


def prefers_pending(gaps: GapFit, hazard: HazardFit | None) -> bool:
    """Whether the work-driven release rate explains the window's releases better than the release clock
    (Akaike's criterion: lower 2k − 2 log L)."""
    if hazard is None or not math.isfinite(hazard.log_likelihood):
        return False
    if gaps.log_likelihood is None:
        return True
    return 2 * 1 - 2 * hazard.log_likelihood < 2 * gaps.parameters - 2 * gaps.log_likelihood


def release_gaps(times_ns: np.ndarray, window_end_ns: int) -> tuple[np.ndarray, float]:
    """(complete gaps in days between consecutive releases, days from the last release to the window's end)."""
    times = np.sort(np.asarray(times_ns, dtype=np.int64))
    gaps = np.diff(times) / NS_PER_DAY
    # a fix-up release within the day belongs to the release before it: the model's window ships both
    gaps = np.maximum(gaps[gaps >= SAME_RELEASE_DAYS], MIN_GAP_DAYS)
    waited = max(0.0, (window_end_ns - int(times[-1])) / NS_PER_DAY) if times.size else 0.0
    return gaps.astype(float), float(waited)


def fit_gaps(gaps: np.ndarray, waited: float, window_days: float, lead_in: float = 0.0) -> GapFit:
    """The gap law of the window (days), the censored waits at both ends included: the log-normal or the
    exponential, whichever Akaike's criterion prefers; see the module docstring."""
    gaps = np.asarray(gaps, dtype=float)
    exponential = fit_exponential(gaps, waited, window_days, lead_in)
    if gaps.size < 2:
        return exponential
    lognormal = fit_lognormal(gaps, waited, window_days, lead_in)
    assert lognormal.log_likelihood is not None and exponential.log_likelihood is not None
    aic_lognormal = 2 * lognormal.parameters - 2 * lognormal.log_likelihood
    aic_exponential = 2 * exponential.parameters - 2 * exponential.log_likelihood
    comparison = f"; Akaike's criterion {aic_exponential:.1f} exponential, {aic_lognormal:.1f} log-normal"
    if aic_lognormal < aic_exponential:
        return replace(lognormal, note=lognormal.note + comparison)
    return replace(exponential, note=exponential.note + comparison)


def fit_exponential(gaps: np.ndarray, waited: float, window_days: float, lead_in: float = 0.0) -> GapFit:
    """The memoryless release clock: the Jeffreys rate (R + ½) / T of the window's R release events, as a median
    gap; its log-likelihood (for the comparison) at the maximum over the same gaps and censored waits as the
    log-normal's."""
    gaps = np.asarray(gaps, dtype=float)
    n = gaps.size
    events = n + 1
    rate = (events + 0.5) / max(window_days, MIN_GAP_DAYS)
    median = math.log(2.0) / rate
    exposure = float(gaps.sum()) + sum(t for t in (waited, lead_in) if t > MIN_GAP_DAYS)
    log_likelihood = None
    if n > 0 and exposure > 0:
        best = n / exposure
        log_likelihood = n * math.log(best) - best * exposure
    note = (
        f"{_count(events, 'release')} in {window_days:.0f} days ({n} complete gaps, {lead_in:.0f} days before the "
        f"first and {waited:.0f} days since the last one): a memoryless release clock of mean gap "
        f"{1 / rate:.0f} days (the Jeffreys estimate of the release rate), exponential"
    )
    return GapFit(median, PRIOR_SPREAD, n, waited, note, log_likelihood, 1, "exponential", events)


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def fit_lognormal(gaps: np.ndarray, waited: float, window_days: float, lead_in: float = 0.0) -> GapFit:
    """Median and log-scale spread of at least one complete gap (days), the censored waits at both ends
    included."""
    gaps = np.asarray(gaps, dtype=float)
    n = gaps.size
    if n == 0:
        raise ValueError("a log-normal gap law needs at least one complete gap")
    logs = np.log(gaps)
    censored = [math.log(t) for t in (waited, lead_in) if t > MIN_GAP_DAYS]

    def negative_log_likelihood(theta: np.ndarray) -> float:
        spread = min(10.0, max(1e-3, math.exp(min(5.0, float(theta[1]))))) if n >= 2 else PRIOR_SPREAD
        mu = float(theta[0])
        total = float(np.sum(stats.norm.logpdf(logs, mu, spread)))
        if censored:
            total += float(np.sum(stats.norm.logsf(censored, mu, spread)))
        return -total

    start = np.array(
        [float(logs.mean()), math.log(max(MIN_SPREAD, float(logs.std(ddof=1)) if n >= 2 else 1.0))]
    )
    best = optimize.minimize(
        negative_log_likelihood,
        start,
        method="Nelder-Mead",
        options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 400},
    )
    mu = float(best.x[0])
    spread = min(MAX_SPREAD, max(MIN_SPREAD, math.exp(float(best.x[1])))) if n >= 2 else PRIOR_SPREAD
    note = (
        f"{n} gaps between planned releases (median {float(np.median(gaps)):.1f} days), {lead_in:.0f} days "
        f"before the first and {waited:.0f} days since the last one in the window, fitted as log-normal"
    )
    # the likelihood in days (the log-normal density of a gap is that of its log over the gap)
    log_likelihood = float(
        np.sum(stats.norm.logpdf(logs, mu, spread) - logs)
        + (np.sum(stats.norm.logsf(censored, mu, spread)) if censored else 0.0)
    )
    return GapFit(
        float(math.exp(mu)),
        float(spread),
        n,
        waited,
        note,
        log_likelihood,
        2 if n >= 2 else 1,
        "lognormal",
        n,
    )


def looks_irregular(releases: int, window_days: float, calendar_cadence: str | None) -> bool:
    """Whether the releases are better described by drawn gaps than by a calendar cadence: too few releases
    to show a pattern, or no calendar pattern (``continuous``, the catch-all) and fewer than one release
    every :data:`IRREGULAR_MEAN_GAP_DAYS` days."""
    if calendar_cadence is None:
        return True
    return calendar_cadence == "continuous" and window_days / max(1, releases) >= IRREGULAR_MEAN_GAP_DAYS


RUN_UP_MARGIN_DAYS = RUN_UP_MARGIN_HOURS / 24  # the model's: run-up work is made at least this long before
MAX_RUN_UP_SHARE = 0.95


def run_up_share(
    lead_days: np.ndarray, release_ns: np.ndarray, start_ns: int, run_up_hours: float
) -> tuple[float, str] | None:
    """The share of a team's work made in the run-up to its releases (``release.prep_share``).

    ``lead_days``: the window's own changes (made in it and shipped in it), days from being made to their
    release. Work made at random moments would land within d = run-up + margin of the next release in the
    share b = Σ min(gap, d) / Σ gap of the release intervals since the window's start; what the window
    shows beyond that, f, is the run-up's: share (f − b) / (1 − b).
    """
    lead = np.asarray(lead_days, dtype=float)
    releases = np.sort(np.asarray(release_ns, dtype=np.int64))
    if lead.size < MIN_RUN_UP_CHANGES or releases.size == 0:
        return None
    d = run_up_hours / 24.0 + RUN_UP_MARGIN_DAYS
    intervals = np.diff(np.concatenate([[start_ns], releases])) / NS_PER_DAY
    intervals = intervals[intervals > 0]
    if intervals.size == 0:
        return None
    expected = float(np.minimum(intervals, d).sum() / intervals.sum())
    seen = float(np.mean(lead <= d))
    share = 0.0 if expected >= 1.0 else min(MAX_RUN_UP_SHARE, max(0.0, (seen - expected) / (1.0 - expected)))
    note = (
        f"{seen:.0%} of the window's {lead.size} own changes shipped within {d * 24:.0f} hours of being made, "
        f"{expected:.0%} expected of work made at random times: {share:.0%} made in the run-up to a release"
    )
    return share, note


def fixup_share(times_ns: np.ndarray) -> tuple[float, str] | None:
    """The share of release events followed within the day by a fix-up release (``release.fixup_share``):
    releases less than :data:`SAME_RELEASE_DAYS` after the one before, over the release events."""
    times = np.sort(np.asarray(times_ns, dtype=np.int64))
    if times.size < 2:
        return None
    fixups = int(np.sum(np.diff(times) / NS_PER_DAY < SAME_RELEASE_DAYS))
    events = times.size - fixups
    share = min(1.0, fixups / events)
    return share, (
        f"{_count(fixups, 'release')} of {times.size} came within a day of the one before: "
        f"{share:.0%} of the {events} release events had a fix-up release"
    )


def recorded_ages(
    release_ns: np.ndarray, first_work_ns: np.ndarray, start_ns: int, end_ns: int
) -> list[float]:
    """The window's releases as days before its end, oldest first (``release.recorded_releases``), led by the
    release before the window when the logs place it: the first release shipped the work made since then,
    so an hour before the oldest of it, when that was made before the window's start."""
    ages = sorted(((end_ns - np.asarray(release_ns, dtype=np.int64)) / NS_PER_DAY).tolist(), reverse=True)
    if ages and len(first_work_ns) and int(np.min(first_work_ns)) < start_ns:
        ages.insert(0, (end_ns - int(np.min(first_work_ns))) / NS_PER_DAY + PREVIOUS_RELEASE_LEAD_DAYS)
    return ages


VERSION = re.compile(r"(\d+)[._-](\d+)(?:[._-](\d+))?")  # 8.1.8, rel_1_13_2
MAX_HELD_SHARE = 0.95


def is_patch(name: str) -> bool:
    """Whether a release's name is a patch release's version (X.Y.Z with Z > 0); a name with no version is not."""
    match = VERSION.search(name)
    return bool(match and match.group(3) and int(match.group(3)) > 0)


def release_lines(
    names: np.ndarray, release_ns: np.ndarray, change_ns: np.ndarray, shipped_ns: np.ndarray
) -> tuple[np.ndarray, tuple[float, str] | None]:
    """Which of the releases are patch releases, and the share of work held for a feature release
    (``release.held_share``): the changes whose next release (the first one :data:`RUN_UP_MARGIN_HOURS` after
    they were made) is a patch release that did not ship them, beyond the changes a feature release did not
    ship — work merged late skips either kind; a development line skips the patches — as
    (s_patch − s_feature) / (1 − s_feature). None without enough changes due at each kind (``shipped_ns``
    −1: never shipped)."""
    patch = np.array([is_patch(str(n)) for n in names], dtype=bool)
    order = np.argsort(release_ns, kind="stable")
    times, kinds = np.asarray(release_ns)[order], patch[order]
    i = np.searchsorted(times, np.asarray(change_ns) + int(RUN_UP_MARGIN_HOURS * 3600e9), side="left")
    due = i < len(times)
    k = np.minimum(i, len(times) - 1)
    skipped = due & ((shipped_ns < 0) | (shipped_ns > times[k]))
    at_patch, at_feature = due & kinds[k], due & ~kinds[k]
    if at_patch.sum() < MIN_RUN_UP_CHANGES or at_feature.sum() < MIN_RUN_UP_CHANGES:
        return patch, None
    s_patch, s_feature = float(skipped[at_patch].mean()), float(skipped[at_feature].mean())
    share = min(MAX_HELD_SHARE, max(0.0, (s_patch - s_feature) / (1.0 - s_feature))) if s_feature < 1 else 0.0
    note = (
        f"{s_patch:.0%} of the {int(at_patch.sum())} changes due at a patch release waited for a later one, "
        f"{s_feature:.0%} of the {int(at_feature.sum())} due at a feature release: {share:.0%} held for "
        "feature releases (a development line)"
    )
    return patch, (share, note)


def release_models(fit: GapFit, hazard: HazardFit | None) -> dict[str, float | bool | None]:
    """The two release models' likelihoods on the window, as calibrate's report lists them."""
    return {
        "clock_log_likelihood": fit.log_likelihood,
        "when_ready_log_likelihood": None if hazard is None else hazard.log_likelihood,
        "when_ready_pending_hazard": None if hazard is None else hazard.per_day,
        "when_ready_preferred_by_aic": prefers_pending(fit, hazard),
    }
