"""Stage 4, release trains: ready changes wait for their cadence's next opportunity and ship in batches.

Each team has one train. Its ready changes queue per cadence (FIFO); the train ships the oldest
eligible ones, at most ``release.max_batch_size``, one deployment at a time, and otherwise waits for
work or for its next window. Manual deploys only run in their window (continuous + manual = working
hours). When a train may ship and when it should look again are asked of the calendar in
:meth:`ReleaseStage.open_queues` and :meth:`ReleaseStage.next_look` — the two places a new kind of
release schedule plugs in.
"""

from __future__ import annotations

import bisect
import enum
import math
from collections import deque
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import simpy
from scipy import special

from sim.model.constants import AUTOMATED_STEP_CV, MANUAL_DEPLOY_CV
from sim.model.flow.engine import Later, QueueNow, StartNow, nothing_else_due
from sim.model.flow.state import FlowState
from sim.model.release_process import PendingHazard, recorded_quiet_from, state_hours
from sim.model.scenario import keys_deciding
from sim.model.sections import Quality, Release
from sim.model.tables import NONE

if TYPE_CHECKING:
    from sim.model.flow.deployment import DeploymentStage

# what decides a train's deployments and the cadence of changes (declared on the fields): while none of them
# changes, they are worked out once per run
RELEASE_KEYS = keys_deciding("release")
CADENCE_KEYS = keys_deciding("cadence")

ReadyQueue = deque[tuple[int, int]]  # (ready sequence number, change), oldest first


class Deployer(enum.Enum):
    """What a train's deployer is doing."""

    BUSY = "busy"  # deploying, or deciding what to deploy
    AWAITING_WORK = "awaiting work"  # idle, nothing ready could ship at any future window
    AWAITING_WINDOW = (
        "awaiting window"  # idle until ``ReleaseTrain.window_at`` (or new work that ships sooner)
    )


# the members as plain names: a member looked up on an Enum class costs ten times a global on Python 3.11
BUSY, AWAITING_WORK, AWAITING_WINDOW = Deployer.BUSY, Deployer.AWAITING_WORK, Deployer.AWAITING_WINDOW


class TrainSettings(NamedTuple):
    """A train's deployment settings when none of them changes during the run."""

    method: str
    max_batch_size: int
    deploy_hours: float
    deploy_cv: float


RECORDED_DUE_HOURS = 24.0  # a recorded release missed at its instant still ships within a day of it


class ReleaseTrain:
    """One team's release train: its ready changes per cadence, and its deployer's state."""

    __slots__ = (
        "deployer",
        "hazard",
        "ready",
        "ready_seq",
        "ready_signal",
        "served",
        "signalled",
        "team",
        "u_method",
        "window_at",
    )

    def __init__(self, team: int) -> None:
        self.team = team
        self.ready: dict[str, ReadyQueue] = {}  # ready changes per cadence
        self.ready_seq = 0
        self.deployer: Deployer = BUSY
        self.window_at = math.inf  # when an idle deployer awaiting a window looks again
        # what wakes a deployer awaiting a window early (new work that could ship sooner)
        self.ready_signal: simpy.Event | None = None
        self.signalled = False  # new work has already asked the idle deployer to look
        self.u_method = 0.5  # this deployment's draw for adopting automated deploys during a plan
        self.hazard: PendingHazard | None = None  # a team releasing when enough work waits ("when_ready")
        self.served = 0  # recorded releases of the replayed past this train has shipped (or let lapse)


class ReleaseStage:
    """Every team's release train."""

    def __init__(self, flow: FlowState, deployment: DeploymentStage) -> None:
        self.flow = flow
        self.env = flow.env
        self.calendar = flow.calendar
        self.deployment = deployment
        self.rng = flow.streams["release"]
        self.trains = [ReleaseTrain(team) for team in range(flow.teams)]
        p = flow.params
        # the cadence every change follows when no plan switches it (the per-change hot path)
        self._fixed_cadence: str | None = (
            p.scenario.release.cadence if flow.unchanging(CADENCE_KEYS, costs_matter=False) else None
        )
        self._fixed: TrainSettings | None = self._fixed_settings() if flow.unchanging(RELEASE_KEYS) else None
        self._recorded = flow.calendar.recorded_opens  # the replayed past's releases (hours), if any

    def record_holds(self, now: float) -> float | None:
        """The state day (hours) while a replayed record holds at ``now`` past its last release (no release
        then until the state day); None otherwise."""
        state = self.state_hours()
        if not self._recorded or state is None or now >= state or now < self._recorded[-1]:
            return None
        return state

    def _recorded_due(self, train: ReleaseTrain, now: float) -> bool:
        """A recorded release of the replayed past has come and the train has not shipped it: it ships as soon
        as it can (its deployer was busy or nothing was ready at the instant), the record says it did. Each
        recorded release is owed once, so releases minutes apart ship one after another; one not shipped
        within :data:`RECORDED_DUE_HOURS` lapses."""
        recorded = self._recorded
        if not recorded or now > recorded[-1] + RECORDED_DUE_HOURS:
            return False
        return self._owed(train, now) < len(recorded) and recorded[train.served] <= now

    def _owed(self, train: ReleaseTrain, now: float) -> int:
        """The first recorded release the train still owes at ``now`` (those over a day old lapse)."""
        recorded = self._recorded
        i = train.served
        while i < len(recorded) and recorded[i] < now - RECORDED_DUE_HOURS:
            i += 1
        train.served = i
        return i

    def _owed_batch(
        self, train: ReleaseTrain, queues: list[ReadyQueue], cap: int, now: float
    ) -> list[int] | None:
        """Catching up recorded releases of the replayed past (the next one is owed too): the oldest ready work,
        up to what was ready by the next one's instant (at least one change), so each ships its own; None
        otherwise."""
        recorded = self._recorded
        if not recorded:
            return None
        i = self._owed(train, now)
        if i + 1 >= len(recorded) or recorded[i + 1] > now:
            return None
        ready, until = self.flow.changes.first_ready, recorded[i + 1]
        batch: list[int] = []
        while any(queues) and (cap <= 0 or len(batch) < cap):
            oldest = min((q for q in queues if q), key=lambda q: q[0][0])
            if batch and ready[oldest[0][1]] > until:
                break
            batch.append(oldest.popleft()[1])
        return batch

    def next_recorded(self, now: float) -> float | None:
        """The first recorded release of the replayed past after ``now`` (None: the record is over)."""
        i = bisect.bisect_right(self._recorded, now)
        return self._recorded[i] if i < len(self._recorded) else None

    def _fixed_settings(self) -> TrainSettings:
        release = self.flow.params.scenario.release
        method = release.deploy
        hours, cv = (
            (release.manual_deploy_hours, MANUAL_DEPLOY_CV)
            if method == "manual"
            else (release.automated_deploy_minutes / 60.0, AUTOMATED_STEP_CV)
        )
        return TrainSettings(method, release.max_batch_size, hours, cv)

    def start(self) -> None:
        """Start every train: each ships eligible ready changes in batches and otherwise waits."""
        params = self.flow.params
        if params.get("release.cadence", 0.0) == "when_ready" or "release.cadence" in params.dynamic:
            # the work is drawn by now; a plan may move a team to when_ready later
            changes = self.flow.changes
            # copies, not views: a view exports the table's buffer, and a frame kept alive a moment longer
            # (a profiler's sample, say) would stop a hotfix from growing the table
            team_of = np.array(changes.team)
            created = np.array(changes.created)
            per_day = self.flow.params.get("release.pending_hazard", 0.0)
            state = self._recorded_state()
            for train in self.trains:
                mine = np.flatnonzero(team_of == train.team)
                train.hazard = PendingHazard(
                    created[mine], per_day, self.flow.streams["release_gaps"].generator, mine, state
                )
        for train in self.trains:
            StartNow(self.env, partial(self._begin, train))
        self._carry_in_later()

    def state_hours(self) -> float | None:
        """The recorded state day in simulation hours (the window starts after the warm-up); None without one."""
        scenario = self.flow.params.scenario
        return None if scenario.release.state_day < 0 else state_hours(scenario)

    def _carry_in_later(self) -> None:
        """With a recorded state, the old work the logs showed waiting then joins the trains on the state day."""
        state = self.state_hours()
        if state is None or self.flow.params.scenario.release.waiting_changes <= 0:
            return
        if state >= self.env._now:
            Later(self.env, state - self.env._now, self._carry_in)

    def _carry_in(self, _event: object = None) -> None:
        """Old waiting work: ``release.waiting_changes`` changes, made ages ago (the log-normal's quantiles,
        at least back to the last release), ready now and shared among the teams."""
        release = self.flow.params.scenario.release
        now = self.env._now
        k = release.waiting_changes
        z = special.ndtri((np.arange(k) + 0.5) / k)
        ages = np.maximum(
            release.days_since_release, release.waiting_age_days * np.exp(release.waiting_age_spread * z)
        )
        rng = self.flow.streams["release_prep"].generator
        u_defect, u_adopt = rng.random((2, k))
        changes, p = self.flow.changes, self.flow.params
        batches: dict[int, list[int]] = {}
        for i, age in enumerate(ages):
            team = i % self.flow.teams
            rate = min(1.0, p.view(Quality, now, team).defect_rate * p.defect_factor(now, team))
            c = changes.add(
                now - float(age) * 24.0, NONE, team, rate, float(u_defect[i]), float(u_adopt[i]), False
            )
            batches.setdefault(team, []).append(c)
        for team, batch in batches.items():
            self.make_ready(batch, team, first_time=True)

    def _recorded_state(self) -> tuple[list[float], float, float] | None:
        """(the recorded releases, the state day, the start of the recorded past) in simulation hours when a
        when_ready train records its state: the last release alone, or every release the logs show from the
        window's start when they are replayed."""
        scenario = self.flow.params.scenario
        state = self.state_hours()
        if state is None or scenario.release.cadence != "when_ready":
            return None
        if self._recorded:
            return self._recorded, state, recorded_quiet_from(scenario)
        last = max(0.0, state - scenario.release.days_since_release * 24.0)
        return [last], state, last

    def make_ready(
        self, changes: Sequence[int], team: int, *, first_time: bool = False, step_ends_here: bool = False
    ) -> None:
        """Changes of one team join its release train, each in the queue of the cadence it follows
        (``first_time``: they have just passed CI; their time of first being ready is now).

        An idle deployer is woken when one of them could ship before it would look anyway. When
        nothing else is due now, the deployer awaits nothing but work, and nothing follows in the
        current step (``step_ends_here``), it starts at once instead, exactly where the wake-up would
        have started it.
        """
        now = self.env._now
        train = self.trains[team]
        p = self.flow.params
        u_adopt = self.flow.changes.u_adopt
        first_ready = self.flow.changes.first_ready
        ready = train.ready
        fixed = self._fixed_cadence
        deployer = train.deployer
        looks_at = train.window_at if deployer is AWAITING_WINDOW else math.inf
        wake_now = False
        for c in changes:
            if first_time:
                first_ready[c] = now
            cadence = fixed or p.view(Release, now, team, u_adopt[c]).cadence
            queue = ready.get(cadence)
            if queue is None:
                queue = ready[cadence] = deque()
            queue.append((train.ready_seq, c))
            train.ready_seq += 1
            # only disturb an idle deployer when this cadence could ship before it would look anyway
            if deployer is not BUSY and not wake_now:
                wake_now = self._ships_before(train, cadence, now, looks_at)
        if wake_now and not train.signalled:
            self._wake(train, step_ends_here)

    def _ships_before(self, train: ReleaseTrain, cadence: str, now: float, looks_at: float) -> bool:
        """Whether a change following ``cadence`` could ship before the idle deployer would look anyway."""
        if cadence == "continuous":
            return True
        if cadence == "when_ready" and train.hazard is not None:
            train.hazard.expire(now, RECORDED_DUE_HOURS)
            return train.hazard.due() < looks_at
        if cadence == "irregular" and self._recorded_due(train, now):
            return True
        nxt = self.calendar.next_opportunity(cadence, now, manual=False)
        return nxt is None or nxt < looks_at

    def _wake(self, train: ReleaseTrain, step_ends_here: bool) -> None:
        """Wake an idle deployer now: at once when nothing else can come first, else by its signal."""
        if step_ends_here and train.deployer is AWAITING_WORK and nothing_else_due(self.env):
            train.deployer = BUSY
            self._step(train)
            return
        train.signalled = True
        signal = train.ready_signal
        if signal is None:  # awaiting work alone: the wake-up is the step a fired signal would be
            QueueNow(self.env, partial(self._wakes, train))
        else:
            signal.succeed()

    def _begin(self, train: ReleaseTrain, _event: object = None) -> None:
        train.u_method = self.rng.uniform()
        self._step(train)

    def _step(self, train: ReleaseTrain) -> None:
        """Ship a batch if a queue may deploy now; otherwise wait for the next window or for work."""
        now = self.env._now
        fixed = self._fixed
        method = (
            fixed.method if fixed else self.flow.params.view(Release, now, train.team, train.u_method).deploy
        )
        queues = self.open_queues(train, now, method == "manual")
        if queues:
            cap = (
                fixed.max_batch_size
                if fixed
                else self.flow.params.view(Release, now, train.team).max_batch_size
            )
            batch = self._owed_batch(train, queues, cap, now) or take_oldest(queues, cap)
            if fixed:
                hours = self.rng.gamma(fixed.deploy_hours, fixed.deploy_cv)
            else:
                hours = self.deployment.duration(method, train.team)
            if train.hazard is not None:
                train.hazard.released(batch, now)
            if self._recorded and self._owed(train, now) < len(self._recorded):
                train.served += self._recorded[train.served] <= now + 1e-9  # it ships a recorded release
            Later(self.env, hours, partial(self._deployed, train, batch, now, method))
            return
        self._wait(train, self.next_look(train, now, method == "manual"))

    def open_queues(self, train: ReleaseTrain, now: float, manual: bool) -> list[ReadyQueue]:
        """The train's non-empty queues whose cadence may deploy now."""
        ready = train.ready
        cal = self.calendar
        if len(ready) == 1:  # one cadence (no plan switching it): no list to build
            ((cadence, queue),) = ready.items()
            return (
                [queue]
                if queue
                and (
                    (cadence == "continuous" and not manual)  # always open
                    or cal.may_deploy(cadence, now, manual)
                    or (cadence == "when_ready" and self._hazard_due(train, now))
                    or (cadence == "irregular" and self._recorded_due(train, now))
                )
                else []
            )
        return [
            q
            for cadence, q in ready.items()
            if q
            and (
                cal.may_deploy(cadence, now, manual)
                or (cadence == "when_ready" and self._hazard_due(train, now))
                or (cadence == "irregular" and self._recorded_due(train, now))
            )
        ]

    @staticmethod
    def _hazard_due(train: ReleaseTrain, now: float) -> bool:
        if train.hazard is None:
            return False
        train.hazard.expire(now, RECORDED_DUE_HOURS)
        return train.hazard.due() <= now + 1e-9

    def next_look(self, train: ReleaseTrain, now: float, manual: bool) -> float | None:
        """When a queue with changes may next deploy (None: no future window; wait for work)."""
        wake = None
        for cadence, queue in train.ready.items():
            if queue:
                nxt = (
                    train.hazard.due()
                    if cadence == "when_ready" and train.hazard is not None
                    else self.calendar.next_opportunity(cadence, now, manual)
                )
                if nxt is not None and nxt > now and (wake is None or nxt < wake):
                    wake = nxt
        return wake

    def _wait(self, train: ReleaseTrain, window_at: float | None) -> None:
        train.signalled = False
        if window_at is None:  # nothing to wait for but work: no event until work arrives (see make_ready)
            train.ready_signal = None
            train.deployer = AWAITING_WORK
            return
        env = self.env
        train.ready_signal = signal = simpy.Event(env)
        train.deployer = AWAITING_WINDOW
        train.window_at = window_at
        (signal | env.timeout(window_at - env._now)).callbacks.append(partial(self._wakes, train))

    def _wakes(self, train: ReleaseTrain, _event: object = None) -> None:
        train.deployer = BUSY
        self._step(train)

    def _deployed(
        self, train: ReleaseTrain, batch: list[int], start: float, method: str, _event: object = None
    ) -> None:
        self.deployment.record(batch, train.team, start, False, method)
        train.u_method = self.rng.uniform()
        self._step(train)


def take_oldest(queues: list[ReadyQueue], cap: int) -> list[int]:
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
