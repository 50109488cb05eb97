"""Stage 3, CI: a merge unit queues for a shared runner, runs the suite, is re-run or skipped, and is fixed.

The runner pool is a SimPy ``Resource`` shared by every team (real queueing, FIFO). A run is skipped
(slow or untrusted suite) with :meth:`CIStage.skip_probability` and then catches nothing; a flaky
failure is re-run up to ``ci.max_flaky_reruns`` times; a run catches each defect with
``quality.test_detection_rate``, and caught defects are fixed (``quality.fix_hours`` each) and the
unit is tested again. Tested (or skipped) changes join their team's release train.
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

import simpy

from sim.model.flow.engine import (
    RUNNER_TOKEN,
    Later,
    QueueNow,
    StartNow,
    give_back,
    nothing_else_due,
    take_free,
)
from sim.model.flow.state import FlowState
from sim.model.rng import Stream
from sim.model.scenario import keys_deciding
from sim.model.sections import CI, Quality

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sim.model.flow.release import ReleaseStage

# what decides a CI run's settings (declared on the fields): while none of them changes, worked out once per run
CI_KEYS = keys_deciding("ci")


class CISettings(NamedTuple):
    """What a CI run needs to know of the parameters in force when it starts."""

    skip_probability: float
    suite_hours: float
    suite_cv: float
    flaky_rate: float
    max_flaky_reruns: int


NO_SETTINGS = CISettings(0.0, 0.0, 0.0, 0.0, 0)  # a run's settings before its first pass


class CIRun:
    """A merge unit on its way through CI (the state a CI process would keep between its steps).

    Attributes:
        shares_step: other units begin CI in the same step after this one (units merging at the same
            instant), so this one may not take a shortcut that runs a step at once; false once the run
            has left the step it began in.
        holder: the SimPy request holding a runner, or the engine's token when a free runner was taken.
    """

    __slots__ = ("asked", "flaky_failures", "holder", "members", "settings", "shares_step", "team", "unit")

    def __init__(self, unit: int, team: int, shares_step: bool = False) -> None:
        self.unit = unit
        self.team = team
        self.shares_step = shares_step
        self.members: Sequence[int] = ()
        self.settings = NO_SETTINGS
        self.flaky_failures = 0
        self.asked = 0.0
        self.holder: object = None


class CIStage:
    """The shared runner pool and every merge unit's way through it."""

    def __init__(self, flow: FlowState, runners: int, release: ReleaseStage) -> None:
        self.flow = flow
        self.env = flow.env
        self.runners = simpy.Resource(flow.env, capacity=runners)
        self.release = release
        self.rng: Stream = flow.streams["ci"]
        self._formed_units = 0  # units formed from the engineers' work (follow-up fixes come after)
        # settings that never change are worked out once (the per-change hot path)
        self._fixed: CISettings | None = (
            self.settings_at(0.0, 0) if flow.unchanging(CI_KEYS, costs_matter=False) else None
        )

    def skip_probability(self, t: float, team: int = 0) -> float:
        """How often the suite is skipped (or overridden) at ``t``: slow and untrusted suites are skipped.

        It rises from 0 at the skip threshold towards ``ci.max_skip_share``: with ``ci.skip_scale`` = 3, a
        suite three times the threshold is skipped ~49% of the time; distrust of a flaky suite adds
        ``flaky_distrust × flaky_rate``.
        """
        ci = self.flow.params.view(CI, t, team)
        suite = ci.test_suite_minutes
        threshold = ci.skip_threshold_minutes
        slow = (
            1.0 - math.exp(-(suite - threshold) / (ci.skip_scale * threshold)) if suite > threshold else 0.0
        )
        distrust = ci.flaky_distrust * ci.flaky_rate
        return min(ci.max_skip_share, slow + distrust)

    def settings_at(self, t: float, team: int) -> CISettings:
        ci = self.flow.params.view(CI, t, team)
        return CISettings(
            self.skip_probability(t, team),
            ci.test_suite_minutes / 60.0,
            ci.suite_cv,
            ci.flaky_rate,
            int(ci.max_flaky_reruns),
        )

    # -- arrivals ----------------------------------------------------------------------------
    def start_arrivals(self) -> None:
        """The units formed from the engineers' work arrive at CI in merge order, from one source (as in
        a queueing model). Units added during the run (follow-up fixes) start their own CI flow when they
        are written, so the source never picks them up a second time."""
        self._formed_units = len(self.flow.units)
        StartNow(self.env, partial(self._arrive, 0))

    def _arrive(self, first: int, _event: object = None) -> None:
        env = self.env
        now = env._now
        merges = self.flow.units.merge
        last = self._formed_units - 1
        for index in range(first, self._formed_units):
            merge = merges[index]
            if merge > now:
                Later(env, merge - now, partial(self._arrive, index))
                return
            # the unit's flow begins right here: nothing else can be due before it (the arrival is the
            # step being processed, and urgent steps due now would already have run); units merging at
            # the same instant begin after it in this same step
            self._begin(index, None, index != last and merges[index + 1] <= merge)

    # -- one unit's way through CI -----------------------------------------------------------
    def start(self, unit: int) -> None:
        """A merge unit reaches CI: it starts its own flow now (after anything already due now)."""
        StartNow(self.env, partial(self._begin, unit))

    def _begin(self, unit: int, _event: object = None, shares_step: bool = False) -> None:
        units = self.flow.units
        conflict_hours = units.conflict_hours[unit]
        run = CIRun(unit, units.team[unit], shares_step)
        if conflict_hours > 0:
            run.shares_step = False
            Later(self.env, conflict_hours, partial(self._try, run))  # resolving the conflict first
        else:
            self._try(run)

    def _try(self, run: CIRun, _event: object = None) -> None:
        """One pass through CI: skipped (slow or untrusted suite), or queue for a runner and run the suite."""
        if not run.members:
            run.members = list(self.flow.units.changes(run.unit))
        run.settings = settings = self._fixed or self.settings_at(self.env._now, run.team)
        if self.rng.uniform() < settings.skip_probability:  # skipped: ready for the first time, untested
            self.release.make_ready(
                run.members, run.team, first_time=True, step_ends_here=not run.shares_step
            )
            return
        run.flaky_failures = 0
        self._request(run)

    def _request(self, run: CIRun) -> None:
        """Ask the shared pool for a runner; the suite starts when one is granted (FIFO, SimPy's queue).

        A free runner with nobody waiting is taken at once without building a SimPy request: the grant
        is an ordinary step at the moment SimPy would have processed the request, so every step happens
        in the same order either way (or at once, when nothing else is due and nothing follows in this step).
        """
        run.asked = self.env._now
        if take_free(self.runners):
            run.holder = RUNNER_TOKEN
            if not run.shares_step and nothing_else_due(self.env):
                self._granted(run)
            else:
                QueueNow(self.env, partial(self._granted, run))
        else:
            run.holder = request = self.runners.request()
            request.callbacks.append(partial(self._granted, run))
        run.shares_step = False

    def _granted(self, run: CIRun, _event: object = None) -> None:
        waited = self.env._now - run.asked
        units = self.flow.units
        if waited:
            units.queue_hours[run.unit] += waited
        ci_waits = self.flow.ci_waits
        if ci_waits is not None:
            ci_waits.append(waited)
        settings = run.settings
        hours = self.rng.gamma(settings.suite_hours, settings.suite_cv)
        Later(self.env, hours, partial(self._ran, run, hours))

    def _ran(self, run: CIRun, hours: float, _event: object = None) -> None:
        """The suite finished: free the runner, re-run a flaky failure, or fix what it caught."""
        self.flow.units.run_hours[run.unit] += hours
        give_back(self.runners, run.holder)
        if (
            run.flaky_failures < run.settings.max_flaky_reruns
            and self.rng.uniform() < run.settings.flaky_rate
        ):
            run.flaky_failures += 1
            self._request(run)
            return
        fix = self._fix_caught_defects(run.members, run.team)
        if fix is None:  # tested: the changes are ready for the first time
            self.release.make_ready(run.members, run.team, first_time=True, step_ends_here=True)
        else:
            Later(self.env, fix, partial(self._fixed_defects, run, fix))

    def _fixed_defects(self, run: CIRun, hours: float, _event: object = None) -> None:
        self.flow.units.fix_hours[run.unit] += hours
        self._try(run)  # the fixed changes are tested again

    def _fix_caught_defects(self, members: Sequence[int], team: int) -> float | None:
        """Hours to fix the defects this run caught (each fixed defect is gone); None when it caught none."""
        defective = self.flow.changes.defective
        if not any(map(defective.__getitem__, members)):  # nothing to catch: no draw
            return None
        now = self.env._now
        quality = self.flow.params.view(Quality, now, team)
        detection = quality.test_detection_rate
        rng = self.rng
        caught = [c for c in members if defective[c] and rng.uniform() < detection]
        if not caught:
            return None
        fix = 0.0
        mean_fix = quality.fix_hours * self.flow.slowdown(now, team)
        for c in caught:
            defective[c] = False
            fix += rng.exponential(mean_fix)
        return fix
