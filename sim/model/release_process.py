"""Teams that release when ready: irregular release windows, the train's state at the start, and parameter draws.

**Irregular releases** (``release.cadence = "irregular"``). Many teams cut a release when they judge it
ready, not on a calendar: the gaps between their releases range from days to months. The model draws
the gaps between release windows from the law ``release.gap_law`` names: a log-normal distribution with
median ``release.gap_days`` and log-scale spread ``release.gap_spread`` (the standard deviation of the
log of a gap), or an exponential one of median ``release.gap_days`` (a memoryless release clock),
fitted by ``calibrate`` to the window's releases. A window opens at the drawn instant (any day, any hour) and
stays open ``release.window_hours``; the train ships what is ready then, as at a calendar window.

**State at the start.** ``release.state_day`` >= 0 says that on that day after ``start`` the last
release was ``release.days_since_release`` days earlier (``calibrate`` records it at the end of its
window, and a forecast from that day starts from it). The windows are then built around that anchor:
the gap running at the state day is drawn from the gaps longer than the time already waited (a release
100 days overdue is not expected within a typical gap; the exponential clock forgets the wait), later gaps are drawn afresh, and earlier ones
backwards from the anchor to fill the warm-up. Without a state the first window falls a uniform share
of a gap into the run.

**The recorded past.** ``release.recorded_releases`` (days before the state day) replays the releases the
logs show: until the state day the windows open at those instants and no others (:func:`recorded_opens`;
a ``when_ready`` team's hazard is held to them), the gap before the first is drawn from those longer than
the wait from the run's window start to it, and the earlier ones backwards from there.

**Parameter draws.** A calibrated scenario knows its parameters only as well as its window shows them.
``release.gap_evidence`` (the number of gaps observed, 0 = take the gap distribution as known) and
``team.output_evidence`` (changes observed, 0 = take the output as known) make every replication draw
its own values before it runs (:func:`draw_parameters`), so three releases give a wide range and
thirty a narrow one:

- for the exponential law, the release rate from its Jeffreys posterior Gamma(n + ½, T) (``n`` release
  events in the window's T days), relative to the stored rate (n + ½) / T;
- for the log-normal, the log-gap mean and spread from the normal–scaled-inverse-χ² posterior of ``n`` log gaps with mean
  log(``gap_days``) and spread ``gap_spread`` under a weak prior (:data:`PRIOR_NU` pseudo-gaps of spread
  :data:`PRIOR_SPREAD`, :data:`PRIOR_KAPPA` for the mean): σ² ~ ν_n s_n² / χ²(ν_n), μ ~ N(m, σ²/κ_n);
- the output per engineer scaled by a Gamma(k + ½, 1/k) factor for ``k`` observed changes (the
  Jeffreys posterior of a Poisson rate, relative to its estimate).

**Output that varies.** Teams do not produce at a steady rate. With ``team.output_spread`` > 0 each
30 days of a run get their own mean-one Gamma factor of that coefficient of variation
(:func:`output_month_factors`): the month-to-month variation the window showed beyond chance.

Every draw comes from the replication's own named streams (``parameters``, ``release_gaps``), so runs
stay reproducible and a scenario without these keys draws nothing and runs exactly as before.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np
from scipy import special

from sim.model.scenario import Scenario

HOURS_PER_DAY = 24.0
PRIOR_NU = 1.0  # pseudo-gaps of prior spread (weak: one gap's worth)
PRIOR_SPREAD = 1.0  # prior log-scale spread of gaps: a factor e ≈ 2.7 either way
PRIOR_KAPPA = 1.0  # pseudo-gaps behind the prior mean (centred on the estimate)
MIN_GAP_HOURS = 1.0  # two windows never open within the hour
MAX_GAPS = 100_000  # a guard: a run never needs more windows than this
SAME_MOMENT_HOURS = 1 / 60  # a recorded release within the minute of the last one is that release


def uses_irregular(scenario: Scenario) -> bool:
    return scenario.release.cadence == "irregular"


def _gap_hours(mu: float, sigma: float, u: np.ndarray, law: str = "lognormal") -> np.ndarray:
    """Gaps (hours) at uniform quantiles ``u``: log-normal of log-median ``mu`` and spread ``sigma``, or
    exponential of median exp(``mu``) (``law = "exponential"``)."""
    if law == "exponential":
        return np.maximum(
            MIN_GAP_HOURS, math.exp(mu) / math.log(2.0) * -np.log1p(-np.minimum(u, 1.0 - 1e-12))
        )
    return np.maximum(MIN_GAP_HOURS, np.exp(mu + sigma * math.sqrt(2.0) * special.erfinv(2.0 * u - 1.0)))


def residual_gap_hours(
    mu: float, sigma: float, waited_hours: float, u: float, law: str = "lognormal"
) -> float:
    """A gap drawn from those longer than ``waited_hours`` (quantile ``u`` of the conditional law), in hours.
    The exponential law is memoryless: the time still to wait does not depend on the time waited."""
    if waited_hours <= 0:
        return float(_gap_hours(mu, sigma, np.array([u]), law)[0])
    if law == "exponential":
        return waited_hours + max(MIN_GAP_HOURS, float(_gap_hours(mu, sigma, np.array([u]), law)[0]))
    z = (math.log(waited_hours) - mu) / sigma
    below = 0.5 * math.erfc(-z / math.sqrt(2.0))  # P(gap <= waited)
    q = below + u * (1.0 - below)
    q = min(q, 1.0 - 1e-12)
    gap = float(_gap_hours(mu, sigma, np.array([q]))[0])
    return max(gap, waited_hours + MIN_GAP_HOURS)


def irregular_opens(
    scenario: Scenario, generator: np.random.Generator, total_hours: float, window_start_hours: float
) -> list[float]:
    """Release-window opening times (simulation hours, ascending) over ``[0, total_hours)``."""
    release = scenario.release
    mu, sigma = math.log(release.gap_days * HOURS_PER_DAY), max(release.gap_spread, 1e-3)
    law = release.gap_law
    opens: list[float] = []
    if release.state_day >= 0:
        anchor = window_start_hours + (release.state_day - release.days_since_release) * HOURS_PER_DAY
        waited = release.days_since_release * HOURS_PER_DAY
        t = anchor + residual_gap_hours(mu, sigma, waited, float(generator.random()), law)
        recorded = recorded_opens(scenario)
        back = recorded[0] if recorded else anchor
        quiet = recorded_quiet_from(scenario) if recorded else window_start_hours
        if recorded and quiet < back:
            # the logs show no release between the window's start (or the run's, when they place the release
            # before the window before it) and the first recorded one: the gap running then is drawn from
            # those longer than that wait
            opens.append(back)
            back -= residual_gap_hours(mu, sigma, back - quiet, float(generator.random()), law)
        while back >= 0 and len(opens) < MAX_GAPS:
            opens.append(back)
            back -= float(_gap_hours(mu, sigma, generator.random(1), law)[0])
        opens.reverse()
        opens.extend(recorded[1:])
    else:
        t = float(generator.random()) * float(_gap_hours(mu, sigma, generator.random(1), law)[0])
    while t < total_hours and len(opens) < MAX_GAPS:
        opens.append(t)
        t += float(_gap_hours(mu, sigma, generator.random(1), law)[0])
    opens.append(t)  # one beyond the horizon, so "the next window" exists
    return opens


def recorded_opens(scenario: Scenario) -> list[float]:
    """The recorded releases replayed before the state day (simulation hours, ascending; the last release
    on the state day closes them), those before the run's start left out; [] without a recorded past."""
    release = scenario.release
    if release.state_day < 0 or not release.recorded_releases.strip():
        return []
    state = state_hours(scenario)
    last = state - release.days_since_release * HOURS_PER_DAY
    times = [state - age * HOURS_PER_DAY for age, _ in _recorded_ages(scenario)]
    return sorted({last, *(float(t) for t in times if 0.0 <= t < last - SAME_MOMENT_HOURS)})


def state_hours(scenario: Scenario) -> float:
    """The recorded state day in simulation hours (the window starts after the warm-up)."""
    return (scenario.simulation.warmup_days + scenario.release.state_day) * HOURS_PER_DAY


def _recorded_ages(scenario: Scenario) -> list[tuple[float, bool]]:
    """``release.recorded_releases`` read: each release's days before the state day, and whether the record
    marks it as a patch release (a number followed by 'p')."""
    return [(float(a.removesuffix("p")), a.endswith("p")) for a in scenario.release.recorded_releases.split()]


def recorded_patches(scenario: Scenario, opens: list[float]) -> list[float]:
    """Those of the replayed past's release instants ``opens`` (:func:`recorded_opens`) that the record marks
    as patch releases (a number followed by 'p')."""
    state = state_hours(scenario)
    marked = [state - age * HOURS_PER_DAY for age, patch in _recorded_ages(scenario) if patch]
    return [t for t in opens if any(abs(t - m) < SAME_MOMENT_HOURS for m in marked)]


def recorded_quiet_from(scenario: Scenario) -> float:
    """From when (simulation hours) the replayed past is quiet until its first recorded release: the window's
    start, or the run's start when the logs place a release before it (the release before the window, which
    shipped nothing the run holds: none fell between)."""
    ages = [age for age, _ in _recorded_ages(scenario)]
    before_run = bool(ages) and max(ages) * HOURS_PER_DAY > state_hours(scenario)
    return 0.0 if before_run else scenario.simulation.warmup_days * HOURS_PER_DAY


def output_month_factors(
    scenario: Scenario, generator: np.random.Generator, total_days: int
) -> np.ndarray | None:
    """Mean-one Gamma factors of the team's output, one per 30 days of the run (None when the output is steady)."""
    spread = scenario.team.output_spread
    if spread <= 0:
        return None
    shape = 1.0 / (spread * spread)
    return generator.gamma(shape, 1.0 / shape, size=total_days // 30 + 1)


def draw_parameters(scenario: Scenario, generator: np.random.Generator) -> Scenario:
    """This replication's own parameter set (the scenario itself when it carries no evidence counts)."""
    release, team = scenario.release, scenario.team
    values: dict[str, float] = {}
    n = release.gap_evidence
    if n > 0 and release.cadence == "irregular" and release.gap_law == "exponential":
        # the Jeffreys posterior Gamma(n + ½, T) of a Poisson release rate seen n times in T days, relative to
        # its mean (n + ½) / T, which the fit stores as the median gap ln 2 · T / (n + ½)
        factor = float(generator.gamma(n + 0.5, 1.0 / (n + 0.5)))
        values["release.gap_days"] = float(min(3650.0, max(0.05, release.gap_days / factor)))
    elif n > 0 and release.cadence == "irregular":
        m = math.log(release.gap_days)
        s2 = release.gap_spread**2
        nu_n = PRIOR_NU + n
        kappa_n = PRIOR_KAPPA + n
        scale = (PRIOR_NU * PRIOR_SPREAD**2 + max(n - 1, 0) * s2) / nu_n
        sigma2 = nu_n * scale / float(generator.chisquare(nu_n))
        mu = float(generator.normal(m, math.sqrt(sigma2 / kappa_n)))
        values["release.gap_days"] = float(min(3650.0, max(0.05, math.exp(mu))))
        values["release.gap_spread"] = float(min(4.0, max(0.01, math.sqrt(sigma2))))
    if n > 0 and release.cadence == "when_ready":  # Gamma(R + ½, ∫P) posterior of the hazard, relative
        values["release.pending_hazard"] = float(
            min(100.0, release.pending_hazard * generator.gamma(n + 0.5, 1.0 / n))
        )
    k = team.output_evidence
    if k > 0:
        factor = float(generator.gamma(k + 0.5, 1.0 / k))
        values["team.changes_per_engineer_per_day"] = float(
            min(50.0, max(1e-4, team.changes_per_engineer_per_day * factor))
        )
    if not values:
        return scenario
    return scenario.with_values(values, source="parameter draw")


class PendingHazard:
    """A team that releases when enough work is waiting (``release.cadence = "when_ready"``).

    Each change created and not yet shipped adds ``release.pending_hazard`` per day to the chance that
    the team cuts a release: the release rate at time t is h × P(t), with P(t) the team's changes
    created by t and not yet shipped by its train (a non-homogeneous Poisson process). A burst of work
    brings the next release closer; a quiet spell puts it off. Change creation times are known up front
    (:mod:`sim.model.flow.work`), so the time the accumulated hazard reaches its Exp(1) draw is found
    exactly (:meth:`due`), and it moves only when the train ships.
    """

    def __init__(
        self,
        created_hours: np.ndarray,
        per_day: float,
        generator: np.random.Generator,
        numbers: np.ndarray | None = None,
        state: tuple[list[float], float, float] | None = None,
    ) -> None:
        order = np.argsort(created_hours, kind="stable")
        numbers = np.arange(len(order)) if numbers is None else np.asarray(numbers)
        self.created = np.asarray(created_hours, dtype=float)[order]
        self.prefix = np.concatenate([[0.0], np.cumsum(self.created)])
        self.rate = per_day / HOURS_PER_DAY  # per waiting change per hour
        self.generator = generator
        self.position = {
            int(numbers[c]): i for i, c in enumerate(order)
        }  # change number -> place in ``created``
        self.seen = np.zeros(len(order), dtype=bool)
        self.shipped = 0
        self.t = 0.0
        self.left = float(generator.standard_exponential())
        self._due: float | None = None
        # a recorded state (the recorded releases, the state day), hours: the train releases at each recorded
        # release and, once they have begun, at no other moment before the state day (the hazard's draw is
        # conditioned on the wait from the last of them)
        self.forced = sorted(state[0]) if state is not None else []
        self.until = state[1] if state is not None else 0.0
        # the hazard may release before this moment only (the recorded past is quiet from it to the first
        # recorded release)
        self.quiet_from = state[2] if state is not None else math.inf
        self.replaying = False

    def _area(self, time: float) -> float:
        """∫₀^time (changes created by t) dt."""
        k = int(np.searchsorted(self.created, time, side="right"))
        return k * time - float(self.prefix[k])

    def _waiting_area(self, time: float) -> float:
        return self._area(time) - self.shipped * time

    def due(self) -> float:
        """When the accumulated hazard since the last release reaches its draw (inf: never within the run);
        with a recorded state, its last release at the latest."""
        if self._due is None:
            if not self.forced:
                self._due = self._hazard_due()
            else:
                free = math.inf if self.replaying else self._hazard_due()
                self._due = free if free < min(self.quiet_from, self.forced[0]) else self.forced[0]
        return self._due

    def _hazard_due(self) -> float:
        if self.rate <= 0:
            return math.inf
        target = self._waiting_area(self.t) + self.left / self.rate
        n = len(self.created)
        # the waiting area grows piecewise linearly; find the creation after which it passes the target
        lo = int(np.searchsorted(self.created, self.t, side="right"))
        j = bisect_left(range(lo, n), target, key=lambda i: self._waiting_area(float(self.created[i]))) + lo
        if j >= n:
            slope = n - self.shipped
            start = max(self.t, float(self.created[-1])) if n else self.t
            return math.inf if slope <= 0 else start + (target - self._waiting_area(start)) / slope
        start = max(self.t, float(self.created[j - 1])) if j > 0 else self.t
        slope = j - self.shipped
        return float(self.created[j]) if slope <= 0 else start + (target - self._waiting_area(start)) / slope

    def expire(self, now: float, hold_hours: float) -> None:
        """Recorded releases more than ``hold_hours`` past that found nothing to ship are gone: the replayed
        past does not release them days later (the last of them still holds the hazard until the state day)."""
        if not self.forced or self.forced[0] >= now - hold_hours:
            return
        self.replaying = True
        while self.forced and self.forced[0] < now - hold_hours:
            self.forced.pop(0)
        self._due = None
        if not self.forced:
            waited = max(0.0, self._waiting_area(self.until) - self._waiting_area(self.t))
            self.left += self.rate * waited

    def released(self, batch: list[int], now: float) -> None:
        """The train shipped ``batch`` at ``now``: the hazard starts afresh with a new draw."""
        for c in batch:
            i = self.position.get(c)
            if i is not None and not self.seen[i]:
                self.seen[i] = True
                self.shipped += 1
        self.t = now
        self.left = float(self.generator.standard_exponential())
        self._due = None
        if self.forced and now >= self.forced[0] - 1e-9:
            self.replaying = True
            while self.forced and self.forced[0] <= now + 1e-9:
                self.forced.pop(0)
            if not self.forced:
                # the recorded last release: no other until the state day, so the draw exceeds the hazard to then
                waited = max(0.0, self._waiting_area(self.until) - self._waiting_area(now))
                self.left += self.rate * waited
