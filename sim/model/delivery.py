"""The delivery model (docs/model.md): how changes travel from an engineer to production.

One replication = one SimPy environment. Time is in hours since the origin, which is
``simulation.warmup_days`` before the scenario's ``start`` so that branches, queues and release
trains are already full when the scored window opens.

An organisation (``org.teams``) is several teams: each has its own engineers (dealt to teams in
turn), branches, release train and deployable service; the CI runner pool and the experts are
shared, so a slow shared CI or a single expert hurts every team.

Flow of a change (each step a cause a user can name):

1. **Work** — engineers finish changes in working hours (Mon–Fri); ``team.overtime`` adds evening
   and weekend hours at lower productivity, and fatigue raises the defect rate.
2. **Branches** — on ``long_lived`` branches an engineer's changes wait until the branch merges
   (lifetime ~ Gamma around ``branch_lifetime_days``). On ``trunk`` each change merges on its own
   after a short review. At merge, conflict risk rises with branch age and with the number of
   other branches of the same team open: P = 1 − exp(−rate × age_days × other_open_branches). A conflict costs
   rework hours and doubles the defect odds of the branch's changes.
3. **CI** — the merge unit queues for a runner (a SimPy ``Resource``: real queueing), runs the
   suite, is re-run after flaky failures, or is skipped (slow or untrusted suite) and so catches
   nothing. A run catches each defect with ``test_detection_rate``; caught defects are fixed
   (``fix_hours`` each) and the unit is tested again.
4. **Release** — ready changes wait for the next opportunity of their cadence on their team's
   release train and ship in batches capped by ``max_batch_size``. Manual deploys take hours, only run in their window
   (continuous + manual = working hours) and can fail by checklist error.
5. **Production** — a deployment fails when a shipped defect fires (risk 1 − (1 − p)^n for n
   changes) or its checklist failed. After detection: a feature-flag flip, an automated
   rollback, or hand diagnosis by a scarce expert (a capacity-limited ``Resource``) whose time
   grows with log2(batch size), followed by an unplanned hotfix deployment.

The model writes typed tables (:mod:`sim.model.records`) and turns them into the docs/logs.md logs at the end.
Every fixed number it uses is a named constant in :mod:`sim.model.constants`.
"""

from __future__ import annotations

import datetime as dt
import gc
import math
from array import array
from collections import deque
from collections.abc import Callable, Generator, Sequence
from functools import partial
from heapq import heappop, heappush
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT, EventPriority

from sim.model.calendar import Calendar
from sim.model.constants import (
    AUTOMATED_STEP_CV,
    CONFLICT_REFERENCE_AGE_DAYS,
    CONFLICT_RESOLUTION_CV,
    HOTFIX_DIAGNOSIS_CV,
    MANUAL_DEPLOY_CV,
    MIN_CAPACITY_FACTOR,
)
from sim.model.params import Phase, Schedule
from sim.model.records import (
    NONE,
    ChangeTable,
    DeploymentTable,
    IncidentTable,
    SimulationRecords,
    UnitTable,
    column,
    int_column,
)
from sim.model.release_process import draw_parameters, irregular_opens, uses_irregular
from sim.model.rng import Stream, replication_streams
from sim.model.scenario import Scenario

Process = Generator[simpy.Event, Any, None]
CI_KEYS = frozenset({"ci.test_suite_minutes", "ci.skip_threshold_minutes", "ci.flaky_distrust", "ci.flaky_rate",
                     "ci.suite_cv", "ci.skip_scale", "ci.max_skip_share", "ci.max_flaky_reruns"})
WORK_KEYS = frozenset({"team.overtime", "team.fatigue_defect_factor", "quality.defect_rate",
                       "branching.feature_flags", "branching.flag_coverage"})
BRANCH_KEYS = frozenset({"branching.strategy", "branching.branch_lifetime_days", "branching.conflict_rate",
                         "branching.conflict_resolution_hours", "branching.conflict_defect_multiplier",
                         "branching.branch_lifetime_cv"})
RELEASE_KEYS = frozenset({"release.deploy", "release.max_batch_size", "release.manual_deploy_hours",
                          "release.automated_deploy_minutes"})
CISettings = tuple[float, float, float, float, int]
FormedUnit = tuple[float, float, int, int, bool, list[int]]  # start, merge, engineer, team, trunk, changes


def team_of(engineer: int, teams: int) -> int:
    """Engineers are dealt to teams in turn (0-based), so headcount changes keep everyone's team."""
    return engineer % teams


def team_size(team: int, engineers: int, teams: int) -> int:
    return (engineers - team + teams - 1) // teams if team < engineers else 0


class Environment(simpy.Environment):
    """SimPy's environment, with :meth:`run_to`: ``run(until=at)`` with its step loop written out.

    The events, their queue and their order are SimPy's; only the per-event method call of
    :meth:`simpy.Environment.step` is saved, which matters when a change costs three events.
    """

    def run_to(self, at: float) -> None:
        """Process every event due before ``at`` (and the urgent ones due at ``at`` scheduled earlier),
        exactly as ``run(until=at)`` does, and leave the clock at ``at``."""
        if at <= self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        until = simpy.Event(self)
        until._ok = True
        until._value = None
        self.schedule(until, URGENT, at - self._now)  # before every regular event due at ``at``
        queue = self._queue
        while True:
            self._now, _, _, event = heappop(queue)
            if event is until:
                until.callbacks = None  # type: ignore[assignment]  # processed, as SimPy marks it
                return
            callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]  # as SimPy's step
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)  # as SimPy crashes the environment
                exc.__cause__ = event._value
                raise exc


class Step(simpy.Event):
    """An event that is triggered when it is made and processed ``delay`` hours later, in SimPy's order
    (``priority`` URGENT: before other events due then, like a new process; NORMAL: like a timeout)."""

    def __init__(self, env: simpy.Environment, callback: Callable[[simpy.Event], None], priority: EventPriority,
                 delay: float = 0.0) -> None:
        self.env = env
        self.callbacks = [callback]
        self._value = None
        self._ok = True
        heappush(env._queue, (env._now + delay, priority, next(env._eid), self))  # env.schedule, inlined


RUNNER_TOKEN = object()  # stands for a SimPy request in the runner pool's users when a free runner is taken


class CIRun:
    """A merge unit on its way through CI (the state a CI process would keep between its steps)."""

    __slots__ = ("asked", "flaky_failures", "members", "request", "settings", "team", "unit")
    # ``request`` is the SimPy request holding a runner, or RUNNER_TOKEN when it took a free runner

    def __init__(self, unit: int, team: int) -> None:
        self.unit = unit
        self.team = team
        self.members: list[int] = []
        self.settings: CISettings = (0.0, 0.0, 0.0, 0.0, 0)
        self.flaky_failures = 0
        self.asked = 0.0
        self.request: object = None


class ReleaseTrain:
    """One team's release train: its ready changes per cadence, FIFO, and how to wake its deployer."""

    __slots__ = ("deployer_wake", "ready", "ready_seq", "ready_signal", "signalled", "team", "u_method")

    def __init__(self, env: simpy.Environment, team: int) -> None:
        self.team = team
        # ready changes per cadence; each entry is (ready sequence number, change)
        self.ready: dict[str, deque[tuple[int, int]]] = {}
        self.ready_seq = 0
        # what wakes an idle deployer that also waits for a release window (None: it waits for work alone)
        self.ready_signal: simpy.Event | None = None
        self.signalled = False  # new work has already asked the idle deployer to look
        self.deployer_wake: float | None = None  # when the idle deployer will look again (None: busy)
        self.u_method = 0.5  # this deployment's draw for adopting automated deploys during a plan


class DeliveryModel:
    """One replication of the delivery pipeline of an organisation of teams. Build, then call :meth:`run`.

    Each team has its own engineers, branches, release train and deployable service; the CI runner
    pool and the experts who restore production by hand are shared by the whole organisation.
    """

    def __init__(self, scenario: Scenario, streams: dict[str, Stream], phases: tuple[Phase, ...] = (), *,
                 record_ci_waits: bool = False, fast_paths: bool = True):
        self.scenario = scenario
        # settings that never change during the run are worked out once (``fast_paths``); without it every
        # look-up goes through the schedule, as during a plan (the tests prove the two give the same logs)
        self.fast_paths = fast_paths
        self.rng = streams
        warmup = scenario.simulation.warmup_days
        self.origin = scenario.start - dt.timedelta(days=warmup)
        self.total_days = warmup + scenario.days
        self.window_start = warmup * 24.0
        self.window_end = self.total_days * 24.0
        self.params = Schedule(scenario, phases, origin_offset_hours=self.window_start)
        self.calendar = Calendar(self.origin, self.total_days, scenario.team.working_hours_per_day,
                                 scenario.release.window_hours)
        if uses_irregular(scenario) or "release.cadence" in self.params.dynamic:
            self.calendar.irregular_opens = irregular_opens(scenario, streams["release_gaps"].generator,
                                                            (self.total_days + 40) * 24.0, self.window_start)
        self.teams = scenario.org.teams
        self.env = Environment()
        self.runners = simpy.Resource(self.env, capacity=scenario.ci.runners)
        self.experts = simpy.Resource(self.env, capacity=scenario.operations.experts)
        empty = np.empty(0)
        self.changes = ChangeTable(empty, empty, empty, empty, empty, empty, empty)
        self.units = UnitTable()
        self.deployments = DeploymentTable()
        self.incidents = IncidentTable()
        self.trains = [ReleaseTrain(self.env, team) for team in range(self.teams)]
        # every single wait for a runner, in hours, when asked (the queueing tests read it); a run needs only
        # each unit's total, which the unit table keeps
        self.ci_waits: array | None = array("d") if record_ci_waits else None
        self.conflicts = 0
        self._formed_units = 0  # units formed from the engineers' work (follow-up fixes come after)
        self.u_engineer = self.rng["adoption"].generator.random(1000)
        self._ci_rng = self.rng["ci"]
        self._release_rng = self.rng["release"]
        self._production_rng = self.rng["production"]
        # the cadence every change follows when no plan switches it (the per-change hot path)
        self._static_cadence: str | None = (None if "release.cadence" in self.params.dynamic or not fast_paths
                                            else self.params.get("release.cadence", 0.0))
        # a release train whose settings never change decides each step without looking them up
        self._static_train: tuple[str, int, float, float] | None = None
        if fast_paths and self.params.dynamic.isdisjoint(RELEASE_KEYS) and not self.params.has_costs:
            method = self.params.get("release.deploy", 0.0)
            hours, cv = ((self.params.get("release.manual_deploy_hours", 0.0), MANUAL_DEPLOY_CV) if method == "manual"
                         else (self.params.get("release.automated_deploy_minutes", 0.0) / 60.0, AUTOMATED_STEP_CV))
            self._static_train = (method, self.params.get("release.max_batch_size", 0.0), hours, cv)
        # CI settings that never change are worked out once (the per-change hot path)
        self._ci_static: CISettings | None = None
        if fast_paths and self.params.dynamic.isdisjoint(CI_KEYS):
            self._ci_static = self._ci_settings_at(0.0, 0)

    def slowdown(self, t: float, team: int) -> float:
        """How much longer a team's human work takes while phases ramp (1.0 = no adoption cost)."""
        return 1.0 / max(self.params.capacity_factor(t, team), MIN_CAPACITY_FACTOR)

    # ------------------------------------------------------------------------------------------
    # 1. Work
    def generate_work(self) -> None:
        """Draw every change's completion time, engineer and defect odds for the whole horizon."""
        rng = self.rng["work"].generator
        p = self.params
        teams = self.teams
        # per work segment: its first hour and length, its team, and its changes' raw draws; the
        # arithmetic is done once for all of them after the loop (the same floats, element by element)
        starts: list[float] = []
        lengths: list[float] = []
        segment_teams: list[int] = []
        counts: list[int] = []
        within: list[np.ndarray] = []
        whose: list[np.ndarray] = []
        for day in range(self.total_days):
            t_day = day * 24.0 + 12.0
            overtime = p.get("team.overtime", t_day)
            people = max(teams, int(p.get("team.engineers", t_day)))
            segments = self.calendar.work_segments(day, overtime)
            for team in range(teams):
                size = team_size(team, people, teams)
                rate_per_hour = (p.get("team.changes_per_engineer_per_day", t_day, 0.5, team)
                                 / p.get("team.working_hours_per_day", t_day))
                capacity = p.capacity_factor(t_day, team)
                tired_output = p.get("team.overtime_productivity", t_day, 0.5, team)
                for start, length, tired in segments:
                    expected = size * length * rate_per_hour * capacity * (tired_output if tired else 1.0)
                    n = int(rng.poisson(expected)) if expected > 0 else 0
                    if n:
                        starts.append(day * 24.0 + start)
                        lengths.append(length)
                        segment_teams.append(team)
                        counts.append(n)
                        within.append(rng.random(n))
                        whose.append(rng.integers(0, size, n))
        if not counts:
            return
        t_all = np.repeat(starts, counts) + np.repeat(lengths, counts) * np.concatenate(within)
        e_all = np.repeat(segment_teams, counts) + teams * np.concatenate(whose)
        order = np.argsort(t_all, kind="stable")
        t_all, e_all = t_all[order], e_all[order]
        team_all = e_all % teams
        n = len(t_all)
        # one row of draws per change, so change i keeps its draws when output elsewhere changes
        u_defect = self.rng["quality"].generator.random(n)
        u_adopt, u_flag = self.rng["adoption"].generator.random((n, 2)).T
        p_defect, flagged = self._defect_odds_and_flags(t_all, team_all, u_adopt, u_flag)
        self.changes = ChangeTable(t_all, e_all, team_all, p_defect, u_defect, u_adopt, flagged)

    def _defect_odds_and_flags(self, t_all: np.ndarray, team_all: np.ndarray, u_adopt: np.ndarray,
                               u_flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each change's defect probability (fatigue and adoption cost included) and whether it is flagged."""
        p = self.params
        n = len(t_all)
        if self.fast_paths and p.dynamic.isdisjoint(WORK_KEYS) and not p.has_costs:
            fatigue = 1.0 + p.get("team.fatigue_defect_factor", 0.0) * (p.get("team.overtime", 0.0) - 1.0)
            p_def = np.full(n, min(1.0, p.get("quality.defect_rate", 0.0) * fatigue))
            flagged = (u_flag < p.get("branching.flag_coverage", 0.0)) & bool(p.get("branching.feature_flags", 0.0))
            return p_def, flagged
        p_def = np.empty(n)
        flagged = np.empty(n, dtype=bool)
        for i in range(n):
            t, team = float(t_all[i]), int(team_all[i])
            fatigue = 1.0 + p.get("team.fatigue_defect_factor", t, 0.5, team) * (
                p.get("team.overtime", t, 0.5, team) - 1.0)
            p_def[i] = min(1.0, p.get("quality.defect_rate", t, 0.5, team) * fatigue * p.defect_factor(t, team))
            flagged[i] = bool(p.get("branching.feature_flags", t, u_adopt[i], team)) and (
                u_flag[i] < p.get("branching.flag_coverage", t, 0.5, team))
        return p_def, flagged

    # ------------------------------------------------------------------------------------------
    # 2. Branches
    def form_units(self) -> None:
        """Group each engineer's changes into merge units (in the order they merge) and decide conflicts."""
        if self._all_trunk_and_static():
            self._form_trunk_units()
            return
        formed = self._group_into_units()
        formed.sort(key=lambda u: (u[1], u[0]))
        starts = np.array([u[0] for u in formed])
        merges = np.array([u[1] for u in formed])
        team = np.array([u[3] for u in formed], dtype=np.int64)
        others = self._other_open_branches(starts, merges, team)
        ages = (merges - starts) / 24.0
        draws = self.rng["branches"].generator.random(len(formed))
        unit_of = self.changes.unit
        for index, (start, merge, engineer, unit_team, trunk, members) in enumerate(formed):
            for c in members:
                unit_of[c] = index
            conflict_hours = self._conflict(members, merge, unit_team, float(ages[index]), int(others[index]),
                                            draws[index])
            self.units.add(start, merge, engineer, unit_team, trunk, members, conflict_hours)

    def _all_trunk_and_static(self) -> bool:
        p = self.params
        return (self.fast_paths and p.get("branching.strategy", 0.0) == "trunk" and not p.has_costs
                and p.dynamic.isdisjoint(BRANCH_KEYS))

    def _form_trunk_units(self) -> None:
        """Trunk, with nothing changing during the run: every change is its own unit, merged after review.

        The same draws and arithmetic as the change-by-change path, array at a time.
        """
        rng = self.rng["branches"]
        p = self.params
        changes = self.changes
        created = column(changes.created)
        n = len(created)
        lifetime_h = p.get("branching.branch_lifetime_days", 0.0) * 24.0 * 1.0
        merge = self.calendar.next_working_times(created + rng.exponentials(n) * lifetime_h)
        order = np.lexsort((created, merge))  # by merge, then start; ties keep the change order
        starts, merges = created[order], merge[order]
        del merge
        teams = column(changes.team)[order]
        others = self._other_open_branches(starts, merges, teams)
        ages = (merges - starts) / 24.0
        draws = rng.generator.random(n)
        rate = p.get("branching.conflict_rate", 0.0)
        # NumPy's exp may differ from math.exp in the last bit: decide close calls exactly as one by one
        p_conflict = -rate * ages
        p_conflict *= others
        np.exp(p_conflict, out=p_conflict)
        np.subtract(1.0, p_conflict, out=p_conflict)
        maybe = np.flatnonzero(draws < p_conflict + 1e-12)
        del p_conflict
        conflict_hours = np.zeros(n)
        for index in maybe:
            conflict_hours[index] = self._conflict([int(order[index])], float(merges[index]), int(teams[index]),
                                                   float(ages[index]), int(others[index]), draws[index])
        del ages, draws, others
        unit_of = np.empty(n, dtype=np.int32)
        unit_of[order] = np.arange(n, dtype=np.int32)
        changes.unit = int_column(unit_of)
        del unit_of
        engineers = column(changes.engineer)[order]
        self.units.add_single_changes(starts, merges, engineers, teams, True, order, conflict_hours)

    @staticmethod
    def _other_open_branches(starts: np.ndarray, merges: np.ndarray, team: np.ndarray) -> np.ndarray:
        """For each merge, how many other units of the same team are open at that moment (a team's codebase
        is its own: branches of other teams never conflict with it)."""
        others = np.zeros(len(starts), dtype=np.int64)
        for k in np.unique(team):
            mine = np.flatnonzero(team == k)
            s, m = starts[mine], merges[mine]
            open_now = np.searchsorted(np.sort(s), m, "right") - np.searchsorted(np.sort(m), m, "right")
            others[mine] = np.maximum(open_now - 1, 0)
        return others

    def _group_into_units(self) -> list[FormedUnit]:
        """(start, merge, engineer, team, trunk, changes) of every merge unit, in the order they open."""
        rng = self.rng["branches"]
        p = self.params
        cal = self.calendar
        teams = self.teams
        open_branch: dict[int, FormedUnit] = {}
        started: set[int] = set()
        formed: list[FormedUnit] = []
        engineer_of = self.changes.engineer
        for i, t in enumerate(self.changes.created):
            e = engineer_of[i]
            branch = open_branch.get(e)
            if branch is not None and t >= branch[1]:
                del open_branch[e]
                branch = None
            if branch is None:
                team = team_of(e, teams)
                # while a practice is being adopted people are learning: work takes longer (J-curve)
                lifetime_h = p.get("branching.branch_lifetime_days", t, 0.5, team) * 24.0 * self.slowdown(t, team)
                strategy = p.get("branching.strategy", t, self.u_engineer[e % len(self.u_engineer)], team)
                if strategy == "trunk":
                    formed.append((t, cal.next_working_time(t + rng.exponential(lifetime_h)), e, team, True, [i]))
                    continue
                cv = p.get("branching.branch_lifetime_cv", t, 0.5, team)
                if e in started:
                    life = rng.gamma(lifetime_h, cv)
                else:
                    # the engineer's branch at the origin is already under way: its remaining life is the
                    # stationary residual U x (length-biased lifetime), so branches do not all start in step
                    shape = 1.0 / (cv * cv)
                    life = rng.uniform() * rng.gamma(lifetime_h * (shape + 1) / shape, 1.0 / math.sqrt(shape + 1))
                    started.add(e)
                branch = (t, cal.next_working_time(t + life), e, team, False, [])
                open_branch[e] = branch
                formed.append(branch)
            branch[5].append(i)
        return formed

    def _conflict(self, members: list[int], merge: float, team: int, age_days: float, others: int,
                  draw: float) -> float:
        """Rework hours if the merge conflicts (0 otherwise); a conflict raises its changes' defect odds."""
        p = self.params
        rate = p.get("branching.conflict_rate", merge, 0.5, team)
        if draw >= 1.0 - math.exp(-rate * age_days * others):
            return 0.0
        self.conflicts += 1
        mean = (p.get("branching.conflict_resolution_hours", merge, 0.5, team)
                * (1.0 + age_days / CONFLICT_REFERENCE_AGE_DAYS) / 2.0 * self.slowdown(merge, team))
        hours = self.rng["branches"].gamma(mean, CONFLICT_RESOLUTION_CV)
        multiplier = p.get("branching.conflict_defect_multiplier", merge, 0.5, team)
        changes = self.changes
        for c in members:
            changes.defective[c] = changes.u_defect[c] < min(1.0, changes.p_defect[c] * multiplier)
        return hours

    def start_arrivals(self) -> None:
        """The units formed from the engineers' work arrive at CI in merge order, from one source (as in
        a queueing model). Units added during the run (follow-up fixes) start their own CI flow when they
        are written, so the source never picks them up a second time."""
        self._formed_units = len(self.units)
        self._now(partial(self._arrive, 0), URGENT)

    def _arrive(self, first: int, _event: object = None) -> None:
        env = self.env
        units = self.units
        last = self._formed_units - 1
        for index in range(first, self._formed_units):
            merge = units.merge[index]
            if merge > env.now:
                self._later(merge - env.now, partial(self._arrive, index))
                return
            # the unit's flow begins right here: nothing else can be due before it (the arrival is the
            # step being processed, and urgent steps due now would already have run); it is this step's
            # last action when the next unit merges later
            self._ci_begin(index, last=index == last or units.merge[index + 1] > merge)

    # Steps as SimPy events. Each step of a change's journey is an event whose callback is the next step
    # (no process per merge unit or deployment): ``_now(step, URGENT)`` runs before anything else due
    # now, as SimPy starts a new process; ``_now(step, NORMAL)`` after what is already due, as SimPy
    # grants a resource or fires an event; ``_later(hours, step)`` like a timeout. The order of
    # simultaneous steps, and so of every random draw, is the one a process-per-step model has.
    def _alone_now(self) -> bool:
        """Whether nothing else is due at this instant: a step that would be scheduled for now, after
        everything already due, can then run at once, at the very point SimPy would have run it."""
        queue = self.env._queue
        return not queue or queue[0][0] > self.env._now

    def _now(self, step: Callable[[simpy.Event], None], priority: EventPriority) -> None:
        Step(self.env, step, priority)

    def _later(self, hours: float, step: Callable[[simpy.Event], None]) -> None:
        Step(self.env, step, NORMAL, hours)

    # ------------------------------------------------------------------------------------------
    # 3. CI
    def skip_probability(self, t: float, team: int = 0) -> float:
        """How often the suite is skipped (or overridden) at ``t``: slow and untrusted suites are skipped.

        It rises from 0 at the skip threshold towards ``ci.max_skip_share``: with ``ci.skip_scale`` = 3, a
        suite three times the threshold is skipped ~49% of the time; distrust of a flaky suite adds
        ``flaky_distrust × flaky_rate``.
        """
        p = self.params
        suite = p.get("ci.test_suite_minutes", t, 0.5, team)
        threshold = p.get("ci.skip_threshold_minutes", t, 0.5, team)
        scale = p.get("ci.skip_scale", t, 0.5, team)
        slow = 1.0 - math.exp(-(suite - threshold) / (scale * threshold)) if suite > threshold else 0.0
        distrust = p.get("ci.flaky_distrust", t, 0.5, team) * p.get("ci.flaky_rate", t, 0.5, team)
        return min(p.get("ci.max_skip_share", t, 0.5, team), slow + distrust)

    def _ci_settings_at(self, t: float, team: int) -> CISettings:
        p = self.params
        return (self.skip_probability(t, team), p.get("ci.test_suite_minutes", t, 0.5, team) / 60.0,
                p.get("ci.suite_cv", t, 0.5, team), p.get("ci.flaky_rate", t, 0.5, team),
                int(p.get("ci.max_flaky_reruns", t, 0.5, team)))

    def start_ci(self, unit: int) -> None:
        """A merge unit reaches CI: it starts its own flow now (after anything already due now)."""
        self._now(partial(self._ci_begin, unit), URGENT)

    def _ci_begin(self, unit: int, _event: object = None, last: bool = True) -> None:
        conflict_hours = self.units.conflict_hours[unit]
        run = CIRun(unit, self.units.team[unit])
        if conflict_hours > 0:
            self._later(conflict_hours, partial(self._ci_try, run))  # resolving the conflict first
        else:
            self._ci_try(run, last=last)

    def _ci_try(self, run: CIRun, _event: object = None, last: bool = True) -> None:
        """One pass through CI: skipped (slow or untrusted suite), or queue for a runner and run the suite."""
        if not run.members:
            run.members = list(self.units.changes(run.unit))
        settings = self._ci_static or self._ci_settings_at(self.env._now, run.team)
        run.settings = settings
        if self._ci_rng.uniform() < settings[0]:
            self.make_ready(run.members, run.team, first=True, last=last)
            return
        run.flaky_failures = 0
        self._ci_request(run, last)

    def _ci_request(self, run: CIRun, last: bool = True) -> None:
        """Ask the shared pool for a runner; the suite starts when one is granted (FIFO, SimPy's queue).

        A free runner with nobody waiting is taken at once without building a SimPy request: the
        unit's token joins the pool's users and the grant is an ordinary event at the moment SimPy
        would have processed the request, so every step happens in the same order either way (and when
        nothing else is due now and this is the step's ``last`` action, the grant happens at once).
        """
        run.asked = self.env._now
        runners = self.runners
        if len(runners.users) < runners.capacity and not runners.put_queue:
            # one token per runner held (tokens are interchangeable); SimPy types its users as requests
            runners.users.append(RUNNER_TOKEN)  # type: ignore[arg-type]
            run.request = RUNNER_TOKEN
            if last and self._alone_now():
                self._ci_granted(run)
            else:
                self._now(partial(self._ci_granted, run), NORMAL)
        else:
            run.request = request = runners.request()
            request.callbacks.append(partial(self._ci_granted, run))

    def _ci_granted(self, run: CIRun, _event: object = None) -> None:
        waited = self.env._now - run.asked
        if waited:
            self.units.queue_hours[run.unit] += waited
        if self.ci_waits is not None:
            self.ci_waits.append(waited)
        _, suite_hours, suite_cv, _, _ = run.settings
        hours = self._ci_rng.gamma(suite_hours, suite_cv)
        Step(self.env, partial(self._ci_ran, run, hours), NORMAL, hours)

    def _ci_ran(self, run: CIRun, hours: float, _event: object = None) -> None:
        """The suite finished: free the runner, re-run a flaky failure, or fix what it caught."""
        self.units.run_hours[run.unit] += hours
        runners = self.runners
        if runners.put_queue:  # a unit waits: SimPy grants it the runner when it processes the release
            runners.release(run.request)  # type: ignore[arg-type]  # a request or the token
        else:
            runners.users.remove(run.request)  # type: ignore[arg-type]  # a request or the token
        rng = self._ci_rng
        _, _, _, flaky_rate, max_reruns = run.settings
        if run.flaky_failures < max_reruns and rng.uniform() < flaky_rate:
            run.flaky_failures += 1
            self._ci_request(run)
            return
        fix = self._fix_caught_defects(run.members, run.team, rng)
        if fix is None:
            self.make_ready(run.members, run.team, first=True, last=True)
        else:
            self._later(fix, partial(self._ci_fixed, run, fix))

    def _ci_fixed(self, run: CIRun, hours: float, _event: object = None) -> None:
        self.units.fix_hours[run.unit] += hours
        self._ci_try(run)  # the fixed changes are tested again

    def _fix_caught_defects(self, members: Sequence[int], team: int, rng: Stream) -> float | None:
        """Hours to fix the defects this run caught (each fixed defect is gone); None when it caught none."""
        defective = self.changes.defective
        if not any(map(defective.__getitem__, members)):  # nothing to catch: no draw, as before
            return None
        now = self.env._now
        p = self.params
        detection = p.get("quality.test_detection_rate", now, 0.5, team)
        caught = [c for c in members if defective[c] and rng.uniform() < detection]
        if not caught:
            return None
        fix = 0.0
        mean_fix = p.get("quality.fix_hours", now, 0.5, team) * self.slowdown(now, team)
        for c in caught:
            defective[c] = False
            fix += rng.exponential(mean_fix)
        return fix

    # ------------------------------------------------------------------------------------------
    # 4. Release
    def make_ready(self, changes: Sequence[int], team: int, first: bool = False, last: bool = False) -> None:
        """Changes of one team join its release train, each in the queue of the cadence it follows.

        An idle train is woken by its signal event; when nothing else is due now, the train waits for
        nothing but that signal and this is the current step's ``last`` action, it starts at once instead,
        exactly where the signal would have started it.
        """
        now = self.env._now
        p = self.params
        train = self.trains[team]
        wake_now = False
        wake = train.deployer_wake
        first_ready = self.changes.first_ready
        u_adopt = self.changes.u_adopt
        ready = train.ready
        static = self._static_cadence
        for c in changes:
            if first:
                first_ready[c] = now
            cadence = static or p.get("release.cadence", now, u_adopt[c], team)
            queue = ready.get(cadence)
            if queue is None:
                queue = ready[cadence] = deque()
            queue.append((train.ready_seq, c))
            train.ready_seq += 1
            # only disturb an idle deployer when this cadence could ship before it would look anyway
            if wake is not None and not wake_now:
                nxt = self.calendar.next_opportunity(cadence, now, manual=False)
                wake_now = cadence == "continuous" or nxt is None or nxt < wake
        if wake_now and not train.signalled:
            if last and wake == math.inf and self._alone_now():
                train.deployer_wake = None  # nothing waits on a signal any more
                self._train_step(train)
            else:
                train.signalled = True
                signal = train.ready_signal
                if signal is None:  # waiting for work alone: the wake-up is the step a fired signal would be
                    Step(self.env, partial(self._train_wakes, train), NORMAL)
                else:
                    signal.succeed()

    def deploy_duration(self, method: str, team: int) -> float:
        rng = self._release_rng
        now = self.env._now
        if method == "manual":
            return rng.gamma(self.params.get("release.manual_deploy_hours", now, 0.5, team) * self.slowdown(now, team),
                             MANUAL_DEPLOY_CV)
        return rng.gamma(self.params.get("release.automated_deploy_minutes", now, 0.5, team) / 60.0,
                         AUTOMATED_STEP_CV)

    def start_train(self, train: ReleaseTrain) -> None:
        """Start a team's release train: it ships eligible ready changes in batches, one deployment at
        a time, and otherwise waits for work or for its next window (as a process would, step for step)."""
        self._now(partial(self._train_begin, train), URGENT)

    def _train_begin(self, train: ReleaseTrain, _event: object = None) -> None:
        train.u_method = self._release_rng.uniform()
        self._train_step(train)

    def _train_step(self, train: ReleaseTrain) -> None:
        env = self.env
        cal = self.calendar
        p = self.params
        team = train.team
        now = env._now
        static = self._static_train
        method = static[0] if static else p.get("release.deploy", now, train.u_method, team)
        manual = method == "manual"
        ready = train.ready
        if len(ready) == 1:  # one cadence (no plan switching it): no list to build
            (cadence, queue), = ready.items()
            open_queues = ([queue] if queue and ((cadence == "continuous" and not manual)  # always open
                                                  or cal.may_deploy(cadence, now, manual)) else [])
        else:
            open_queues = [q for cadence, q in ready.items() if q and cal.may_deploy(cadence, now, manual)]
        if open_queues:
            if static:
                batch = self._take(open_queues, static[1])
                hours = self._release_rng.gamma(static[2], static[3])
            else:
                batch = self._take(open_queues, p.get("release.max_batch_size", now, 0.5, team))
                hours = self.deploy_duration(method, team)
            Step(env, partial(self._train_deployed, train, batch, now, method), NORMAL, hours)
            return
        wake = None
        for cadence, queue in ready.items():
            if queue:
                nxt = cal.next_opportunity(cadence, now, manual)
                if nxt is not None and nxt > now and (wake is None or nxt < wake):
                    wake = nxt
        train.signalled = False
        if wake is None:  # nothing to wait for but work: no event until work arrives (see make_ready)
            train.ready_signal = None
            train.deployer_wake = math.inf
            return
        train.ready_signal = signal = simpy.Event(env)
        train.deployer_wake = wake
        (signal | env.timeout(wake - now)).callbacks.append(partial(self._train_wakes, train))

    def _train_wakes(self, train: ReleaseTrain, _event: object = None) -> None:
        train.deployer_wake = None
        self._train_step(train)

    def _train_deployed(self, train: ReleaseTrain, batch: list[int], start: float, method: str,
                        _event: object = None) -> None:
        self._record_deployment(batch, train.team, start, False, method)
        train.u_method = self._release_rng.uniform()
        self._train_step(train)

    @staticmethod
    def _take(queues: list[deque[tuple[int, int]]], cap: int) -> list[int]:
        """The oldest ready changes across the open queues, at most ``cap`` (0 = all)."""
        if len(queues) == 1:
            queue = queues[0]
            n = len(queue) if cap <= 0 else min(cap, len(queue))
            if n == 1:
                return [queue.popleft()[1]]
            return [queue.popleft()[1] for _ in range(n)]
        batch: list[int] = []
        while any(queues) and (cap <= 0 or len(batch) < cap):
            oldest = min((q for q in queues if q), key=lambda q: q[0][0])
            batch.append(oldest.popleft()[1])
        return batch

    def deploy(self, batch: list[int], team: int, unplanned: bool, method: str) -> Process:
        """A deployment as a step of a process (a hotfix): takes its time, then is recorded."""
        start = self.env.now
        yield self.env.timeout(self.deploy_duration(method, team))
        self._record_deployment(batch, team, start, unplanned, method)

    def _record_deployment(self, batch: list[int], team: int, start: float, unplanned: bool, method: str) -> None:
        """A deployment finished now: record it, mark its changes' first deployment, and see if it fails."""
        end = self.env._now
        index = self.deployments.add(start, end, batch, unplanned, method, team)
        first_start, first_end = self.changes.first_deploy_start, self.changes.first_deploy_end
        for c in batch:
            if first_end[c] != first_end[c]:  # NaN: never deployed before
                first_start[c] = start
                first_end[c] = end
        self.check_production(index, batch, team, end, method)

    # ------------------------------------------------------------------------------------------
    # 5. Production
    def check_production(self, deployment: int, batch: list[int], team: int, end: float, method: str) -> None:
        """Whether the deployment fails: a checklist error at once, or an escaped defect that fires later."""
        prng = self._production_rng
        p = self.params
        checklist_error = method == "manual" and prng.uniform() < min(
            1.0, p.get("release.manual_error_rate", end, 0.5, team) * p.defect_factor(end, team))
        defective = self.changes.defective
        escaped = [c for c in batch if defective[c]]
        delay = prng.exponential(p.get("operations.fire_delay_hours", end, 0.5, team)) if escaped else math.inf
        if checklist_error:
            fire = end
        elif escaped:
            fire = end + delay
        else:
            return
        self.env.process(self.incident(deployment, batch, team, fire, escaped, checklist_error))

    def incident(self, deployment: int, batch: list[int], team: int, fire: float, escaped: list[int],
                 checklist_error: bool) -> Process:
        """A failure hurts users from ``fire``; after detection it is restored by a flag, a rollback or by hand."""
        env = self.env
        rng = self.rng["restore"]
        p = self.params
        u_incident = rng.uniform()
        if fire > env.now:
            yield env.timeout(fire - env.now)
        incident = self.incidents.add(deployment, env.now)
        yield env.timeout(rng.exponential(p.get("operations.detect_minutes", env.now, 0.5, team) / 60.0))
        flagged = self.changes.flagged
        if not checklist_error and escaped and all(flagged[c] for c in escaped):
            yield from self.flip_flag(incident, team, escaped)
        elif p.get("operations.automated_rollback", env.now, u_incident, team):
            yield from self.roll_back(incident, team, batch, escaped)
        else:
            yield from self.hotfix(incident, team, batch, escaped)

    def flip_flag(self, incident: int, team: int, escaped: list[int]) -> Process:
        """Every culprit is behind a flag: switch them off; the proper fix ships later as a normal change."""
        env = self.env
        rng = self.rng["restore"]
        yield env.timeout(rng.gamma(self.params.get("operations.flag_flip_minutes", env.now, 0.5, team) / 60.0,
                                    AUTOMATED_STEP_CV))
        self.incidents.resolve(incident, env.now, "flag")
        defective = self.changes.defective
        for c in escaped:
            defective[c] = False  # switched off now, fixed later by a follow-up change
        env.process(self.follow_up_fix(len(escaped), team))

    def roll_back(self, incident: int, team: int, batch: list[int], escaped: list[int]) -> Process:
        """Health checks roll the deployment back (itself an unplanned deployment of nothing)."""
        env = self.env
        rng = self.rng["restore"]
        yield env.timeout(rng.gamma(self.params.get("operations.rollback_minutes", env.now, 0.5, team) / 60.0,
                                    AUTOMATED_STEP_CV))
        self.deployments.add(env.now, env.now, [], True, "automated", team)
        self.incidents.resolve(incident, env.now, "rollback")
        env.process(self.return_rolled_back(batch, team, escaped))

    def hotfix(self, incident: int, team: int, batch: list[int], escaped: list[int]) -> Process:
        """An expert (a scarce resource shared by every team: incidents queue) diagnoses by hand and ships an
        untested hotfix."""
        env = self.env
        rng = self.rng["restore"]
        p = self.params
        asked = env.now
        with self.experts.request() as req:
            yield req
            self.incidents.set_path(incident, "hotfix" if env.now == asked else "hotfix_queued")
            n = max(1, len(batch))
            growth = p.get("operations.diagnosis_growth", env.now, 0.5, team)
            mean = (p.get("operations.hotfix_hours", env.now, 0.5, team) * self.slowdown(env.now, team)
                    * (1.0 + growth * math.log2(n)))
            yield env.timeout(rng.gamma(mean, HOTFIX_DIAGNOSIS_CV))
            changes = self.changes
            for c in escaped:
                changes.defective[c] = False
            fix = changes.add(env.now, NONE, team, 0.0, 1.0, rng.uniform(), False)
            # a rushed hotfix skips CI: it carries a defect with the ordinary defect rate
            changes.defective[fix] = rng.uniform() < min(1.0, p.get("quality.defect_rate", env.now, 0.5, team)
                                                         * p.defect_factor(env.now, team))
            changes.first_ready[fix] = env.now
            method = p.get("release.deploy", env.now, rng.uniform(), team)
            yield from self.deploy([fix], team, unplanned=True, method=method)
            self.incidents.resolve(incident, env.now)

    def follow_up_fix(self, defects: int, team: int) -> Process:
        """After a flag flip the defect is fixed properly and ships through the normal pipeline."""
        env = self.env
        rng = self.rng["restore"]
        yield env.timeout(rng.exponential(self.params.get("quality.fix_hours", env.now, 0.5, team)) * defects)
        c = self.changes.add(env.now, NONE, team, 0.0, 1.0, rng.uniform(), False)
        unit = self.units.add(env.now, env.now, NONE, team, False, [c])
        self.changes.unit[c] = unit
        self.start_ci(unit)

    def return_rolled_back(self, changes: list[int], team: int, escaped: list[int]) -> Process:
        """Rolled-back changes go back to the release queue; the defective ones after a fix."""
        env = self.env
        rng = self.rng["restore"]
        bad = set(escaped)
        good = [c for c in changes if c not in bad]
        if good:
            self.make_ready(good, team)
        if escaped:
            yield env.timeout(rng.exponential(self.params.get("quality.fix_hours", env.now, 0.5, team))
                              * len(escaped))
            defective = self.changes.defective
            for c in escaped:
                defective[c] = False
            self.make_ready(escaped, team)

    # ------------------------------------------------------------------------------------------
    def run(self) -> SimulationRecords:
        # The run makes no reference cycles that outlive their step (each event lets go of its
        # callbacks once processed), so the cycle collector would only re-scan every long-lived object
        # of the program again and again: it pauses while the model runs.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._run()
        finally:
            if collecting:
                gc.enable()
        return self._records()

    def _run(self) -> None:
        self.generate_work()
        self.form_units()
        self.start_arrivals()
        for train in self.trains:
            self.start_train(train)
        self.env.run_to(self.window_end)
        # steps still pending beyond the horizon point back at this model; dropping them lets the model
        # be freed at once by reference counting instead of waiting for the cycle collector
        self.env._queue.clear()

    def _records(self) -> SimulationRecords:
        return SimulationRecords(
            scenario=self.scenario, origin=self.origin, window_start=self.window_start, window_end=self.window_end,
            changes=self.changes, units=self.units, deployments=self.deployments, incidents=self.incidents,
            ci_waits=self.ci_waits if self.ci_waits is not None else array("d"), conflicts=self.conflicts, merges=len(self.units), teams=self.teams,
        )


def simulate(scenario: Scenario, root_seed: int | None = None, replication: int = 0,
             phases: tuple[Phase, ...] = ()) -> SimulationRecords:
    """Run one replication and return its records (simulation hours)."""
    seed = scenario.seed if root_seed is None else root_seed
    streams = replication_streams(seed, replication)
    scenario = draw_parameters(scenario, streams["parameters"].generator)  # itself unless it carries evidence
    return DeliveryModel(scenario, streams, phases).run()
