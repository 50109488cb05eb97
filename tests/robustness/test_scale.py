"""Long work on big logs: progress on a terminal (and only there), memory in proportion to the input."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from hostile import ROOT, cli_env, log_args, write_synthetic_logs

PEAK_RSS = """
import resource, sys
from sim.cli import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))
raise SystemExit(code)
"""


def peak_rss(args: list[str], tmp_path: Path) -> tuple[int, str]:
    """(peak resident bytes, stdout) of ``dorasim ARGS`` in a fresh process."""
    report = tmp_path / f"rss-{len(list(tmp_path.iterdir()))}.txt"
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, str(report), *args],
        env=cli_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(report.read_text()), proc.stdout


def test_scoring_memory_grows_in_proportion_to_the_input(tmp_path):
    """Peak memory above a tiny run's, per byte of CSV: measured ~8 (2 M changes, 81 MB: 0.76 GB peak)."""
    small_bytes = write_synthetic_logs(tmp_path / "small", 2_000)
    big_bytes = write_synthetic_logs(tmp_path / "big", 300_000)
    small_peak, _ = peak_rss(["score", *log_args(tmp_path / "small"), "--json"], tmp_path)
    big_peak, out = peak_rss(["score", *log_args(tmp_path / "big"), "--json"], tmp_path)
    assert json.loads(out)["counts"]["deployments"] == 30_000
    per_byte = (big_peak - small_peak) / (big_bytes - small_bytes)
    assert per_byte < 14, f"{per_byte:.1f} bytes of memory per byte of CSV"


def on_a_terminal(args: list[str], timeout: float = 60) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal (stdout to a pipe); returns (exit code, what the terminal got)."""
    master, slave = pty.openpty()
    env = cli_env(COLUMNS="100", TERM="xterm")
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim", *args],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    seen = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                proc.kill()
                pytest.fail("no progress and no end")
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
        proc.stdout.read()
        proc.wait(timeout=timeout)
    return proc.returncode, seen.decode("utf-8", "replace")


def test_score_shows_progress_on_a_terminal_and_nothing_on_a_pipe(tmp_path):
    write_synthetic_logs(tmp_path, 200_000)
    code, terminal = on_a_terminal(["score", *log_args(tmp_path), "--json"])
    assert code == 0
    assert "reading" in terminal and "changes.csv" in terminal
    piped = subprocess.run(
        [sys.executable, "-m", "sim", "score", *log_args(tmp_path), "--json"],
        env=cli_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 0 and piped.stderr == ""
    json.loads(piped.stdout)


def test_calibrate_shows_progress_on_a_terminal(tmp_path):
    logs = tmp_path / "logs"
    assert (
        subprocess.run(
            [sys.executable, "-m", "sim", "events", "baseline", "--days", "28", "--out", str(logs)],
            env=cli_env(),
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        ).returncode
        == 0
    )
    code, terminal = on_a_terminal(
        [
            "calibrate",
            *log_args(logs),
            "--out",
            str(tmp_path / "ours.toml"),
            "--reps",
            "1",
            "--check-reps",
            "1",
            "--workers",
            "1",
            "--json",
        ],
        timeout=120,
    )
    assert code == 0, terminal[-2000:]
    assert "reading" in terminal and "calibrating" in terminal
