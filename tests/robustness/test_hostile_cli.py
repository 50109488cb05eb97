"""The command line fed hostile input: each case once printed a traceback, hung, or gave wrong numbers.

Most cases call the command line in this process (``run_main``: fast, under a deadline); those where the
process itself matters — stdout on a full disk, the worker count, a pipe that would block — run it as
a real ``python -m sim`` (``run_cli``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from hostile import ROOT, assert_ok, assert_refused, log_args, run_cli, run_main

BASELINE = ROOT / "scenarios" / "baseline.toml"
QUICK = ("--reps", "1", "--workers", "1", "--days", "7")


# ---------------------------------------------------------------------------------------------
# Dates outside what the logs can hold


@pytest.mark.parametrize("start", ["9999-12-01", "0001-03-01", "2262-03-01", "1677-09-25", "1699-12-31"])
def test_a_start_date_outside_the_accepted_range_is_one_line(start):
    line = assert_refused(
        run_main("run", "baseline", *QUICK, "--set", f"start={start}", "--json"),
        f"start = {start}",
        "1700-01-01",
        "2200-01-01",
    )
    assert "--set start" in line


def test_the_warm_up_before_start_must_fit_too():
    # 28 days of warm-up before 1700-01-20 begins in 1699
    assert_refused(
        run_main("run", "baseline", *QUICK, "--set", "start=1700-01-20"), "warmup_days", "1699-12-23"
    )
    assert_ok(
        run_main("run", "baseline", *QUICK, "--set", "start=1700-01-29", "--json")
    )  # warm-up starts 1700-01-01


def test_a_start_near_the_end_of_the_range_counts_the_horizon():
    assert_refused(
        run_main("run", "baseline", *QUICK[:4], "--set", "start=2199-12-01"), "horizon ends on 2200-03-01"
    )


def test_a_run_at_the_edge_of_the_range_has_right_dates(tmp_path):
    """No wrap-around: the logs of a run at the earliest accepted start are dated where they belong."""
    assert_ok(
        run_main("events", "baseline", "--days", "7", "--set", "start=1700-01-29", "--out", str(tmp_path))
    )
    years = {line.split(",")[1][:4] for line in (tmp_path / "changes.csv").read_text().splitlines()[1:]}
    assert years <= {"1700"}, years


@pytest.mark.parametrize(
    "stamp",
    [
        "1600-12-29T09:36:21Z",
        "3000-01-01T00:00:00Z",
        "0000-01-01",
        "9999-12-31T23:59:59Z",
        "2262-04-12T00:00:00.123456789Z",
    ],
)
def test_a_csv_timestamp_outside_the_range_is_one_line_naming_the_line(small_logs, tmp_path, stamp):
    changes = tmp_path / "changes.csv"
    lines = (small_logs / "changes.csv").read_text().splitlines()
    first_id = lines[1].split(",")[0]
    lines[1] = f"{first_id},{stamp}"
    changes.write_text("\n".join(lines) + "\n")
    assert_refused(
        run_main("score", *log_args(small_logs, changes=changes)),
        "changes.csv line 2: time_created",
        stamp,
        "1700-01-01",
    )


def test_a_window_outside_the_range_is_one_line(small_logs):
    assert_refused(
        run_main("score", *log_args(small_logs), "--start", "0001-01-01", "--end", "9999-01-01"),
        "--start",
        "0001-01-01",
        "outside",
    )
    assert_refused(
        run_main("score", *log_args(small_logs), "--start", "2026-01-01", "--end", "2262-04-12"),
        "--end",
        "outside",
    )


# ---------------------------------------------------------------------------------------------
# Files that are not files: devices, pipes, folders


def _scenario_extending(tmp_path: Path, target: str | Path) -> Path:
    path = tmp_path / "child.toml"
    path.write_text(f'extends = "{target}"\nname = "child"\n')
    return path


def test_extends_dev_zero_is_refused_at_once(tmp_path):
    started = time.monotonic()
    assert_refused(
        run_cli("run", str(_scenario_extending(tmp_path, "/dev/zero")), *QUICK),
        "child.toml: extends = '/dev/zero'",
        "device",
    )
    assert time.monotonic() - started < 20


def test_extends_a_fifo_is_refused_at_once(tmp_path, fifo):
    started = time.monotonic()
    assert_refused(
        run_cli("run", str(_scenario_extending(tmp_path, fifo)), *QUICK, timeout=30), "named pipe (FIFO)"
    )
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("command", ["run", "plan", "sweep"])
def test_a_device_or_fifo_named_on_the_command_line_is_refused(command, fifo):
    assert_refused(run_main(command, "/dev/zero"), "/dev/zero", "device")
    assert_refused(run_main(command, str(fifo), timeout=30), "named pipe")


def test_calibrate_base_dev_zero_and_a_fifo(small_logs, tmp_path, fifo):
    out = tmp_path / "new.toml"
    assert_refused(
        run_main("calibrate", *log_args(small_logs), "--out", str(out), "--base", "/dev/zero"),
        "/dev/zero",
        "device",
    )
    assert_refused(
        run_main("calibrate", *log_args(small_logs), "--out", str(out), "--base", str(fifo), timeout=30),
        "named pipe",
    )
    assert_refused(
        run_main(
            "calibrate",
            *log_args(small_logs),
            "--out",
            str(out),
            "--base",
            str(_scenario_extending(tmp_path, "/dev/zero")),
        ),
        "device",
    )
    assert not out.exists()


def test_a_csv_log_that_is_a_device_pipe_or_folder_is_refused(small_logs, fifo, tmp_path):
    assert_refused(run_main("score", *log_args(small_logs, changes=Path("/dev/zero"))), "/dev/zero", "device")
    assert_refused(run_main("score", *log_args(small_logs, deployments=fifo), timeout=30), "named pipe")
    assert_refused(run_main("score", *log_args(small_logs, incidents=tmp_path)), "is a directory")


def test_a_sweep_base_that_is_a_device_says_so(tmp_path):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text('base = "/dev/zero"\n[vary]\n"ci.runners" = [1, 2]\n')
    line = assert_refused(run_main("sweep", str(sweep)), 'base = "/dev/zero"', "device")
    assert "not found" not in line


def test_a_symlink_to_a_device_is_a_device(tmp_path):
    link = tmp_path / "innocent.toml"
    link.symlink_to("/dev/zero")
    assert_refused(run_main("run", str(link), *QUICK), "innocent.toml", "device")


# ---------------------------------------------------------------------------------------------
# Size caps


def test_a_scenario_over_the_toml_cap_is_refused_before_parsing(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text('name = "big"\n' + "# padding\n" * 150_000)  # 1.5 MB
    assert_refused(run_main("run", str(big), *QUICK), "big.toml", "the limit is 1 MB", "DORASIM_MAX_TOML_KB")
    assert_ok(run_main("run", str(big), *QUICK, env={"DORASIM_MAX_TOML_KB": "4096"}))


def test_a_log_over_the_csv_cap_is_refused_and_the_cap_is_configurable(small_logs):
    env = {"DORASIM_MAX_LOG_MB": "0.001"}
    assert_refused(run_main("score", *log_args(small_logs), env=env), "changes.csv", "DORASIM_MAX_LOG_MB")
    assert_refused(
        run_main("score", *log_args(small_logs), env={"DORASIM_MAX_LOG_MB": "lots"}),
        "DORASIM_MAX_LOG_MB='lots'",
    )


# ---------------------------------------------------------------------------------------------
# Outputs that cannot be written


def test_events_out_in_proc_is_one_line():
    assert_refused(run_main("events", "baseline", "--days", "7", "--out", "/proc/foo"), "--out /proc/foo")


def test_calibrate_out_proc_version_is_refused_before_the_work(small_logs):
    started = time.monotonic()
    assert_refused(
        run_main("calibrate", *log_args(small_logs), "--out", "/proc/version"), "--out /proc/version"
    )
    assert time.monotonic() - started < 20


def test_calibrate_out_a_fifo_does_not_block(small_logs, fifo):
    assert_refused(run_main("calibrate", *log_args(small_logs), "--out", str(fifo), timeout=30), "named pipe")


@pytest.mark.parametrize(
    "args",
    [
        ("run", "baseline", *QUICK, "--json"),
        ("run", "baseline", *QUICK),
        ("score", "SMALL_LOGS", "--json"),
        ("events", "baseline", "--days", "7", "--out", "OUT"),
    ],
)
def test_stdout_to_dev_full_is_one_line(args, small_logs, tmp_path):
    args = [str(tmp_path) if a == "OUT" else a for a in args]
    if "SMALL_LOGS" in args:
        args = [args[0], *log_args(small_logs), *args[2:]]
    with open("/dev/full", "w") as full:
        outcome = run_cli(*args, stdout=full)
    assert_refused(outcome, "No space left on device")


def test_a_sweep_table_out_that_is_a_fifo_or_unwritable(tmp_path, fifo):
    sweep = ROOT / "tests" / "data" / "sweeps" / "tiny.toml"
    pipe_csv = tmp_path / "table.csv"
    os.mkfifo(pipe_csv)
    assert_refused(run_main("sweep", str(sweep), "--out", str(pipe_csv), timeout=30), "named pipe")
    assert_refused(
        run_main("sweep", str(sweep), "--out", "/proc/nope/table.csv"), "--out /proc/nope/table.csv"
    )


# ---------------------------------------------------------------------------------------------
# Numeric options


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("events", "baseline", "--out", "OUT", "--replication", "-1"), ("--replication", ">= 0")),
        (("events", "baseline", "--out", "OUT", "--replication", "x"), ("--replication", "whole number")),
        (("run", "baseline", "--reps", "0"), ("--reps", ">= 1")),
        (("run", "baseline", "--reps", "1e9"), ("--reps", "whole number")),
        (("run", "baseline", "--reps", "100000000"), ("--reps", "<= 10000")),
        (("run", "baseline", "--days", "0"), ("--days", ">= 1")),
        (("run", "baseline", "--days", "99999"), ("--days", "<= 3650")),
        (("run", "baseline", "--workers", "0"), ("--workers", ">= 1")),
        (("run", "baseline", "--workers", "-3"), ("--workers",)),
        (("run", "baseline", "--seed", "-1"), ("--seed", ">= 0")),
        (("run", "baseline", "--seed", str(2**64)), ("--seed", "<=")),
        (("plan", "plan_90_days", "--days", "0"), ("--days",)),
        (("plan", "plan_90_days", "--reps", "-2"), ("--reps",)),
        (
            (
                "calibrate",
                "--changes",
                "c",
                "--deployments",
                "d",
                "--incidents",
                "i",
                "--out",
                "o",
                "--check-reps",
                "0",
            ),
            ("--check-reps",),
        ),
        (("run", "baseline", "--reps", "9" * 5000), ("--reps", "whole number")),
    ],
)
def test_every_numeric_option_is_validated(args, words, tmp_path):
    args = tuple(str(tmp_path) if a == "OUT" else a for a in args)
    line = assert_refused(run_main(*args), *words)
    assert len(line) < 300


def test_workers_above_the_cores_are_capped_with_a_note(tmp_path):
    capped = run_cli("run", "baseline", "--reps", "2", "--days", "7", "--workers", "1000", "--json")
    assert_ok(capped)
    cores = len(os.sched_getaffinity(0))
    assert capped.err_lines == [
        f"dorasim run: note: --workers 1000: this machine has {cores} "
        f"core{'s' if cores > 1 else ''}; used {cores}"
    ]
    single = run_main("run", "baseline", "--reps", "2", "--days", "7", "--workers", "1", "--json")
    assert json.loads(capped.out) == json.loads(single.out)  # same numbers, and no 1000 processes


def test_workers_above_the_cores_and_a_bad_input_is_still_one_line():
    assert_refused(run_main("run", "nowhere.toml", "--workers", "1000"), "nowhere.toml")


# ---------------------------------------------------------------------------------------------
# plan takes --days (and --set) like every scenario command


def test_plan_days_shortens_the_horizon_and_keeps_the_phases_inside_it():
    outcome = run_main("plan", "plan_90_days", "--days", "7", "--reps", "1", "--workers", "1", "--json")
    assert_ok(outcome)
    result = json.loads(outcome.out)
    assert result["days"] == 7
    assert len(result["weeks"]) == 1
    assert all(phase["day"] < 7 for phase in result["phases"])


def test_plan_set_overrides_the_starting_scenario_and_is_validated():
    outcome = run_main(
        "plan",
        "plan_90_days",
        "--days",
        "14",
        "--reps",
        "1",
        "--workers",
        "1",
        "--json",
        "--set",
        "team.engineers=3",
    )
    assert_ok(outcome)
    assert json.loads(outcome.out)["final"]["counts"]["changes"] > 0
    assert_refused(run_main("plan", "plan_90_days", "--set", "team.engineers=0"), "--set team.engineers")
    assert_refused(run_main("plan", "plan_90_days", "--set", "start=1677-09-25"), "start = 1677-09-25")


# ---------------------------------------------------------------------------------------------
# CSV details


def test_a_tab_separated_csv_shows_the_tab(small_logs, tmp_path):
    changes = tmp_path / "changes.csv"
    changes.write_text((small_logs / "changes.csv").read_text().replace(",", "\t"))
    line = assert_refused(
        run_main("score", *log_args(small_logs, changes=changes)), "change_id\\ttime_created"
    )
    assert "tab-separated" in line


def test_a_garbage_header_is_not_echoed_whole(small_logs, tmp_path):
    changes = tmp_path / "changes.csv"
    changes.write_text("x" * 5000 + ",y\n1,2\n")
    line = assert_refused(
        run_main("score", *log_args(small_logs, changes=changes)), "missing required column"
    )
    assert len(line) < 400
    assert "5003 characters" in line


def test_a_duplicated_header_column_is_an_error(small_logs, tmp_path):
    changes = tmp_path / "changes.csv"
    text = (small_logs / "changes.csv").read_text().splitlines()
    changes.write_text("\n".join([text[0] + ",change_id", *(row + ",X" for row in text[1:])]) + "\n")
    assert_refused(run_main("score", *log_args(small_logs, changes=changes)), "'change_id' more than once")


def test_a_huge_id_is_not_echoed_whole(small_logs, tmp_path):
    deployments = tmp_path / "deployments.csv"
    text = (small_logs / "deployments.csv").read_text().splitlines()
    first = text[1].split(",")
    first[3] = "maybe" * 2000
    deployments.write_text("\n".join([text[0], ",".join(first), *text[2:]]) + "\n")
    line = assert_refused(run_main("score", *log_args(small_logs, deployments=deployments)), "unplanned")
    assert len(line) < 400


def test_the_cli_scores_files_copied_anywhere(small_logs, tmp_path):
    """Control: good files still score (the checks refuse only what they should)."""
    for name in ("changes.csv", "deployments.csv", "incidents.csv"):
        shutil.copy(small_logs / name, tmp_path / name)
    outcome = run_main("score", *log_args(tmp_path), "--json")
    assert_ok(outcome)
    assert json.loads(outcome.out)["counts"]["deployments"] > 0


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            "change_id,time_created," + ",".join(f"c{i}" for i in range(300_000)) + "\n",
            ("300002 columns", "at most 1000"),
        ),
        (
            "change_id,time_created\nC1,2026-01-05T10:00:00Z," + ",".join(["x"] * 400_000) + "\n",
            ("line 2 has 400002 fields", "the header 2"),
        ),
        (
            "change_id,time_created\n\nC1,2026-01-05T10:00:00Z," + ",".join(["x"] * 400_000) + "\n",
            ("line 3 has 400002 fields",),
        ),
    ],
)
def test_very_wide_csv_files_are_refused_quickly(content, words, small_logs, tmp_path):
    changes = tmp_path / "changes.csv"
    changes.write_text(content)
    started = time.monotonic()
    assert_refused(run_main("score", *log_args(small_logs, changes=changes), timeout=30), *words)
    assert time.monotonic() - started < 10
