"""The model's fast paths (settings worked out once when nothing changes during a run) are the general
rules array at a time: with them and without them, a replication writes exactly the same records.

Pinned pairs: trunk units formed in bulk vs change by change, a release train's static settings vs
the deploy-duration rule, CI settings worked out once vs at every run, and the defect odds and flags
of all changes at once vs one by one.
"""

from __future__ import annotations

from array import array

import numpy as np
import pytest

from sim.model.catalog import shipped_path
from sim.model.delivery import DeliveryModel
from sim.model.records import SimulationRecords
from sim.model.rng import replication_streams
from sim.model.scenario import load_scenario

CASES = [
    ("baseline", {}),
    ("elite", {}),  # trunk, continuous, automated
    ("trunk_based", {}),
    ("heroics", {}),
    ("small_batch", {"release.deploy": "manual"}),
    ("org_baseline", {"branching.strategy": "trunk", "release.max_batch_size": 3}),
    ("elite", {"branching.feature_flags": True, "team.overtime": 1.3}),
]


def _tables(records: SimulationRecords) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for name in ("changes", "units", "deployments", "incidents"):
        table = getattr(records, name)
        for slot in type(table).__slots__:
            values = getattr(table, slot)
            columns[f"{name}.{slot}"] = np.array(values.tolist() if isinstance(values, array) else values)
    columns["ci_waits"] = np.array(records.ci_waits)
    columns["conflicts"] = np.array(records.conflicts)
    return columns


def _simulate(name: str, overrides: dict[str, object], replication: int, fast_paths: bool) -> SimulationRecords:
    scenario = load_scenario(shipped_path(name), {**overrides, "days": 30})
    model = DeliveryModel(scenario, replication_streams(scenario.seed, replication), record_ci_waits=True,
                          fast_paths=fast_paths)
    return model.run()


@pytest.mark.parametrize(("name", "overrides"), CASES)
@pytest.mark.parametrize("replication", [0, 1])
def test_fast_and_general_paths_write_the_same_records(name: str, overrides: dict[str, object],
                                                        replication: int) -> None:
    fast = _tables(_simulate(name, overrides, replication, True))
    general = _tables(_simulate(name, overrides, replication, False))
    assert fast.keys() == general.keys()
    assert len(fast["changes.created"]) > 0
    for key in fast:
        np.testing.assert_array_equal(fast[key], general[key], err_msg=key)
