"""Stage 1, work: engineers finish changes in working hours (Mon–Fri) across the whole horizon.

``team.overtime`` adds evening and weekend hours at lower productivity (``team.overtime_productivity``)
and fatigue raises the defect rate. Every change's completion time, engineer, defect odds and draws
are decided up front, array at a time: the later stages only read them.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from sim.model.flow.state import FlowState
from sim.model.release_process import state_hours
from sim.model.scenario import keys_deciding
from sim.model.sections import Branching, Quality, Team
from sim.model.tables import ChangeTable

# what decides the defect odds and flags (declared on the fields): while none of them changes, they are worked
# out for all changes at once
WORK_KEYS = keys_deciding("work")
RUN_UP_MARGIN_HOURS = 2.0  # run-up work is made this long before the window at the latest (CI, merge)
FIX_WORK_HOURS = 4.0  # a fix-up's change is made within this many working hours of its release
MONTH_DAYS = 30  # the output varies from block to block of this many days (team.output_spread)


def team_of(engineer: int, teams: int) -> int:
    """Engineers are dealt to teams in turn (0-based), so headcount changes keep everyone's team."""
    return engineer % teams


def team_size(team: int, engineers: int, teams: int) -> int:
    return (engineers - team + teams - 1) // teams if team < engineers else 0


class WorkSegments:
    """The work segments of the horizon that produced changes: first hour, length, team and raw draws."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.lengths: list[float] = []
        self.teams: list[int] = []
        self.counts: list[int] = []
        self.within: list[np.ndarray] = []  # each change's place in its segment, U(0, 1)
        self.whose: list[np.ndarray] = []  # each change's engineer within its team


class WorkStage:
    """Draws every change of the horizon (``generate``) into the flow's change table."""

    def __init__(self, flow: FlowState, total_days: int) -> None:
        self.flow = flow
        self.total_days = total_days
        # the output's month-to-month factors (team.output_spread; None = steady), from
        # sim.model.release_process.output_month_factors
        self.month_factors: np.ndarray | None = None

    def generate(self) -> None:
        """Draw every change's completion time, engineer and defect odds for the whole horizon."""
        flow = self.flow
        segments = self._segments()
        if not segments.counts:
            return
        counts, teams = segments.counts, flow.teams
        # the arithmetic is done once for all segments (the same floats, element by element)
        t_all = np.repeat(segments.starts, counts) + np.repeat(segments.lengths, counts) * np.concatenate(
            segments.within
        )
        t_all, run_up = self._run_up(t_all)
        t_all, run_up = self._recorded_work(self._fix_ups(t_all), run_up)
        e_all = np.repeat(segments.teams, counts) + teams * np.concatenate(segments.whose)
        order = np.argsort(t_all, kind="stable")
        t_all, e_all = t_all[order], e_all[order]
        flow.run_up = None if run_up is None else run_up[order]
        flow.held_until = held = self._held(t_all, flow.run_up)
        if held is not None:  # merged as its feature release is cut, at any hour, as run-up work is
            flow.run_up = held > 0 if flow.run_up is None else flow.run_up | (held > 0)
        team_all = e_all % teams
        n = len(t_all)
        # one row of draws per change, so change i keeps its draws when output elsewhere changes
        u_defect = flow.streams["quality"].generator.random(n)
        u_adopt, u_flag = flow.streams["adoption"].generator.random((n, 2)).T
        p_defect, flagged = self.defect_odds_and_flags(t_all, team_all, u_adopt, u_flag)
        flow.changes = ChangeTable(t_all, e_all, team_all, p_defect, u_defect, u_adopt, flagged)

    def _run_up(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """A team releasing irregularly makes ``release.prep_share`` of its changes in the run-up to a
        release: each such change is made instead within ``release.prep_hours`` before the first release
        window it could still reach (:data:`RUN_UP_MARGIN_HOURS` before it opens, time to pass CI). Whoever
        cuts a release does its finishing work then, at night or at a weekend too: the second array marks
        those changes, which merge without waiting for working hours (sim.model.flow.branches)."""
        release = self.flow.params.scenario.release
        opens = self.flow.calendar.irregular_opens
        if release.prep_share <= 0 or release.cadence != "irregular" or not opens or not len(t):
            return t, None
        u_pick, u_place = self.flow.streams["release_prep"].generator.random((2, len(t)))
        windows = np.asarray(opens)
        i = np.searchsorted(windows, t + RUN_UP_MARGIN_HOURS, side="left")
        reachable = i < len(windows)
        target = windows[np.minimum(i, len(windows) - 1)] - RUN_UP_MARGIN_HOURS - u_place * release.prep_hours
        moved = (u_pick < release.prep_share) & reachable & (target > t)
        return np.where(moved, target, t), moved

    def _held(self, t: np.ndarray, run_up: np.ndarray | None) -> np.ndarray | None:
        """Work on the development line (``release.held_share``): a change whose next recorded release is a patch
        release is, with that chance, held until :data:`RUN_UP_MARGIN_HOURS` before the next recorded feature
        release (or the state day, when the record shows none): the hour it may merge, 0 if not held. Run-up
        work is made for its release and is never held. ``t`` is sorted."""
        calendar = self.flow.calendar
        release = self.flow.params.scenario.release
        if release.held_share <= 0 or not calendar.recorded_patches or not len(t):
            return None
        recorded, patches = np.asarray(calendar.recorded_opens), calendar.recorded_patches
        state = state_hours(self.flow.params.scenario)
        features = np.array([*(r for r in calendar.recorded_opens if r not in patches), state])
        u = self.flow.streams["release_lines"].generator.random(len(t))
        i = np.searchsorted(recorded, t + RUN_UP_MARGIN_HOURS, side="left")
        next_patch = np.isin(recorded[np.minimum(i, len(recorded) - 1)], patches) & (i < len(recorded))
        j = np.minimum(np.searchsorted(features, t + RUN_UP_MARGIN_HOURS, side="left"), len(features) - 1)
        held = (u < release.held_share) & next_patch
        if run_up is not None:
            held &= ~run_up
        return np.where(held, features[j] - RUN_UP_MARGIN_HOURS, 0.0)

    def _fix_ups(self, t: np.ndarray) -> np.ndarray:
        """Fix-up releases (``release.fixup_share``): after a release window, with that chance, the first change
        due after it is made at the next working moment instead (within :data:`FIX_WORK_HOURS`), and a second
        window opens :data:`RUN_UP_MARGIN_HOURS` later to ship it, unless the next release comes first."""
        calendar = self.flow.calendar
        share = self.flow.params.scenario.release.fixup_share
        opens = calendar.irregular_opens
        if share <= 0 or not opens or not len(t):
            return t
        rng = self.flow.streams["release_prep"].generator
        order = np.argsort(t, kind="stable")
        due, t, added = t[order], t.copy(), []
        u_pick, u_work = rng.random((2, len(opens)))
        after = calendar.next_working_times(
            np.asarray(opens) + calendar.window_hours + u_work * FIX_WORK_HOURS
        )
        replayed = calendar.recorded_opens  # the logs' releases already hold their fix-ups
        until = replayed[-1] if replayed else -math.inf
        k = 0
        for i, made in enumerate(after):
            k = max(k, int(np.searchsorted(due, opens[i], side="right")))
            window = made + RUN_UP_MARGIN_HOURS
            if (
                opens[i] <= until
                or u_pick[i] >= share
                or k >= len(order)
                or i + 1 >= len(opens)
                or window >= opens[i + 1]
            ):
                continue
            t[order[k]] = min(made, due[k])
            added.append(float(window))
            k += 1
        calendar.fixup_opens = added
        calendar.irregular_opens = sorted([*opens, *added])
        return t

    def _recorded_work(
        self, t: np.ndarray, run_up: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Every recorded release of the replayed past shipped work: when no change is due between one (or the
        window's start) and :data:`RUN_UP_MARGIN_HOURS` before the next, the first change due after it is made
        in that span instead (uniformly; between the two, when they are closer than that), so the next recorded
        release has something to ship. Such a change is run-up work (made and merged at any hour)."""
        recorded = self.flow.calendar.recorded_opens
        if not recorded or not len(t):
            return t, run_up
        run_up = np.zeros(len(t), dtype=bool) if run_up is None else run_up.copy()
        start = (
            self.flow.params.scenario.simulation.warmup_days * 24.0
        )  # the record is quiet from the window's start
        recorded = [start, *recorded] if recorded[0] > start else recorded
        u = self.flow.streams["release_prep"].generator.random(len(recorded))
        order = np.argsort(t, kind="stable")
        due, t = t[order], t.copy()
        k = 0
        for i, (a, b) in enumerate(itertools.pairwise(recorded)):
            last = b - RUN_UP_MARGIN_HOURS
            k = max(k, int(np.searchsorted(due, a, side="right")))
            made = int(np.searchsorted(due, last, side="right"))
            if made > k:
                k = made
            elif k < len(order):
                t[order[k]] = a + u[i] * ((last if last > a else b) - a)
                run_up[order[k]] = True
                k += 1
        return t, run_up

    def _segments(self) -> WorkSegments:
        """Per day and team, how many changes each working segment produced (Poisson) and their draws."""
        flow = self.flow
        rng = flow.streams["work"].generator
        p = flow.params
        teams = flow.teams
        out = WorkSegments()
        for day in range(self.total_days):
            t_day = day * 24.0 + 12.0
            whole = p.view(Team, t_day)  # headcount, hours and the calendar are the organisation's
            people = max(teams, int(whole.engineers))
            segments = flow.calendar.work_segments(day, whole.overtime)
            for team in range(teams):
                size = team_size(team, people, teams)
                mine = p.view(Team, t_day, team)
                rate_per_hour = mine.changes_per_engineer_per_day / whole.working_hours_per_day
                capacity = p.capacity_factor(t_day, team)
                if self.month_factors is not None:
                    capacity *= float(self.month_factors[day // MONTH_DAYS])
                tired_output = mine.overtime_productivity
                cluster = mine.change_cluster
                for start, length, tired in segments:
                    expected = size * length * rate_per_hour * capacity * (tired_output if tired else 1.0)
                    if cluster > 1.0:
                        self._bursts(out, rng, expected, cluster, day * 24.0 + start, length, team, size)
                        continue
                    n = int(rng.poisson(expected)) if expected > 0 else 0
                    if n:
                        out.starts.append(day * 24.0 + start)
                        out.lengths.append(length)
                        out.teams.append(team)
                        out.counts.append(n)
                        out.within.append(rng.random(n))
                        out.whose.append(rng.integers(0, size, n))
        return out

    @staticmethod
    def _bursts(
        out: WorkSegments,
        rng: np.random.Generator,
        expected: float,
        cluster: float,
        start: float,
        length: float,
        team: int,
        size: int,
    ) -> None:
        """Changes in bursts (``team.change_cluster``): Poisson bursts of geometric size, one engineer and one
        moment each, so the segment's expected output is unchanged."""
        bursts = int(rng.poisson(expected / cluster)) if expected > 0 else 0
        if not bursts:
            return
        sizes = rng.geometric(1.0 / cluster, bursts)
        out.starts.append(start)
        out.lengths.append(length)
        out.teams.append(team)
        out.counts.append(int(sizes.sum()))
        out.within.append(np.repeat(rng.random(bursts), sizes))
        out.whose.append(np.repeat(rng.integers(0, size, bursts), sizes))

    def defect_odds_and_flags(
        self, t_all: np.ndarray, team_all: np.ndarray, u_adopt: np.ndarray, u_flag: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each change's defect probability (fatigue and adoption cost included) and whether it is flagged."""
        if self.flow.unchanging(WORK_KEYS):
            return self._fixed_defect_odds_and_flags(len(t_all), u_flag)
        p = self.flow.params
        n = len(t_all)
        p_def = np.empty(n)
        flagged = np.empty(n, dtype=bool)
        for i in range(n):
            t, team = float(t_all[i]), int(team_all[i])
            work = p.view(Team, t, team)
            fatigue = 1.0 + work.fatigue_defect_factor * (work.overtime - 1.0)
            p_def[i] = min(1.0, p.view(Quality, t, team).defect_rate * fatigue * p.defect_factor(t, team))
            branching = p.view(Branching, t, team, u_adopt[i])
            flagged[i] = bool(branching.feature_flags) and u_flag[i] < branching.flag_coverage
        return p_def, flagged

    def _fixed_defect_odds_and_flags(self, n: int, u_flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`defect_odds_and_flags` when nothing deciding them changes: one value for every change."""
        s = self.flow.params.scenario
        fatigue = 1.0 + s.team.fatigue_defect_factor * (s.team.overtime - 1.0)
        p_def = np.full(n, min(1.0, s.quality.defect_rate * fatigue))
        flagged = (u_flag < s.branching.flag_coverage) & bool(s.branching.feature_flags)
        return p_def, flagged
