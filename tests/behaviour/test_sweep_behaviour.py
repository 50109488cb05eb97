"""Sweeps end to end: executors agree, the tornado ranks levers by what they can move, process beats heroics."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from sim.analysis.sweep import load_sweep, run_sweep, tornado
from sim.cli import main
from sim.metrics.registry import METRIC_KEYS
from sim.model.scenario import load_scenario

DATA = Path(__file__).parents[1] / "data" / "sweeps"
SCENARIOS = Path(__file__).parents[2] / "scenarios"
HEROICS = {"team.overtime", "team.engineers"}


@pytest.fixture(scope="module")
def cluster():
    """A two-worker Dask cluster on the loopback interface only."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as local_cluster:
        yield local_cluster


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "tiny.parquet"
    return run_sweep(load_sweep(DATA / "tiny.toml"), workers=2, out=out), pd.read_parquet(out)


def test_dask_cluster_gives_exactly_the_local_answer(cluster, local_run, tmp_path):
    out = tmp_path / "dask.parquet"
    result = run_sweep(
        load_sweep(DATA / "tiny.toml"), executor="dask", scheduler=cluster.scheduler_address, out=out
    )
    assert result == local_run[0]
    pd.testing.assert_frame_equal(pd.read_parquet(out), local_run[1])


def test_cli_on_a_dask_scheduler_resumes_a_local_table(cluster, local_run, tmp_path, capsys):
    # half the points were computed locally; the cluster finishes the sweep
    out = tmp_path / "mixed.csv"
    local_run[1][local_run[1]["point"] % 2 == 0].to_csv(out, index=False)
    code = main(
        [
            "sweep",
            str(DATA / "tiny.toml"),
            "--scheduler",
            cluster.scheduler_address,
            "--out",
            str(out),
            "--json",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert json.loads(captured.out) == local_run[0]
    assert "resuming" in captured.err


def test_unreachable_scheduler_is_a_one_line_error(capsys, monkeypatch):
    monkeypatch.setattr("sim.analysis.executors.CONNECT_TIMEOUT", "1s")
    code = main(["sweep", str(DATA / "tiny.toml"), "--scheduler", "tcp://127.0.0.1:9", "--json"])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert captured.err.count("\n") == 1 and "cannot connect" in captured.err


@pytest.mark.slow
def test_dask_without_an_address_starts_its_own_local_cluster(local_run):
    result = run_sweep(load_sweep(DATA / "tiny.toml"), executor="dask", workers=2)
    assert result == local_run[0]


def test_tornado_ranks_the_cadence_above_a_rollback_the_team_does_not_have():
    """Deployment frequency is driven by the release cadence (weekly -> daily windows). The baseline
    has no automated rollback, so its speed (``operations.rollback_minutes``) is never used: with
    common random numbers its swing must be exactly zero on every metric, and it ranks last.
    (``operations.automated_rollback`` itself would not do: each rollback is an unplanned deployment,
    so it does touch deployment frequency.)"""
    result = run_sweep(load_sweep(DATA / "tornado_pair.toml"), workers=1)
    frequency = result["tornado"]["deployment_frequency_per_day"]
    assert [row["key"] for row in frequency] == ["release.cadence", "operations.rollback_minutes"]
    assert frequency[0]["swing"] > 0 and frequency[0]["high"] > frequency[0]["low"]
    for metric in METRIC_KEYS:
        inert = next(r for r in result["tornado"][metric] if r["key"] == "operations.rollback_minutes")
        assert inert["swing"] == 0.0
        assert result["tornado"][metric][-1]["key"] == "operations.rollback_minutes"


def test_rollback_speed_matters_once_the_team_has_automated_rollback():
    """The zero above is the model's causality, not a defect of the tornado: switch the rollback on
    and its speed moves recovery time, slower rollbacks restoring later."""
    base = load_scenario(DATA / "tiny_base.toml").with_values({"operations.automated_rollback": True})
    result = tornado(base, {"operations.rollback_minutes": (5.0, 120.0)}, reps=3, seed=11, workers=1)
    row = result["tornado"]["time_to_restore_hours"][0]
    assert row["swing"] > 0 and row["high"] > row["low"]


def test_process_levers_beat_heroics_on_every_metric_around_the_baseline():
    spec = load_sweep(SCENARIOS / "sweep_levers.toml")
    levers = {lever.key: lever.ends for lever in spec.levers}
    result = tornado(spec.base, levers, reps=3, seed=spec.seed, workers=2)
    for metric in METRIC_KEYS:
        top = result["tornado"][metric][0]
        assert top["key"] not in HEROICS, (metric, top)
