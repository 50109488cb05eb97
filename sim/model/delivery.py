"""The delivery model (docs/model.md): how changes travel from an engineer to production.

One replication = one SimPy environment. Time is in hours since the origin, which is
``simulation.warmup_days`` before the scenario's ``start`` so that branches, queues and release
trains are already full when the scored window opens.

Flow of a change (each step a cause a user can name):

1. **Work** — engineers finish changes in working hours (Mon–Fri); ``team.overtime`` adds evening
   and weekend hours at lower productivity, and fatigue raises the defect rate.
2. **Branches** — on ``long_lived`` branches an engineer's changes wait until the branch merges
   (lifetime ~ Gamma around ``branch_lifetime_days``). On ``trunk`` each change merges on its own
   after a short review. At merge, conflict risk rises with branch age and with the number of
   other branches open: P = 1 − exp(−rate × age_days × other_open_branches). A conflict costs
   rework hours and doubles the defect odds of the branch's changes.
3. **CI** — the merge unit queues for a runner (a SimPy ``Resource``: real queueing), runs the
   suite, is re-run after flaky failures, or is skipped (slow or untrusted suite) and so catches
   nothing. A run catches each defect with ``test_detection_rate``; caught defects are fixed
   (``fix_hours`` each) and the unit is tested again.
4. **Release** — ready changes wait for the next opportunity of their cadence and ship in
   batches capped by ``max_batch_size``. Manual deploys take hours, only run in their window
   (continuous + manual = working hours) and can fail by checklist error.
5. **Production** — a deployment fails when a shipped defect fires (risk 1 − (1 − p)^n for n
   changes) or its checklist failed. After detection: a feature-flag flip, an automated
   rollback, or hand diagnosis by a scarce expert (a capacity-limited ``Resource``) whose time
   grows with log2(batch size), followed by an unplanned hotfix deployment.

The model keeps plain records (lists) and turns them into the docs/logs.md logs at the end.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque

import numpy as np
import simpy

from sim.model.calendar import Calendar
from sim.model.params import Phase, Schedule
from sim.model.records import Deployment, Incident, SimulationRecords, Unit
from sim.model.rng import Stream, replication_streams
from sim.model.scenario import Scenario

BRANCH_CV = 0.7  # spread of long-lived branch lifetimes (Gamma; assumed)
MAX_FLAKY_RERUNS = 3  # after three flaky failures in a row the run is overridden as green (assumed)


class DeliveryModel:
    """One replication of the delivery pipeline. Build, then call :meth:`run`."""

    def __init__(self, scenario: Scenario, streams: dict[str, Stream],
                 phases: tuple[Phase, ...] = ()):
        self.scenario = scenario
        self.rng = streams
        warmup = scenario.simulation.warmup_days
        self.origin = scenario.start - dt.timedelta(days=warmup)
        self.total_days = warmup + scenario.days
        self.window_start = warmup * 24.0
        self.window_end = self.total_days * 24.0
        self.params = Schedule(scenario, phases, origin_offset_hours=self.window_start)
        self.calendar = Calendar(self.origin, self.total_days, scenario.team.working_hours_per_day,
                                 scenario.release.window_hours)
        self.env = simpy.Environment()
        self.runners = simpy.Resource(self.env, capacity=scenario.ci.runners)
        self.experts = simpy.Resource(self.env, capacity=scenario.operations.experts)
        # per-change records
        self.created: list[float] = []
        self.engineer: list[int] = []
        self.p_defect: list[float] = []
        self.u_defect: list[float] = []
        self.u_adopt: list[float] = []
        self.flagged: list[bool] = []
        self.defective: list[bool] = []
        self.change_unit: list[int] = []
        self.first_ready: list[float] = []
        self.first_deploy_start: list[float] = []
        self.first_deploy_end: list[float] = []
        self.cadence_of: list[str] = []
        self.units: list[Unit] = []
        self.deployments: list[Deployment] = []
        self.incidents: list[Incident] = []
        self.ci_waits: list[float] = []
        self.conflicts = 0
        # ready changes per cadence, FIFO; each entry is (ready sequence number, change)
        self.ready: dict[str, deque[tuple[int, int]]] = {}
        self.ready_seq = 0
        self.ready_signal = self.env.event()
        self.deployer_wake: float | None = None  # when the idle deployer will look again (None: busy)
        self.u_engineer = self.rng["adoption"].generator.random(1000)
        ci_keys = {"ci.test_suite_minutes", "ci.skip_threshold_minutes", "ci.flaky_distrust", "ci.flaky_rate",
                   "ci.suite_cv"}
        # CI settings that never change are worked out once (the per-change hot path)
        self._ci_static = None
        if self.params.dynamic.isdisjoint(ci_keys):
            self._ci_static = (self.skip_probability(0.0), scenario.ci.test_suite_minutes / 60.0, scenario.ci.suite_cv,
                               scenario.ci.flaky_rate)

    def slowdown(self, t: float) -> float:
        """How much longer human work takes while phases ramp (1.0 = no adoption cost)."""
        return 1.0 / max(self.params.capacity_factor(t), 0.2)

    # ------------------------------------------------------------------------------------------
    # 1. Work
    def _new_change(self, t: float, engineer: int, p_defect: float, u_defect: float, u_adopt: float,
                    u_flag: float) -> int:
        index = len(self.created)
        self.created.append(t)
        self.engineer.append(engineer)
        self.p_defect.append(p_defect)
        self.u_defect.append(u_defect)
        self.u_adopt.append(u_adopt)
        flags_on = self.params.get("branching.feature_flags", t, u_adopt)
        self.flagged.append(bool(flags_on) and u_flag < self.params.get("branching.flag_coverage", t))
        self.defective.append(u_defect < p_defect)
        self.change_unit.append(-1)
        self.first_ready.append(math.nan)
        self.first_deploy_start.append(math.nan)
        self.first_deploy_end.append(math.nan)
        self.cadence_of.append("")
        return index

    def generate_work(self) -> None:
        """Draw every change's completion time, engineer and defect odds for the whole horizon."""
        rng = self.rng["work"]
        qrng = self.rng["quality"]
        p = self.params
        times: list[np.ndarray] = []
        engineers: list[np.ndarray] = []
        for day in range(self.total_days):
            t_day = day * 24.0 + 12.0
            overtime = p.get("team.overtime", t_day)
            team = max(1, int(p.get("team.engineers", t_day)))
            rate_per_hour = p.get("team.changes_per_engineer_per_day", t_day) / p.get(
                "team.working_hours_per_day", t_day)
            capacity = p.capacity_factor(t_day)
            tired_output = p.get("team.overtime_productivity", t_day)
            for start, length, tired in self.calendar.work_segments(day, overtime):
                expected = team * length * rate_per_hour * capacity * (tired_output if tired else 1.0)
                n = int(rng.generator.poisson(expected)) if expected > 0 else 0
                if n:
                    times.append(day * 24.0 + start + length * rng.generator.random(n))
                    engineers.append(rng.generator.integers(0, team, n))
        if not times:
            return
        t_all = np.concatenate(times)
        e_all = np.concatenate(engineers)
        order = np.argsort(t_all, kind="stable")
        t_all, e_all = t_all[order], e_all[order]
        n = len(t_all)
        # one row of draws per change, so change i keeps its draws when output elsewhere changes
        u_defect = qrng.generator.random(n)
        u_adopt, u_flag = self.rng["adoption"].generator.random((n, 2)).T
        work_keys = ("team.overtime", "team.fatigue_defect_factor", "quality.defect_rate",
                     "branching.feature_flags", "branching.flag_coverage")
        if p.dynamic.isdisjoint(work_keys) and not p.has_costs:
            # none of these keys changes during the run: their value at time 0 holds throughout
            fatigue = 1.0 + p.get("team.fatigue_defect_factor", 0.0) * (p.get("team.overtime", 0.0) - 1.0)
            p_def = np.full(n, min(1.0, p.get("quality.defect_rate", 0.0) * fatigue))
            flagged = (u_flag < p.get("branching.flag_coverage", 0.0)) & bool(p.get("branching.feature_flags", 0.0))
        else:
            p_def = np.empty(n)
            flagged = np.empty(n, dtype=bool)
            for i in range(n):
                t = float(t_all[i])
                fatigue = 1.0 + p.get("team.fatigue_defect_factor", t) * (p.get("team.overtime", t) - 1.0)
                p_def[i] = min(1.0, p.get("quality.defect_rate", t) * fatigue * p.defect_factor(t))
                flagged[i] = bool(p.get("branching.feature_flags", t, u_adopt[i])) and (
                    u_flag[i] < p.get("branching.flag_coverage", t))
        self.created = t_all.tolist()
        self.engineer = e_all.tolist()
        self.p_defect = p_def.tolist()
        self.u_defect = u_defect.tolist()
        self.u_adopt = u_adopt.tolist()
        self.flagged = flagged.tolist()
        self.defective = (u_defect < p_def).tolist()
        self.change_unit = [-1] * n
        self.first_ready = [math.nan] * n
        self.first_deploy_start = [math.nan] * n
        self.first_deploy_end = [math.nan] * n
        self.cadence_of = [""] * n

    # ------------------------------------------------------------------------------------------
    # 2. Branches
    def form_units(self) -> None:
        """Group each engineer's changes into merge units and decide conflicts at merge time."""
        rng = self.rng["branches"]
        p = self.params
        cal = self.calendar
        open_branch: dict[int, Unit] = {}
        started: set[int] = set()
        units: list[Unit] = []
        for i, t in enumerate(self.created):
            e = self.engineer[i]
            branch = open_branch.get(e)
            if branch is not None and t >= branch.merge:
                del open_branch[e]
                branch = None
            if branch is None:
                # while a practice is being adopted people are learning: work takes longer (J-curve)
                lifetime_h = p.get("branching.branch_lifetime_days", t) * 24.0 * self.slowdown(t)
                strategy = p.get("branching.strategy", t, self.u_engineer[e % len(self.u_engineer)])
                if strategy == "trunk":
                    merge = cal.next_working_time(t + (rng.exponential(lifetime_h)))
                    units.append(Unit([i], t, merge, e))
                    continue
                if e in started:
                    life = rng.gamma(lifetime_h, BRANCH_CV)
                else:
                    # the engineer's branch at the origin is already under way: its remaining life is the
                    # stationary residual U x (length-biased lifetime), so branches do not all start in step
                    shape = 1.0 / (BRANCH_CV * BRANCH_CV)
                    life = rng.uniform() * rng.gamma(lifetime_h * (shape + 1) / shape, 1.0 / math.sqrt(shape + 1))
                    started.add(e)
                merge = cal.next_working_time(t + life)
                branch = Unit([], t, merge, e)
                open_branch[e] = branch
                units.append(branch)
            branch.changes.append(i)
        units.sort(key=lambda u: (u.merge, u.start))
        starts = np.sort(np.array([u.start for u in units]))
        merges = np.array([u.merge for u in units])
        ends = np.sort(merges)
        # branches open at each merge (this one included), from the sorted start and end times
        open_now = np.searchsorted(starts, merges, "right") - np.searchsorted(ends, merges, "right")
        others = np.maximum(open_now - 1, 0)
        ages = (merges - np.array([u.start for u in units])) / 24.0
        draws = rng.generator.random(len(units))
        for index, unit in enumerate(units):
            for c in unit.changes:
                self.change_unit[c] = index
            rate = p.get("branching.conflict_rate", unit.merge)
            p_conflict = 1.0 - math.exp(-rate * ages[index] * others[index])
            if draws[index] < p_conflict:
                self.conflicts += 1
                age_days = float(ages[index])
                mean = (p.get("branching.conflict_resolution_hours", unit.merge) * (1.0 + age_days / 5.0) / 2.0
                        * self.slowdown(unit.merge))
                unit.conflict_hours = rng.gamma(mean, 0.8)
                multiplier = p.get("branching.conflict_defect_multiplier", unit.merge)
                for c in unit.changes:
                    self.defective[c] = self.u_defect[c] < min(1.0, self.p_defect[c] * multiplier)
        self.units = units

    def merge_arrivals(self):
        """Units arrive at CI in merge order (a single source process, as in a queueing model)."""
        env = self.env
        for unit in self.units:
            if unit.merge > env.now:
                yield env.timeout(unit.merge - env.now)
            env.process(self.ci_flow(unit))

    # ------------------------------------------------------------------------------------------
    # 3. CI
    def skip_probability(self, t: float) -> float:
        p = self.params
        suite = p.get("ci.test_suite_minutes", t)
        threshold = p.get("ci.skip_threshold_minutes", t)
        # rises from 0 at the threshold towards 1; a suite 3x the threshold is skipped ~49% of the time
        slow = 1.0 - math.exp(-(suite - threshold) / (3.0 * threshold)) if suite > threshold else 0.0
        distrust = p.get("ci.flaky_distrust", t) * p.get("ci.flaky_rate", t)
        return min(0.95, slow + distrust)

    def _ci_settings(self, t: float) -> tuple[float, float, float, float]:
        """(skip probability, mean suite hours, suite cv, flaky rate) in force at ``t``."""
        static = self._ci_static
        if static is not None:
            return static
        p = self.params
        return (self.skip_probability(t), p.get("ci.test_suite_minutes", t) / 60.0, p.get("ci.suite_cv", t),
                p.get("ci.flaky_rate", t))

    def ci_flow(self, unit: Unit):
        env = self.env
        rng = self.rng["ci"]
        p = self.params
        if unit.conflict_hours > 0:
            yield env.timeout(unit.conflict_hours)
        while True:
            skip, suite_hours, suite_cv, flaky_rate = self._ci_settings(env.now)
            if rng.uniform() < skip:
                break
            flaky_failures = 0
            while True:
                asked = env.now
                with self.runners.request() as req:
                    yield req
                    waited = env.now - asked
                    unit.queue_hours += waited
                    self.ci_waits.append(waited)
                    run = rng.gamma(suite_hours, suite_cv)
                    yield env.timeout(run)
                    unit.run_hours += run
                if flaky_failures < MAX_FLAKY_RERUNS and rng.uniform() < flaky_rate:
                    flaky_failures += 1
                    continue
                break
            detection = p.get("quality.test_detection_rate", env.now)
            caught = [c for c in unit.changes if self.defective[c] and rng.uniform() < detection]
            if not caught:
                break
            fix = 0.0
            mean_fix = p.get("quality.fix_hours", env.now) * self.slowdown(env.now)
            for c in caught:
                self.defective[c] = False
                fix += (rng.exponential(mean_fix))
            yield env.timeout(fix)
            unit.fix_hours += fix
        self.make_ready(unit.changes, first=True)

    # ------------------------------------------------------------------------------------------
    # 4. Release
    def make_ready(self, changes: list[int], first: bool = False) -> None:
        now = self.env.now
        p = self.params
        wake_now = False
        wake = self.deployer_wake
        for c in changes:
            if first:
                self.first_ready[c] = now
            cadence = p.get("release.cadence", now, self.u_adopt[c])
            self.cadence_of[c] = cadence
            self.ready.setdefault(cadence, deque()).append((self.ready_seq, c))
            self.ready_seq += 1
            # only disturb an idle deployer when this cadence could ship before it would look anyway
            if wake is not None and not wake_now:
                nxt = self.calendar.next_opportunity(cadence, now, manual=False)
                wake_now = cadence == "continuous" or nxt is None or nxt < wake
        if wake_now and not self.ready_signal.triggered:
            self.ready_signal.succeed()

    def deploy_duration(self, method: str) -> float:
        rng = self.rng["release"]
        if method == "manual":
            now = self.env.now
            return rng.gamma(self.params.get("release.manual_deploy_hours", now) * self.slowdown(now), 0.5)
        return rng.gamma(self.params.get("release.automated_deploy_minutes", self.env.now) / 60.0, 0.3)

    def deployer(self):
        """The release train: ships eligible ready changes in batches, one deployment at a time."""
        env = self.env
        cal = self.calendar
        rng = self.rng["release"]
        p = self.params
        u_method = rng.uniform()
        while True:
            now = env.now
            method = p.get("release.deploy", now, u_method)
            manual = method == "manual"
            open_queues = [q for cadence, q in self.ready.items() if q and cal.may_deploy(cadence, now, manual)]
            if open_queues:
                cap = p.get("release.max_batch_size", now)
                batch = self._take(open_queues, cap)
                yield from self.deploy(batch, unplanned=False, method=method)
                u_method = rng.uniform()
                continue
            wake = None
            for cadence, queue in self.ready.items():
                if queue:
                    nxt = cal.next_opportunity(cadence, now, manual)
                    if nxt is not None and nxt > now and (wake is None or nxt < wake):
                        wake = nxt
            self.ready_signal = env.event()
            self.deployer_wake = math.inf if wake is None else wake
            if wake is not None:
                yield self.ready_signal | env.timeout(wake - now)
            else:
                yield self.ready_signal
            self.deployer_wake = None

    @staticmethod
    def _take(queues: list[deque[tuple[int, int]]], cap: int) -> list[int]:
        """The oldest ready changes across the open queues, at most ``cap`` (0 = all)."""
        if len(queues) == 1:
            queue = queues[0]
            n = len(queue) if cap <= 0 else min(cap, len(queue))
            return [queue.popleft()[1] for _ in range(n)]
        batch = []
        while any(queues) and (cap <= 0 or len(batch) < cap):
            oldest = min((q for q in queues if q), key=lambda q: q[0][0])
            batch.append(oldest.popleft()[1])
        return batch

    def deploy(self, batch: list[int], unplanned: bool, method: str):
        env = self.env
        start = env.now
        yield env.timeout(self.deploy_duration(method))
        end = env.now
        dep = Deployment(len(self.deployments), start, end, list(batch), unplanned, method)
        self.deployments.append(dep)
        for c in batch:
            if math.isnan(self.first_deploy_end[c]):
                self.first_deploy_start[c] = start
                self.first_deploy_end[c] = end
        self.check_production(dep)

    # ------------------------------------------------------------------------------------------
    # 5. Production
    def check_production(self, dep: Deployment) -> None:
        prng = self.rng["production"]
        p = self.params
        error_rate = min(1.0, p.get("release.manual_error_rate", dep.end) * p.defect_factor(dep.end))
        checklist_error = dep.method == "manual" and prng.uniform() < error_rate
        escaped = [c for c in dep.changes if self.defective[c]]
        delay = (prng.exponential(p.get("operations.fire_delay_hours", dep.end))) if escaped else math.inf
        if checklist_error:
            fire = dep.end
        elif escaped:
            fire = dep.end + delay
        else:
            return
        self.env.process(self.incident(dep, fire, escaped, checklist_error))

    def incident(self, dep: Deployment, fire: float, escaped: list[int], checklist_error: bool):
        env = self.env
        rng = self.rng["restore"]
        p = self.params
        u_incident = rng.uniform()
        if fire > env.now:
            yield env.timeout(fire - env.now)
        inc = Incident(len(self.incidents), dep.index, env.now)
        self.incidents.append(inc)
        yield env.timeout(rng.exponential(p.get("operations.detect_minutes", env.now) / 60.0))
        flaggable = not checklist_error and escaped and all(self.flagged[c] for c in escaped)
        if flaggable:
            yield env.timeout(rng.gamma(p.get("operations.flag_flip_minutes", env.now) / 60.0, 0.3))
            inc.resolved, inc.path = env.now, "flag"
            for c in escaped:
                self.defective[c] = False  # switched off now, fixed later by a follow-up change
            env.process(self.follow_up_fix(len(escaped)))
            return
        if p.get("operations.automated_rollback", env.now, u_incident):
            yield env.timeout(rng.gamma(p.get("operations.rollback_minutes", env.now) / 60.0, 0.3))
            rollback = Deployment(len(self.deployments), env.now, env.now, [], True, "automated")
            self.deployments.append(rollback)
            inc.resolved, inc.path = env.now, "rollback"
            env.process(self.return_rolled_back(dep.changes, escaped))
            return
        asked = env.now
        with self.experts.request() as req:
            yield req
            inc.path = "hotfix" if env.now == asked else "hotfix_queued"
            n = max(1, len(dep.changes))
            growth = p.get("operations.diagnosis_growth", env.now)
            mean = p.get("operations.hotfix_hours", env.now) * self.slowdown(env.now) * (1.0 + growth * math.log2(n))
            yield env.timeout(rng.gamma(mean, 0.7))
            for c in escaped:
                self.defective[c] = False
            fix = self._new_change(env.now, -1, 0.0, 1.0, rng.uniform(), 1.0)
            # a rushed hotfix skips CI: it carries a defect with the ordinary defect rate
            self.defective[fix] = rng.uniform() < min(1.0, p.get("quality.defect_rate", env.now) * p.defect_factor(env.now))
            self.first_ready[fix] = env.now
            method = p.get("release.deploy", env.now, rng.uniform())
            yield from self.deploy([fix], unplanned=True, method=method)
            inc.resolved = env.now

    def follow_up_fix(self, defects: int):
        """After a flag flip the defect is fixed properly and ships through the normal pipeline."""
        env = self.env
        rng = self.rng["restore"]
        yield env.timeout((rng.exponential(self.params.get("quality.fix_hours", env.now))) * defects)
        c = self._new_change(env.now, -1, 0.0, 1.0, rng.uniform(), 1.0)
        unit = Unit([c], env.now, env.now, -1)
        self.change_unit[c] = len(self.units)
        self.units.append(unit)
        env.process(self.ci_flow(unit))

    def return_rolled_back(self, changes: list[int], escaped: list[int]):
        """Rolled-back changes go back to the release queue; the defective ones after a fix."""
        env = self.env
        rng = self.rng["restore"]
        bad = set(escaped)
        good = [c for c in changes if c not in bad]
        if good:
            self.make_ready(good)
        if escaped:
            yield env.timeout((rng.exponential(self.params.get("quality.fix_hours", env.now))) * len(escaped))
            for c in escaped:
                self.defective[c] = False
            self.make_ready(escaped)

    # ------------------------------------------------------------------------------------------
    def run(self) -> SimulationRecords:
        self.generate_work()
        self.form_units()
        self.env.process(self.merge_arrivals())
        self.env.process(self.deployer())
        self.env.run(until=self.window_end)
        return SimulationRecords(
            scenario=self.scenario, origin=self.origin, window_start=self.window_start,
            window_end=self.window_end, created=self.created, first_ready=self.first_ready,
            first_deploy_start=self.first_deploy_start, first_deploy_end=self.first_deploy_end,
            change_unit=self.change_unit, units=self.units, deployments=self.deployments,
            incidents=self.incidents, ci_waits=self.ci_waits, conflicts=self.conflicts, merges=len(self.units),
        )


def simulate(scenario: Scenario, root_seed: int | None = None, replication: int = 0,
             phases: tuple[Phase, ...] = ()) -> SimulationRecords:
    """Run one replication and return its records (simulation hours)."""
    seed = scenario.seed if root_seed is None else root_seed
    return DeliveryModel(scenario, replication_streams(seed, replication), phases).run()
