"""Stage 2, branches and review: each engineer's changes are grouped into merge units, and merges conflict.

On ``long_lived`` branches an engineer's changes wait until the branch merges (lifetime ~ Gamma around
``branching.branch_lifetime_days``). On ``trunk`` each change merges on its own after a short review.
At merge, conflict risk rises with branch age and with the number of other branches of the same team
open: P = 1 − exp(−rate × age_days × other_open_branches). A conflict costs rework hours and
doubles the defect odds of the branch's changes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.model.constants import CONFLICT_REFERENCE_AGE_DAYS, CONFLICT_RESOLUTION_CV
from sim.model.flow.state import FlowState
from sim.model.flow.work import team_of
from sim.model.scenario import keys_deciding
from sim.model.sections import Branching
from sim.model.tables import column, int_column

# what decides how units form (declared on the fields): while none of them changes (and trunk is the
# strategy), units form in bulk
BRANCH_KEYS = keys_deciding("branches")


@dataclass(slots=True)
class FormedUnit:
    """A merge unit as it forms: a long-lived branch collecting an engineer's changes, or one trunk change."""

    start: float
    merge: float
    engineer: int
    team: int
    trunk: bool
    members: list[int] = field(default_factory=list)


class BranchStage:
    """Forms the merge units of the whole horizon (``form_units``) into the flow's unit table."""

    def __init__(self, flow: FlowState) -> None:
        self.flow = flow
        self.rng = flow.streams["branches"]
        # each engineer's draw for adopting a new branching strategy during a plan
        self.u_engineer = flow.streams["adoption"].generator.random(1000)

    def form_units(self) -> None:
        """Group each engineer's changes into merge units (in the order they merge) and decide conflicts."""
        if self._all_trunk_and_fixed():
            self._form_trunk_units()
            return
        formed = self._group_into_units()
        formed.sort(key=lambda u: (u.merge, u.start))
        starts = np.array([u.start for u in formed])
        merges = np.array([u.merge for u in formed])
        team = np.array([u.team for u in formed], dtype=np.int64)
        others = other_open_branches(starts, merges, team)
        ages = (merges - starts) / 24.0
        draws = self.rng.generator.random(len(formed))
        unit_of = self.flow.changes.unit
        units = self.flow.units
        for index, unit in enumerate(formed):
            for c in unit.members:
                unit_of[c] = index
            conflict_hours = self._conflict(
                unit.members, unit.merge, unit.team, float(ages[index]), int(others[index]), draws[index]
            )
            units.add(
                unit.start, unit.merge, unit.engineer, unit.team, unit.trunk, unit.members, conflict_hours
            )

    def _all_trunk_and_fixed(self) -> bool:
        flow = self.flow
        return flow.unchanging(BRANCH_KEYS) and flow.params.scenario.branching.strategy == "trunk"

    def _form_trunk_units(self) -> None:
        """Trunk, with nothing changing during the run: every change is its own unit, merged after review.

        The same draws and arithmetic as the change-by-change path, array at a time.
        """
        flow = self.flow
        changes = flow.changes
        # a copy: a view would pin the table's buffer (see ReleaseStage.start)
        created = np.array(changes.created)
        n = len(created)
        lifetime_h = flow.params.scenario.branching.branch_lifetime_days * 24.0 * 1.0
        merge = created + self.rng.exponentials(n) * lifetime_h
        if flow.held_until is not None:  # work held for a feature release merges just before it
            merge = np.maximum(merge, flow.held_until)
        # run-up work merges when it is made, at any hour (sim.model.flow.work); the rest in working hours
        merge = (
            flow.calendar.next_working_times(merge)
            if flow.run_up is None
            else np.where(flow.run_up, merge, flow.calendar.next_working_times(merge))
        )
        order = np.lexsort((created, merge))  # by merge, then start; ties keep the change order
        starts, merges = created[order], merge[order]
        del merge
        teams = column(changes.team)[order]
        conflict_hours = self._trunk_conflicts(order, starts, merges, teams)
        unit_of = np.empty(n, dtype=np.int32)
        unit_of[order] = np.arange(n, dtype=np.int32)
        changes.unit = int_column(unit_of)
        del unit_of
        engineers = column(changes.engineer)[order]
        flow.units.add_single_changes(starts, merges, engineers, teams, True, order, conflict_hours)

    def _trunk_conflicts(
        self, order: np.ndarray, starts: np.ndarray, merges: np.ndarray, teams: np.ndarray
    ) -> np.ndarray:
        """Rework hours of each trunk unit in merge order (0 = no conflict), deciding close calls exactly."""
        others = other_open_branches(starts, merges, teams)
        ages = (merges - starts) / 24.0
        n = len(starts)
        draws = self.rng.generator.random(n)
        rate = self.flow.params.scenario.branching.conflict_rate
        # NumPy's exp may differ from math.exp in the last bit: decide close calls exactly as one by one
        p_conflict = -rate * ages
        p_conflict *= others
        np.exp(p_conflict, out=p_conflict)
        np.subtract(1.0, p_conflict, out=p_conflict)
        maybe = np.flatnonzero(draws < p_conflict + 1e-12)
        del p_conflict
        conflict_hours = np.zeros(n)
        for index in maybe:
            conflict_hours[index] = self._conflict(
                [int(order[index])],
                float(merges[index]),
                int(teams[index]),
                float(ages[index]),
                int(others[index]),
                draws[index],
            )
        return conflict_hours

    def _group_into_units(self) -> list[FormedUnit]:
        """Every merge unit, in the order they open."""
        open_branch: dict[int, FormedUnit] = {}
        started: set[int] = set()
        formed: list[FormedUnit] = []
        engineer_of = self.flow.changes.engineer
        run_up, held = self.flow.run_up, self.flow.held_until
        for i, t in enumerate(self.flow.changes.created):
            e = engineer_of[i]
            if held is not None and held[i] > 0:  # on the development line: its own unit, merged just before
                formed.append(FormedUnit(t, float(held[i]), e, team_of(e, self.flow.teams), False, [i]))
                continue
            branch = open_branch.get(e)
            if branch is not None and t >= branch.merge:
                del open_branch[e]
                branch = None
            if branch is None:
                branch = self._open_unit(t, e, e in started, run_up is not None and bool(run_up[i]))
                formed.append(branch)
                if branch.trunk:
                    branch.members.append(i)
                    continue
                started.add(e)
                open_branch[e] = branch
            branch.members.append(i)
        return formed

    def _open_unit(self, t: float, engineer: int, started_before: bool, run_up: bool = False) -> FormedUnit:
        """The unit an engineer's change at ``t`` opens: one trunk change (run-up work merging at any hour),
        or a new long-lived branch."""
        flow = self.flow
        p = flow.params
        rng = self.rng
        team = team_of(engineer, flow.teams)
        branching = p.view(Branching, t, team, self.u_engineer[engineer % len(self.u_engineer)])
        # while a practice is being adopted people are learning: work takes longer (J-curve)
        lifetime_h = branching.branch_lifetime_days * 24.0 * flow.slowdown(t, team)
        if branching.strategy == "trunk":
            merge = t + rng.exponential(lifetime_h)
            return FormedUnit(
                t, merge if run_up else flow.calendar.next_working_time(merge), engineer, team, True
            )
        cv = branching.branch_lifetime_cv
        if started_before:
            life = rng.gamma(lifetime_h, cv)
        else:
            # the engineer's branch at the origin is already under way: its remaining life is the
            # stationary residual U x (length-biased lifetime), so branches do not all start in step
            shape = 1.0 / (cv * cv)
            life = rng.uniform() * rng.gamma(lifetime_h * (shape + 1) / shape, 1.0 / math.sqrt(shape + 1))
        return FormedUnit(t, flow.calendar.next_working_time(t + life), engineer, team, False)

    def _conflict(
        self, members: list[int], merge: float, team: int, age_days: float, others: int, draw: float
    ) -> float:
        """Rework hours if the merge conflicts (0 otherwise); a conflict raises its changes' defect odds."""
        flow = self.flow
        branching = flow.params.view(Branching, merge, team)
        if draw >= 1.0 - math.exp(-branching.conflict_rate * age_days * others):
            return 0.0
        flow.conflicts += 1
        mean = (
            branching.conflict_resolution_hours
            * (1.0 + age_days / CONFLICT_REFERENCE_AGE_DAYS)
            / 2.0
            * flow.slowdown(merge, team)
        )
        hours = self.rng.gamma(mean, CONFLICT_RESOLUTION_CV)
        multiplier = branching.conflict_defect_multiplier
        changes = flow.changes
        for c in members:
            changes.defective[c] = changes.u_defect[c] < min(1.0, changes.p_defect[c] * multiplier)
        return hours


def other_open_branches(starts: np.ndarray, merges: np.ndarray, team: np.ndarray) -> np.ndarray:
    """For each merge, how many other units of the same team are open at that moment (a team's codebase
    is its own: branches of other teams never conflict with it)."""
    others = np.zeros(len(starts), dtype=np.int64)
    for k in np.unique(team):
        mine = np.flatnonzero(team == k)
        s, m = starts[mine], merges[mine]
        open_now = np.searchsorted(np.sort(s), m, "right") - np.searchsorted(np.sort(m), m, "right")
        others[mine] = np.maximum(open_now - 1, 0)
    return others
