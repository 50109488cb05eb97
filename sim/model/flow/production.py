"""Stage 6, production: deployments that fail, incidents, and the three ways back.

A deployment fails when a shipped defect fires (risk 1 − (1 − p)^n for n changes) or its manual
checklist failed. After detection (``operations.detect_minutes``) it is restored by a feature-flag
flip (every culprit behind a flag), an automated rollback, or hand diagnosis by a scarce expert (a
capacity-limited ``Resource`` shared by every team: incidents queue) whose time grows with
log2(batch size), followed by an untested, unplanned hotfix deployment. Fixed changes come back:
a flag flip's proper fix goes through CI; rolled-back changes return to the release train.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import simpy

from sim.model.constants import AUTOMATED_STEP_CV, HOTFIX_DIAGNOSIS_CV
from sim.model.flow.engine import Process
from sim.model.flow.state import FlowState
from sim.model.sections import Operations, Quality, Release
from sim.model.tables import NONE

RIDE_LEAD_HOURS = 1 / 60  # a fix riding a recorded release joins its train this long before the window opens

if TYPE_CHECKING:
    from sim.model.flow.ci import CIStage
    from sim.model.flow.deployment import DeploymentStage
    from sim.model.flow.release import ReleaseStage


class ProductionStage:
    """Failures in production and how they are restored, with the shared pool of experts."""

    def __init__(
        self, flow: FlowState, experts: int, ci: CIStage, release: ReleaseStage, deployment: DeploymentStage
    ) -> None:
        self.flow = flow
        self.env = flow.env
        self.experts = simpy.Resource(flow.env, capacity=experts)
        self.ci = ci
        self.release = release
        self.deployment = deployment
        self.rng = flow.streams["production"]
        self.restore_rng = flow.streams["restore"]

    def check(self, deployment: int, batch: list[int], team: int, end: float, method: str) -> None:
        """Whether the deployment fails: a checklist error at once, or an escaped defect that fires later."""
        rng = self.rng
        p = self.flow.params
        checklist_error = method == "manual" and rng.uniform() < min(
            1.0, p.view(Release, end, team).manual_error_rate * p.defect_factor(end, team)
        )
        defective = self.flow.changes.defective
        escaped = [c for c in batch if defective[c]]
        delay = rng.exponential(p.view(Operations, end, team).fire_delay_hours) if escaped else math.inf
        if checklist_error:
            fire = end
        elif escaped:
            fire = end + delay
        else:
            return
        self.env.process(self.incident(deployment, batch, team, fire, escaped, checklist_error))

    def incident(
        self,
        deployment: int,
        batch: list[int],
        team: int,
        fire: float,
        escaped: list[int],
        checklist_error: bool,
    ) -> Process:
        """A failure hurts users from ``fire``; after detection it is restored by a flag, a rollback or by hand."""
        env = self.env
        rng = self.restore_rng
        p = self.flow.params
        u_incident = rng.uniform()
        if fire > env.now:
            yield env.timeout(fire - env.now)
        incident = self.flow.incidents.add(deployment, env.now)
        yield env.timeout(rng.exponential(p.view(Operations, env.now, team).detect_minutes / 60.0))
        flagged = self.flow.changes.flagged
        if not checklist_error and escaped and all(flagged[c] for c in escaped):
            yield from self.flip_flag(incident, team, escaped)
        elif p.view(Operations, env.now, team, u_incident).automated_rollback:
            yield from self.roll_back(incident, team, batch, escaped)
        else:
            yield from self.hotfix(incident, team, batch, escaped)

    def flip_flag(self, incident: int, team: int, escaped: list[int]) -> Process:
        """Every culprit is behind a flag: switch them off; the proper fix ships later as a normal change."""
        env = self.env
        minutes = self.flow.params.view(Operations, env.now, team).flag_flip_minutes
        yield env.timeout(self.restore_rng.gamma(minutes / 60.0, AUTOMATED_STEP_CV))
        self.flow.incidents.resolve(incident, env.now, "flag")
        defective = self.flow.changes.defective
        for c in escaped:
            defective[c] = False  # switched off now, fixed later by a follow-up change
        env.process(self.follow_up_fix(len(escaped), team))

    def roll_back(self, incident: int, team: int, batch: list[int], escaped: list[int]) -> Process:
        """Health checks roll the deployment back (itself an unplanned deployment of nothing)."""
        env = self.env
        minutes = self.flow.params.view(Operations, env.now, team).rollback_minutes
        yield env.timeout(self.restore_rng.gamma(minutes / 60.0, AUTOMATED_STEP_CV))
        self.flow.deployments.add(env.now, env.now, [], True, "automated", team)
        self.flow.incidents.resolve(incident, env.now, "rollback")
        env.process(self.return_rolled_back(batch, team, escaped))

    def hotfix(self, incident: int, team: int, batch: list[int], escaped: list[int]) -> Process:
        """An expert (incidents queue for them) diagnoses by hand and ships an untested hotfix."""
        env = self.env
        asked = env.now
        with self.experts.request() as req:
            yield req
            self.flow.incidents.set_path(incident, "hotfix" if env.now == asked else "hotfix_queued")
            yield env.timeout(
                self.restore_rng.gamma(self._diagnosis_hours(team, len(batch)), HOTFIX_DIAGNOSIS_CV)
            )
            fix = self._write_hotfix(team, escaped)
            method = self.flow.params.view(Release, env.now, team, self.restore_rng.uniform()).deploy
            ride = self.release.next_recorded(env.now + RIDE_LEAD_HOURS)
            hold = self.release.record_holds(env.now)
            if ride is None and hold is None:
                yield from self.deployment.deploy([fix], team, unplanned=True, method=method)
                self.flow.incidents.resolve(incident, env.now)
                return
        if ride is None and hold is not None:
            # after the record's last release nothing ships before the state day: nor does the fix
            yield env.timeout(hold - env.now)
            yield from self.deployment.deploy([fix], team, unplanned=True, method=method)
            self.flow.incidents.resolve(incident, env.now)
            return
        # in the replayed past the team's fixes shipped in its recorded releases: this one joins the next
        assert ride is not None
        yield env.timeout(ride - RIDE_LEAD_HOURS - env.now)
        self.release.make_ready([fix], team)
        yield env.timeout(RIDE_LEAD_HOURS)
        self.flow.incidents.resolve(incident, env.now)

    def repair_open_incidents(self, state_hours: float) -> None:
        """The incidents the state records as open (``operations.open_incidents``, shared among the teams): from
        the state day each takes an expert's hand diagnosis and an untested fix, deployed unplanned. The
        incidents themselves lie before the state, in the logs it was read from; the run adds their repair."""
        for i in range(self.flow.params.scenario.operations.open_incidents):
            self.env.process(self._repair(i % self.flow.teams, state_hours))

    def _repair(self, team: int, at: float) -> Process:
        env = self.env
        if at > env.now:
            yield env.timeout(at - env.now)
        with self.experts.request() as req:
            yield req
            yield env.timeout(self.restore_rng.gamma(self._diagnosis_hours(team, 1), HOTFIX_DIAGNOSIS_CV))
            fix = self._write_hotfix(team, [])
            method = self.flow.params.view(Release, env.now, team, self.restore_rng.uniform()).deploy
            yield from self.deployment.deploy([fix], team, unplanned=True, method=method)

    def _diagnosis_hours(self, team: int, batch_size: int) -> float:
        """Mean hours of hand diagnosis: longer for bigger batches and while a phase ramps."""
        now = self.env.now
        operations = self.flow.params.view(Operations, now, team)
        growth = operations.diagnosis_growth
        return (
            operations.hotfix_hours
            * self.flow.slowdown(now, team)
            * (1.0 + growth * math.log2(max(1, batch_size)))
        )

    def _write_hotfix(self, team: int, escaped: list[int]) -> int:
        """The escaped defects are fixed by a new change that skips CI, and so may carry a defect itself."""
        now = self.env.now
        rng = self.restore_rng
        p = self.flow.params
        changes = self.flow.changes
        for c in escaped:
            changes.defective[c] = False
        fix = changes.add(now, NONE, team, 0.0, 1.0, rng.uniform(), False)
        # a rushed hotfix skips CI: it carries a defect with the ordinary defect rate
        changes.defective[fix] = rng.uniform() < min(
            1.0, p.view(Quality, now, team).defect_rate * p.defect_factor(now, team)
        )
        changes.first_ready[fix] = now
        return fix

    def follow_up_fix(self, defects: int, team: int) -> Process:
        """After a flag flip the defect is fixed properly and ships through the normal pipeline."""
        env = self.env
        rng = self.restore_rng
        flow = self.flow
        yield env.timeout(rng.exponential(flow.params.view(Quality, env.now, team).fix_hours) * defects)
        c = flow.changes.add(env.now, NONE, team, 0.0, 1.0, rng.uniform(), False)
        unit = flow.units.add(env.now, env.now, NONE, team, False, [c])
        flow.changes.unit[c] = unit
        self.ci.start(unit)

    def return_rolled_back(self, changes: list[int], team: int, escaped: list[int]) -> Process:
        """Rolled-back changes go back to the release queue; the defective ones after a fix."""
        env = self.env
        bad = set(escaped)
        good = [c for c in changes if c not in bad]
        if good:
            self.release.make_ready(good, team)
        if escaped:
            hours = self.restore_rng.exponential(self.flow.params.view(Quality, env.now, team).fix_hours)
            yield env.timeout(hours * len(escaped))
            defective = self.flow.changes.defective
            for c in escaped:
                defective[c] = False
            self.release.make_ready(escaped, team)
