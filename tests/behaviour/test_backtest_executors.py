"""Backtests on a Dask cluster give exactly the local answer (cuts seed themselves from their arguments)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sim.analysis.backtest import BacktestSettings, backtest
from sim.metrics.logs import make_logs

distributed = pytest.importorskip("distributed")
CUT = dt.date(2026, 3, 2)


def release_logs(days: int = 400, every: int = 10):
    """Two changes a day; a release every ``every`` days shipping everything made since the last one."""
    first = CUT + dt.timedelta(days=120 - days)
    changes, deployments, pending = [], [], []
    for day in range(days):
        date = pd.Timestamp(first + dt.timedelta(days=day), tz="UTC")
        if day % every == 0 and pending:
            deployments.append(
                {
                    "deploy_id": f"r{day}",
                    "time_created": date + pd.Timedelta(hours=18),
                    "change_ids": " ".join(pending),
                }
            )
            pending = []
        for k in (0, 1):
            changes.append({"change_id": f"c{day}_{k}", "time_created": date + pd.Timedelta(hours=9 + 4 * k)})
            pending.append(f"c{day}_{k}")
    return make_logs(changes, deployments, [])


@pytest.mark.slow
def test_a_backtest_on_dask_matches_the_local_one():
    logs = release_logs()
    cuts = [CUT - dt.timedelta(days=30), CUT]
    settings = BacktestSettings(
        method="both", sizes=(8,), reps=4, calibration_reps=2, calibration_check_reps=2
    )
    local = backtest(logs, cuts=cuts, settings=settings, workers=2)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = backtest(
            logs, cuts=cuts, settings=settings, executor="dask", scheduler=cluster.scheduler_address
        )
    assert remote["cases"] == local["cases"] and remote["summary"] == local["summary"]
