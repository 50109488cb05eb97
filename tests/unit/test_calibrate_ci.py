"""``calibrate`` reads CI runs (``ci_runs.csv``): estimators against closed forms and synthetic runs with known
suite time, flaky rate and runner count, and one-line errors for bad CI files."""

from __future__ import annotations

import heapq
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.ci_facts import (
    LoadProfile,
    ci_facts,
    default_branch,
    flaky_counts,
    jeffreys_interval,
    mgc_mean_wait,
    most_at_once,
    profile_mean_wait,
    runners_for_wait,
    suite_minutes,
)
from sim.cli import main
from sim.importers.ci import ci_csv_bytes
from sim.metrics.logs import EventLogs, write_logs
from sim.model.delivery import simulate
from sim.model.records import to_logs
from sim.model.scenario import load_scenario
from sim.model.theory import erlang_c, mmc_mean_wait

ROOT = Path(__file__).resolve().parents[2]

START = pd.Timestamp("2026-01-05", tz="UTC")  # a Monday


def synthetic_runs(
    seed: int,
    *,
    runners: int,
    commits_per_hour: float,
    suite_minutes: float,
    suite_cv: float,
    flaky: float,
    weeks: int = 12,
    around_the_clock: bool = False,
) -> pd.DataFrame:
    """CI runs of a FIFO pool of ``runners``: commits arrive (Poisson) in working hours, each run fails for no
    reason with probability ``flaky`` and is re-run at once (a new attempt of the same run) until it passes."""
    rng = np.random.default_rng(seed)
    arrivals: list[tuple[float, int, int]] = []  # (hour queued, commit, attempt)
    commit = 0
    for day in range(weeks * 7):
        if day % 7 >= 5 and not around_the_clock:
            continue
        t, until = (day * 24.0, day * 24 + 24.0) if around_the_clock else (day * 24 + 9.0, day * 24 + 17.0)
        while (t := t + rng.exponential(1 / commits_per_hour)) < until:
            arrivals.append((t, commit, 1))
            commit += 1
    heapq.heapify(arrivals)
    free = [0.0] * runners
    shape = 1 / suite_cv**2
    rows = []
    while arrivals:
        queued, number, attempt = heapq.heappop(arrivals)
        started = max(queued, heapq.heappop(free))
        finished = started + rng.gamma(shape, suite_minutes / 60 / shape)
        heapq.heappush(free, finished)
        failed = rng.uniform() < flaky
        if failed:
            heapq.heappush(arrivals, (finished, number, attempt + 1))
        hour = pd.Timedelta(hours=1)
        rows.append(
            {
                "run_id": str(number),
                "commit": f"{number:040x}",
                "time_queued": START + queued * hour,
                "time_started": START + started * hour,
                "time_finished": START + finished * hour,
                "conclusion": "failure" if failed else "success",
                "attempt": attempt,
                "workflow": "tests",
                "branch": "main",
                "source": "csv",
                "status": "",
            }
        )
    return pd.DataFrame(rows).sort_values("time_queued", kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Closed forms


def test_allen_cunneen_is_erlang_c_for_exponential_runs():
    assert mgc_mean_wait(3.0, 0.5, 1.0, 2) == pytest.approx(mmc_mean_wait(3.0, 0.5, 2))
    # M/D/c waits half as long as M/M/c (cv 0)
    assert mgc_mean_wait(3.0, 0.5, 0.0, 2) == pytest.approx(mmc_mean_wait(3.0, 0.5, 2) / 2)
    # M/M/1: W = rho / (mu - lambda)
    assert mmc_mean_wait(1.0, 0.5, 1) == pytest.approx(0.5 / (2.0 - 1.0))
    assert erlang_c(1, 0.5) == pytest.approx(0.5)


@pytest.mark.parametrize("runners", [1, 2, 3, 5, 8, 20])
def test_runner_count_inverts_the_queue_formula(runners):
    rate, service = 0.8 * runners / 0.5, 0.5
    wait = mgc_mean_wait(rate, service, 0.3, runners)
    assert runners_for_wait(LoadProfile.steady(rate), service, 0.3, wait) == runners


def test_a_steady_profile_waits_as_the_stationary_queue_and_a_bunched_one_longer():
    steady = LoadProfile.steady(3.0)
    assert profile_mean_wait(steady, 0.5, 0.3, 2) == pytest.approx(mgc_mean_wait(3.0, 0.5, 0.3, 2))
    # the same runs bunched into 40 working hours of the week wait longer than spread over all 168
    rates = np.zeros(168)
    rates[[d * 24 + h for d in range(5) for h in range(9, 17)]] = 3.0 * 168 / 40
    bunched = LoadProfile(rates, (rates > 0) / 40)
    assert profile_mean_wait(bunched, 0.5, 0.3, 4) > profile_mean_wait(steady, 0.5, 0.3, 4)
    # an hour that outstrips the pool counts as a pool at 95% load, not as an endless queue
    assert math.isfinite(profile_mean_wait(bunched, 0.5, 0.3, 2))


def test_no_wait_means_the_fewest_runners_seen_busy_at_once():
    assert runners_for_wait(LoadProfile.steady(2.0), 0.5, 0.3, 0.0, at_least=4) == 4
    # a tiny load: one runner already waits less than a minute
    assert runners_for_wait(LoadProfile.steady(0.01), 0.1, 0.3, 0.0) == 1


def test_most_at_once_counts_overlaps_and_frees_a_runner_first():
    starts = np.array([0.0, 1.0, 2.0, 2.0])
    finishes = np.array([2.0, 3.0, 4.0, 5.0])
    assert most_at_once(starts, finishes) == 3
    assert most_at_once(np.zeros(0), np.zeros(0)) == 0


def test_jeffreys_interval_holds_the_rate():
    low, high = jeffreys_interval(10, 200)
    assert low < 0.05 < high
    assert jeffreys_interval(0, 50)[0] == 0.0


# ---------------------------------------------------------------------------------------------
# The readings on small tables


def _runs(rows: list[tuple[str, str, int, str, float, float, float]]) -> pd.DataFrame:
    """(run_id, commit, attempt, conclusion, queued h, started h, finished h) on branch main."""
    hour = pd.Timedelta(hours=1)
    return pd.DataFrame(
        [
            {
                "run_id": r,
                "commit": c,
                "attempt": a,
                "conclusion": k,
                "time_queued": START + q * hour,
                "time_started": START + s * hour,
                "time_finished": START + f * hour,
                "workflow": w,
                "branch": "main",
            }
            for r, c, a, k, q, s, f, w in [(*row, "tests") for row in rows]
        ]
    )


def test_flaky_failures_are_failures_a_later_success_of_the_same_commit_follows():
    runs = _runs(
        [
            ("1", "a", 1, "failure", 0, 0, 1),
            ("1", "a", 2, "failure", 1, 1, 2),
            ("1", "a", 3, "success", 2, 2, 3),
            ("2", "b", 1, "failure", 0, 0, 1),  # never passed: a real failure, fixed in a new commit
            ("3", "c", 1, "success", 0, 0, 1),
            ("4", "c", 1, "cancelled", 0, 0, 1),
        ]
    )
    assert flaky_counts(runs) == (2, 5)


def test_a_latest_attempt_stands_for_the_attempts_github_does_not_list():
    # run 1 passed at its third attempt (two flaky failures not listed); run 2 failed at its second
    runs = _runs(
        [
            ("1", "a", 3, "success", 0, 0, 1),
            ("2", "b", 2, "failure", 0, 0, 1),
            ("3", "c", 1, "success", 0, 0, 1),
        ]
    )
    assert flaky_counts(runs) == (2, 6)


def test_suite_is_the_longest_workflow_of_a_commit():
    runs = _runs([("1", "a", 1, "success", 0, 0, 0.5), ("2", "a", 1, "success", 0, 0, 0.25)])
    runs.loc[1, "workflow"] = "lint"
    assert suite_minutes(runs).tolist() == [30.0]


def test_default_branch_prefers_the_usual_names():
    assert default_branch(pd.Series(["feature", "feature", "main"])) == "main"
    assert default_branch(pd.Series(["dev", "dev", "x"])) == "dev"
    assert default_branch(pd.Series(["", None])) is None


# ---------------------------------------------------------------------------------------------
# Recovery of known parameters from synthetic runs


@pytest.mark.parametrize(
    ("runners", "suite", "cv", "flaky", "around_the_clock"),
    [
        (3, 30.0, 0.3, 0.1, False),
        (1, 12.0, 0.5, 0.02, False),
        (6, 45.0, 1.0, 0.2, False),
        (4, 20.0, 0.3, 0.05, True),
    ],
)
def test_known_parameters_are_recovered(runners, suite, cv, flaky, around_the_clock):
    commits_per_hour = 0.6 * runners / (suite / 60) * (1 - flaky)  # a busy pool: 60% of runner time
    runs = synthetic_runs(
        7,
        runners=runners,
        commits_per_hour=commits_per_hour,
        suite_minutes=suite,
        suite_cv=cv,
        flaky=flaky,
        around_the_clock=around_the_clock,
    )
    facts = ci_facts(runs, START, START + pd.Timedelta(weeks=12))
    got = {key: est.value for key, est in facts.estimates.items()}
    n = facts.stats["ci_suite_minutes"]["commits"]
    assert got["ci.test_suite_minutes"] == pytest.approx(suite, abs=4 * suite * cv / math.sqrt(n))
    assert got["ci.suite_cv"] == pytest.approx(cv, abs=0.1 * cv + 0.03)
    finished = facts.stats["ci_flaky"]["finished_runs"]
    assert got["ci.flaky_rate"] == pytest.approx(flaky, abs=4 * math.sqrt(flaky * (1 - flaky) / finished))
    assert abs(got["ci.runners"] - runners) <= max(1, runners // 5)
    assert all(est.source == "CI runs" for est in facts.estimates.values())


def test_more_runners_than_needed_show_no_queue():
    runs = synthetic_runs(3, runners=10, commits_per_hour=1.0, suite_minutes=20.0, suite_cv=0.3, flaky=0.05)
    facts = ci_facts(runs, START, START + pd.Timedelta(weeks=12))
    assert facts.stats["ci_queue"]["mean_wait_hours"] < 1 / 60
    assert facts.estimates["ci.runners"].value == facts.stats["ci_queue"]["most_at_once"]


def test_too_few_runs_leave_the_base_values_and_say_so():
    runs = _runs([("1", "a", 1, "success", 0, 0, 1)])
    facts = ci_facts(runs, START, START + pd.Timedelta(days=7))
    assert facts.estimates == {}
    assert len(facts.missing) == 3


# ---------------------------------------------------------------------------------------------
# The command: ci_runs.csv beside the logs, or --ci-runs


@pytest.fixture(scope="module")
def logs_with_ci(tmp_path_factory):
    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml").with_values(
        {"days": 35, "team.engineers": 5, "release.cadence": "daily"}
    )
    window = to_logs(simulate(scenario, 3, 0))
    folder = tmp_path_factory.mktemp("logs")
    write_logs(EventLogs(window.changes, window.deployments, window.incidents), folder)
    start = pd.Timestamp(window.start)
    runs = synthetic_runs(
        5, runners=4, commits_per_hour=3.0, suite_minutes=15.0, suite_cv=0.4, flaky=0.03, weeks=5
    )
    shift = start - START
    for column in ("time_queued", "time_started", "time_finished"):
        runs[column] = runs[column] + shift
    (folder / "ci_runs.csv").write_bytes(ci_csv_bytes(runs))
    return folder


def _args(folder: Path, out: Path, *extra: str) -> list[str]:
    return [
        "calibrate",
        "--changes",
        str(folder / "changes.csv"),
        "--deployments",
        str(folder / "deployments.csv"),
        "--incidents",
        str(folder / "incidents.csv"),
        "--out",
        str(out),
        "--reps",
        "2",
        "--check-reps",
        "2",
        "--workers",
        "1",
        "--json",
        *extra,
    ]


def test_ci_runs_beside_the_logs_set_the_ci_parameters_and_say_so(logs_with_ci, tmp_path, capsys):
    out = tmp_path / "calibrated.toml"
    assert main(_args(logs_with_ci, out)) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ci_runs"] == str(logs_with_ci / "ci_runs.csv")
    for key in ("ci.test_suite_minutes", "ci.suite_cv", "ci.flaky_rate", "ci.runners"):
        item = report["parameters"][key]
        assert item["origin"] == "estimated"
        assert item["from"] == "CI runs"
    assert report["parameters"]["ci.test_suite_minutes"]["value"] == pytest.approx(15.0, rel=0.1)
    assert abs(report["parameters"]["ci.runners"]["value"] - 4) <= 1
    text = out.read_text()
    assert "estimated from CI runs" in text
    scenario = load_scenario(out)
    assert scenario.ci.test_suite_minutes == report["parameters"]["ci.test_suite_minutes"]["value"]
    assert "ci_queue" in report["log_statistics"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("run_id,commit\n1,abcdef1\n", "no column 'time_queued'"),
        ("run_id,commit,time_queued\n1,zzz,2026-01-05T10:00:00Z\n", "line 2"),
        (
            "run_id,commit,time_queued,time_started\n1,abcdef1,2026-01-05T10:00:00Z,2026-01-05T09:00:00Z\n",
            "before queued",
        ),
        (
            "run_id,commit,time_queued,attempt\n1,abcdef1,2026-01-05T10:00:00Z,1\n1,abcdef1,2026-01-05T11:00:00Z,1\n",
            "appears twice",
        ),
        ("", "empty"),
    ],
)
def test_bad_ci_files_are_one_line_and_exit_2(logs_with_ci, tmp_path, capsys, rows, message):
    bad = tmp_path / "runs.csv"
    bad.write_text(rows)
    out = tmp_path / "out.toml"
    assert main(_args(logs_with_ci, out, "--ci-runs", str(bad))) == 2
    err = capsys.readouterr().err
    assert message in err
    assert str(bad) in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_a_missing_ci_file_is_one_line(logs_with_ci, tmp_path, capsys):
    assert main(_args(logs_with_ci, tmp_path / "out.toml", "--ci-runs", str(tmp_path / "none.csv"))) == 2
    err = capsys.readouterr().err
    assert "none.csv" in err
    assert err.count("\n") == 1


def test_a_saved_github_history_gives_back_the_ci_it_was_drawn_with(tmp_path, capsys):
    """tests/data/import/github_history (make_github_history.py): two runners, 42-min suites (cv 0.35), 8% flaky."""
    folder = ROOT / "tests" / "data" / "import" / "github_history"
    assert main(["import", "github", "--from", str(folder), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    out = tmp_path / "calibrated.toml"
    assert main(_args(tmp_path, out)) == 0
    parameters = json.loads(capsys.readouterr().out)["parameters"]
    assert parameters["ci.runners"]["value"] == 2
    assert parameters["ci.test_suite_minutes"]["value"] == pytest.approx(42.0, rel=0.1)
    assert parameters["ci.suite_cv"]["value"] == pytest.approx(0.35, abs=0.07)
    assert parameters["ci.flaky_rate"]["value"] == pytest.approx(0.08, abs=0.025)
    assert main([*_args(tmp_path, tmp_path / "without.toml"), "--no-ci-runs"]) == 0
    without = json.loads(capsys.readouterr().out)
    assert without["ci_runs"] is None
    assert without["parameters"]["ci.test_suite_minutes"]["origin"] == "default"
