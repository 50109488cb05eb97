"""The delivery model (docs/model.md): how changes travel from an engineer to production.

One replication = one SimPy environment. Time is in hours since the origin, which is
``simulation.warmup_days`` before the scenario's ``start`` so that branches, queues and release
trains are already full when the scored window opens.

An organisation (``org.teams``) is several teams: each has its own engineers (dealt to teams in
turn), branches, release train and deployable service; the CI runner pool and the experts are
shared, so a slow shared CI or a single expert hurts every team.

Each stage of a change's flow is one module of :mod:`sim.model.flow`, owning its own state:

1. **Work** (``work``) — engineers finish changes in working hours; overtime adds tired hours and defects.
2. **Branches and review** (``branches``) — changes are grouped into merge units; merges may conflict.
3. **CI** (``ci``) — units queue for a shared runner, run the suite, are re-run, skipped or fixed.
4. **Release trains** (``release``) — ready changes wait for their cadence and ship in batches.
5. **Deployment** (``deployment``) — a deployment takes its time and is recorded.
6. **Production** (``production``) — failures, incidents, and restore by flag, rollback or expert.

This module wires them, starts the flow and runs the clock. The model writes typed tables
(:mod:`sim.model.records`) and turns them into the docs/logs.md logs at the end. Every fixed number
it uses is a named constant in :mod:`sim.model.constants`.
"""

from __future__ import annotations

import datetime as dt
import gc
from array import array

from sim.model.calendar import Calendar
from sim.model.flow.branches import BranchStage
from sim.model.flow.ci import CIStage
from sim.model.flow.deployment import DeploymentStage
from sim.model.flow.engine import Environment, drop_pending
from sim.model.flow.production import ProductionStage
from sim.model.flow.release import ReleaseStage
from sim.model.flow.state import FlowState
from sim.model.flow.work import WorkStage, team_of, team_size
from sim.model.params import Phase, Schedule
from sim.model.records import SimulationRecords
from sim.model.release_process import (
    draw_parameters,
    irregular_opens,
    output_month_factors,
    recorded_opens,
    recorded_patches,
    uses_irregular,
)
from sim.model.rng import Stream, replication_streams
from sim.model.scenario import Scenario

__all__ = ["DeliveryModel", "replication_streams", "simulate", "team_of", "team_size"]


class DeliveryModel:
    """One replication of the delivery pipeline of an organisation of teams. Build, then call :meth:`run`.

    Args:
        scenario: the validated scenario.
        streams: one named random stream per source of randomness (:func:`replication_streams`).
        phases: plan phases ramping in during the run.
        record_ci_waits: keep every single wait for a runner (the queueing tests read them).
        fast_paths: work settings that never change out once (off: every look-up goes through the
            schedule; the tests prove both give the same records).
    """

    def __init__(
        self,
        scenario: Scenario,
        streams: dict[str, Stream],
        phases: tuple[Phase, ...] = (),
        *,
        record_ci_waits: bool = False,
        fast_paths: bool = True,
    ):
        self.scenario = scenario
        warmup = scenario.simulation.warmup_days
        self.origin = scenario.start - dt.timedelta(days=warmup)
        self.total_days = warmup + scenario.days
        self.window_start = warmup * 24.0
        self.window_end = self.total_days * 24.0
        self.env = Environment()
        params = Schedule(scenario, phases, origin_offset_hours=self.window_start)
        self.flow = FlowState(
            env=self.env,
            params=params,
            calendar=self._calendar(params, streams),
            streams=streams,
            teams=scenario.org.teams,
            fast_paths=fast_paths,
            ci_waits=array("d") if record_ci_waits else None,
        )
        self._wire_stages(streams)

    def _calendar(self, params: Schedule, streams: dict[str, Stream]) -> Calendar:
        """Working hours and release windows of the run, with drawn windows when a cadence needs them."""
        scenario = self.scenario
        calendar = Calendar(
            self.origin, self.total_days, scenario.team.working_hours_per_day, scenario.release.window_hours
        )
        calendar.recorded_opens = recorded_opens(scenario)
        calendar.recorded_patches = recorded_patches(scenario, calendar.recorded_opens)
        if uses_irregular(scenario) or "release.cadence" in params.dynamic:  # drawn release windows
            calendar.irregular_opens = irregular_opens(
                scenario, streams["release_gaps"].generator, (self.total_days + 40) * 24.0, self.window_start
            )
        return calendar

    def _wire_stages(self, streams: dict[str, Stream]) -> None:
        """Build the stages of the flow, each given the ones it hands work to."""
        scenario = self.scenario
        self.work = WorkStage(self.flow, self.total_days)
        self.work.month_factors = output_month_factors(
            scenario, streams["parameters"].generator, self.total_days
        )
        self.branches = BranchStage(self.flow)
        self.deployment = DeploymentStage(self.flow)
        self.release = ReleaseStage(self.flow, self.deployment)
        self.ci = CIStage(self.flow, scenario.ci.runners, self.release)
        self.production = ProductionStage(
            self.flow, scenario.operations.experts, self.ci, self.release, self.deployment
        )
        self.deployment.production = self.production

    def run(self) -> SimulationRecords:
        # The run makes no reference cycles that outlive their step (each event lets go of its
        # callbacks once processed), so the cycle collector would only re-scan every long-lived object
        # of the program again and again: it pauses while the model runs.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.start()
            self.env.run_to(self.window_end)
            drop_pending(self.env)
        finally:
            if collecting:
                gc.enable()
        return self.records()

    def start(self) -> None:
        """Set the flow going: every change of the horizon is drawn and grouped into merge units up front,
        then the units arrive at CI in merge order and every team's release train starts (empty)."""
        self.work.generate()
        self.branches.form_units()
        self.ci.start_arrivals()
        self.release.start()
        state = self.release.state_hours()
        if state is not None and self.scenario.operations.open_incidents:
            self.production.repair_open_incidents(state)

    def records(self) -> SimulationRecords:
        flow = self.flow
        return SimulationRecords(
            scenario=self.scenario,
            origin=self.origin,
            window_start=self.window_start,
            window_end=self.window_end,
            changes=flow.changes,
            units=flow.units,
            deployments=flow.deployments,
            incidents=flow.incidents,
            ci_waits=flow.ci_waits if flow.ci_waits is not None else array("d"),
            conflicts=flow.conflicts,
            merges=len(flow.units),
            teams=flow.teams,
        )


def simulate(
    scenario: Scenario, root_seed: int | None = None, replication: int = 0, phases: tuple[Phase, ...] = ()
) -> SimulationRecords:
    """Run one replication and return its records (simulation hours)."""
    seed = scenario.seed if root_seed is None else root_seed
    streams = replication_streams(seed, replication)
    scenario = draw_parameters(scenario, streams["parameters"].generator)  # itself unless it carries evidence
    return DeliveryModel(scenario, streams, phases).run()
