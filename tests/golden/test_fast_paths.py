"""The model's fast paths (settings worked out once when nothing changes during a run) are the general
rules array at a time: with them and without them, a replication writes exactly the same records.

Pinned pairs: trunk units formed in bulk vs change by change, a release train's static settings vs
the deploy-duration rule, CI settings worked out once vs at every run, and the defect odds and flags
of all changes at once vs one by one.
"""

from __future__ import annotations

import pytest

from sim.model.catalog import shipped_path
from sim.model.delivery import DeliveryModel
from sim.model.records import SimulationRecords
from sim.model.rng import replication_streams
from sim.model.scenario import load_scenario
from tests.golden.same_records import assert_same_records

CASES = [
    ("baseline", {}),
    ("elite", {}),  # trunk, continuous, automated
    ("trunk_based", {}),
    ("heroics", {}),
    ("small_batch", {"release.deploy": "manual"}),
    ("org_baseline", {"branching.strategy": "trunk", "release.max_batch_size": 3}),
    ("elite", {"branching.feature_flags": True, "team.overtime": 1.3}),
]


def _simulate(
    name: str, overrides: dict[str, object], replication: int, fast_paths: bool
) -> SimulationRecords:
    scenario = load_scenario(shipped_path(name), {**overrides, "days": 30})
    model = DeliveryModel(
        scenario, replication_streams(scenario.seed, replication), record_ci_waits=True, fast_paths=fast_paths
    )
    return model.run()


@pytest.mark.parametrize(("name", "overrides"), CASES)
@pytest.mark.parametrize("replication", [0, 1])
def test_fast_and_general_paths_write_the_same_records(
    name: str, overrides: dict[str, object], replication: int
) -> None:
    assert_same_records(
        _simulate(name, overrides, replication, True), _simulate(name, overrides, replication, False)
    )
