"""Stage 5, deployment: how long a deployment takes, and what is written when it finishes.

Manual deploys take hours (``release.manual_deploy_hours``, slower while a phase ramps) and automated
ones minutes (``release.automated_deploy_minutes``). A finished deployment is recorded, marks its
changes' first deployment, and is handed to production to see whether it fails.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.model.constants import AUTOMATED_STEP_CV, MANUAL_DEPLOY_CV
from sim.model.flow.engine import Process
from sim.model.flow.state import FlowState
from sim.model.sections import Release

if TYPE_CHECKING:
    from sim.model.flow.production import ProductionStage


class DeploymentStage:
    """Deployments of every team (the release trains' and the hotfixes')."""

    def __init__(self, flow: FlowState) -> None:
        self.flow = flow
        self.env = flow.env
        self.rng = flow.streams["release"]
        self.production: (
            ProductionStage  # wired by the model (production deploys hotfixes through this stage)
        )

    def duration(self, method: str, team: int) -> float:
        """Hours a deployment by ``method`` takes now."""
        now = self.env._now
        release = self.flow.params.view(Release, now, team)
        if method == "manual":
            return self.rng.gamma(
                release.manual_deploy_hours * self.flow.slowdown(now, team), MANUAL_DEPLOY_CV
            )
        return self.rng.gamma(release.automated_deploy_minutes / 60.0, AUTOMATED_STEP_CV)

    def deploy(self, batch: list[int], team: int, unplanned: bool, method: str) -> Process:
        """A deployment as a step of a process (a hotfix): takes its time, then is recorded."""
        start = self.env.now
        yield self.env.timeout(self.duration(method, team))
        self.record(batch, team, start, unplanned, method)

    def record(self, batch: list[int], team: int, start: float, unplanned: bool, method: str) -> None:
        """A deployment finished now: record it, mark its changes' first deployment, and see if it fails."""
        flow = self.flow
        end = self.env._now
        index = flow.deployments.add(start, end, batch, unplanned, method, team)
        first_start, first_end = flow.changes.first_deploy_start, flow.changes.first_deploy_end
        for c in batch:
            if first_end[c] != first_end[c]:  # NaN: never deployed before
                first_start[c] = start
                first_end[c] = end
        self.production.check(index, batch, team, end, method)
