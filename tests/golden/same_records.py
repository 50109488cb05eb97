"""Comparing two replications' records exactly (used by the fast-path and engine tests)."""

from __future__ import annotations

from array import array

import numpy as np

from sim.model.records import SimulationRecords


def record_columns(records: SimulationRecords) -> dict[str, np.ndarray]:
    """Every column of a replication's four tables (``changes.created``, ``units.queue_hours``, ...)."""
    columns: dict[str, np.ndarray] = {}
    for name in ("changes", "units", "deployments", "incidents"):
        table = getattr(records, name)
        for slot in type(table).__slots__:
            values = getattr(table, slot)
            columns[f"{name}.{slot}"] = np.array(values.tolist() if isinstance(values, array) else values)
    columns["ci_waits"] = np.array(records.ci_waits)
    columns["conflicts"] = np.array(records.conflicts)
    return columns


def assert_same_records(a: SimulationRecords, b: SimulationRecords) -> None:
    """Two replications wrote exactly the same tables (NaN, "not yet", equals NaN here)."""
    left, right = record_columns(a), record_columns(b)
    assert left.keys() == right.keys()
    assert len(left["changes.created"]) > 0 and len(left["deployments.start"]) > 0
    for key in left:
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)
