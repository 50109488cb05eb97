"""Calibration accuracy (issue 5's bar) on teams whose parameters the calibrator never sees.

Each hidden team is a shipped scenario with its team size, suite time, cadence, batch cap and
rollback changed. One replication of it is written as the three CSV files (what ``events``
writes), read back like a user's logs, and calibrated. The calibrated scenario file, run with 20
replications, must reproduce the metrics of those logs (scored over their window, as ``score``
with the ``--start``/``--end`` that ``events`` prints): deployment frequency within 20%, median
lead time within 30%, change failure rate within 0.07, median time to restore within 35%.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sim.analysis.calibrate import BAR, bar_error, calibrate
from sim.analysis.runner import run_scenario
from sim.metrics.logs import EventLogs, read_logs, write_logs
from sim.metrics.scoring import score
from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]

HIDDEN_TEAMS = {
    "twenty engineers, weekly manual releases": ("baseline", {"team.engineers": 20}, 11),
    "small team, fast suite, daily capped releases": (
        "baseline",
        {
            "team.engineers": 6,
            "ci.test_suite_minutes": 15.0,
            "release.cadence": "daily",
            "release.max_batch_size": 8,
        },
        12,
    ),
    "slow suite, biweekly releases, automated rollback": (
        "baseline",
        {
            "team.engineers": 12,
            "ci.test_suite_minutes": 120.0,
            "release.cadence": "biweekly",
            "operations.automated_rollback": True,
        },
        13,
    ),
    "automated continuous deployment with rollback": (
        "automated",
        {"team.engineers": 16, "ci.test_suite_minutes": 25.0, "release.cadence": "continuous"},
        14,
    ),
    "trunk with flags, weekly capped releases": (
        "trunk_based",
        {"team.engineers": 9, "ci.test_suite_minutes": 40.0, "release.max_batch_size": 20},
        15,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("team", list(HIDDEN_TEAMS))
def test_calibrated_scenario_reproduces_a_hidden_teams_metrics(team, tmp_path):
    name, values, seed = HIDDEN_TEAMS[team]
    hidden = load_scenario(ROOT / "scenarios" / f"{name}.toml", values)
    window = to_logs(simulate(hidden, seed, 0))
    write_logs(EventLogs(window.changes, window.deployments, window.incidents), tmp_path)
    logs = read_logs(tmp_path / "changes.csv", tmp_path / "deployments.csv", tmp_path / "incidents.csv")
    observed = score(logs.changes, logs.deployments, logs.incidents, start=window.start, end=window.end)[
        "metrics"
    ]

    began = time.perf_counter()
    result = calibrate(logs, workers=2)
    seconds = time.perf_counter() - began
    out = tmp_path / "calibrated.toml"
    out.write_text(result.toml, encoding="utf-8")
    run = run_scenario(load_scenario(out), reps=20, workers=2)

    errors = {key: bar_error(key, run["metrics"][key]["p50"], observed[key]) for key in BAR}
    summary = ", ".join(
        f"{key} {observed[key]:.4g} vs {run['metrics'][key]['p50']:.4g} (error {errors[key]:.3g})"
        for key in BAR
        if errors[key] is not None
    )
    print(f"{team}: calibrated in {seconds:.1f} s; {summary}")
    for key, (_, tolerance) in BAR.items():
        assert errors[key] is not None, f"{key}: no simulated value ({summary})"
        assert errors[key] <= tolerance, f"{key} misses the bar: {summary}"
