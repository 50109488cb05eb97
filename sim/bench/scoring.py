"""Benchmark of :func:`sim.metrics.scoring.score` on large synthetic logs (used by ``python -m sim bench``)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from sim.metrics.scoring import NS_PER_DAY, NS_PER_HOUR, score

_EPOCH = pd.Timestamp("2024-01-01", tz="UTC").value


def _ids(prefix: str, count: int) -> np.ndarray:
    return np.char.add(prefix, np.arange(count).astype(str))


def synthetic_logs(
    n_changes: int, n_deployments: int, seed: int = 0, days: int = 365
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A year of logs: each change ships with the first deployment after it; ~10 % of
    deployments cause an incident; ~5 % of changes are still undeployed at the end."""
    rng = np.random.default_rng(seed)
    horizon = days * NS_PER_DAY
    change_t = _EPOCH + np.sort(rng.integers(0, horizon, n_changes))
    deploy_t = _EPOCH + np.sort(rng.integers(0, int(horizon * 0.95), n_deployments))
    change_ids = _ids("C", n_changes)
    deploy_ids = _ids("D", n_deployments)

    shipped_by = np.searchsorted(deploy_t, change_t, side="left")
    shipped = shipped_by < n_deployments
    listed = pd.Series(change_ids[shipped]).groupby(shipped_by[shipped]).agg(" ".join)
    change_lists = listed.reindex(range(n_deployments), fill_value="").to_numpy()

    n_incidents = max(n_deployments // 10, 1) if n_deployments else 0
    caused_by = rng.integers(0, max(n_deployments, 1), n_incidents)
    began = deploy_t[caused_by] if n_deployments else np.full(n_incidents, _EPOCH)
    began = began + rng.exponential(NS_PER_HOUR, n_incidents).astype(np.int64)
    resolved = began + rng.exponential(3 * NS_PER_HOUR, n_incidents).astype(np.int64)
    incident_deploy = np.where(
        rng.random(n_incidents) < 0.9, deploy_ids[caused_by] if n_deployments else "", ""
    )

    def stamps(ns: np.ndarray) -> pd.Series:
        return pd.Series(pd.to_datetime(ns, unit="ns", utc=True))

    changes = pd.DataFrame({"change_id": change_ids, "time_created": stamps(change_t)})
    deployments = pd.DataFrame(
        {
            "deploy_id": deploy_ids,
            "time_created": stamps(deploy_t),
            "change_ids": pd.Series(change_lists, dtype="str"),
            "unplanned": rng.random(n_deployments) < 0.05,
        }
    )
    incidents = pd.DataFrame(
        {
            "incident_id": _ids("I", n_incidents),
            "time_created": stamps(began),
            "time_resolved": stamps(resolved),
            "deploy_id": pd.Series(incident_deploy, dtype="str").replace("", None),
        }
    )
    return changes, deployments, incidents


def bench_scoring(n_changes: int = 1_000_000, n_deployments: int = 100_000, seed: int = 0) -> dict[str, Any]:
    """Time one :func:`score` call on synthetic logs; rows = changes + deployments + incidents."""
    changes, deployments, incidents = synthetic_logs(n_changes, n_deployments, seed)
    began = time.perf_counter()
    result = score(changes, deployments, incidents)
    seconds = time.perf_counter() - began
    rows = len(changes) + len(deployments) + len(incidents)
    return {
        "changes": len(changes),
        "deployments": len(deployments),
        "incidents": len(incidents),
        "rows": rows,
        "seconds": seconds,
        "rows_per_second": rows / seconds if seconds > 0 else float("inf"),
        "lead_time_hours": result["metrics"]["lead_time_hours"],
    }
