"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import pytest

from sim.metrics.logs import EventLogs, make_logs

CHANGE_COLUMNS = ["change_id", "time_created"]
DEPLOY_COLUMNS = ["deploy_id", "time_created", "change_ids", "unplanned"]
INCIDENT_COLUMNS = ["incident_id", "time_created", "time_resolved", "deploy_id"]


def build_logs(
    changes: Sequence[tuple] = (), deployments: Sequence[tuple] = (), incidents: Sequence[tuple] = ()
) -> EventLogs:
    """Logs from tuples: (id, created); (id, created, change_ids[, unplanned]);
    (id, created, resolved or None, deploy_id or None). Timestamps are ISO strings."""
    deployments = [tuple(row) + (False,) * (4 - len(row)) for row in deployments]
    return make_logs(
        pd.DataFrame(list(changes), columns=CHANGE_COLUMNS),
        pd.DataFrame(deployments, columns=DEPLOY_COLUMNS),
        pd.DataFrame(list(incidents), columns=INCIDENT_COLUMNS),
    )


@pytest.fixture(scope="session")
def logs_from() -> Callable[..., EventLogs]:
    """``logs_from(changes, deployments, incidents)``: see :func:`build_logs`."""
    return build_logs
