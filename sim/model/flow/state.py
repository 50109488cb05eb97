"""What every stage of one replication shares: the clock, the parameters, the calendar and the records."""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np
import simpy

from sim.model.calendar import Calendar
from sim.model.constants import MIN_CAPACITY_FACTOR
from sim.model.params import Schedule
from sim.model.rng import Stream
from sim.model.tables import ChangeTable, DeploymentTable, IncidentTable, UnitTable


def _no_changes() -> ChangeTable:
    empty = np.empty(0)
    return ChangeTable(empty, empty, empty, empty, empty, empty, empty)


@dataclass(eq=False)
class FlowState:
    """The shared state of one replication; each stage keeps its own state besides.

    Attributes:
        env: the SimPy environment (time in hours since the model's origin).
        params: every parameter at any time, for any team (plan phases ramp in).
        calendar: working hours and release windows.
        streams: one named random stream per source of randomness.
        teams: how many teams (0-based everywhere in the model).
        fast_paths: settings that never change during the run are worked out once; without it every
            look-up goes through the schedule, as during a plan (the tests prove both give the same logs).
        changes, units, deployments, incidents: the typed records the stages write.
        ci_waits: every single wait for a runner, in hours, when asked for (the queueing tests read
            it; a run needs only each unit's total, which the unit table keeps).
        conflicts: merges that conflicted.
    """

    env: simpy.Environment
    params: Schedule
    calendar: Calendar
    streams: dict[str, Stream]
    teams: int
    fast_paths: bool = True
    changes: ChangeTable = field(default_factory=_no_changes)
    units: UnitTable = field(default_factory=UnitTable)
    deployments: DeploymentTable = field(default_factory=DeploymentTable)
    incidents: IncidentTable = field(default_factory=IncidentTable)
    ci_waits: array | None = None
    conflicts: int = 0
    held_until: np.ndarray | None = None  # per change: not merged before then (held for a feature release)
    run_up: np.ndarray | None = (
        None  # per change (in the change table's order): made for a release, at any hour
    )

    def slowdown(self, t: float, team: int) -> float:
        """How much longer a team's human work takes while phases ramp (1.0 = no adoption cost)."""
        return 1.0 / max(self.params.capacity_factor(t, team), MIN_CAPACITY_FACTOR)

    def unchanging(self, keys: frozenset[str], *, costs_matter: bool = True) -> bool:
        """Whether none of ``keys`` changes during the run (and, when ``costs_matter``, no phase costs
        capacity or quality): a stage may then work the settings they decide out once."""
        return (
            self.fast_paths
            and self.params.dynamic.isdisjoint(keys)
            and not (costs_matter and self.params.has_costs)
        )
