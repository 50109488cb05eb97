"""Helpers for the hostile-input tests. Every outcome is exit 0 with correct output, or exit 2 with exactly one line on stderr.

Never a traceback, never a hang (every command runs under a timeout), never silent overflow.
Commands run as a real ``python -m sim`` process, with this checkout first on ``PYTHONPATH``.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TIMEOUT = 60  # seconds for one command; a hang fails the test instead of stopping the suite


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def cli_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("DORASIM_MAX_LOG_MB", None)
    env.pop("DORASIM_MAX_TOML_KB", None)
    env.update(extra)
    return env


def run_cli(
    *args: str,
    timeout: float = TIMEOUT,
    env: dict[str, str] | None = None,
    stdout=None,
    cwd: Path | None = None,
) -> Outcome:
    """``python -m sim ARGS`` in a fresh process; a hang is a test failure after ``timeout`` seconds."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "sim", *args],
            env=env or cli_env(),
            cwd=cwd or ROOT,
            stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
            text=True,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"python -m sim {' '.join(args)} hung for more than {timeout} s")
    return Outcome(proc.returncode, proc.stdout or "", proc.stderr)


class Hang(Exception):
    """Raised in the test's own thread when a command runs past its time."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Fail with :class:`Hang` after ``seconds`` (SIGALRM also interrupts a blocking open or read)."""

    def expire(signum, frame):
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in (*values, "DORASIM_MAX_LOG_MB", "DORASIM_MAX_TOML_KB")}
    for key in ("DORASIM_MAX_LOG_MB", "DORASIM_MAX_TOML_KB"):
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_main(*args: str, timeout: float = TIMEOUT, env: dict[str, str] | None = None) -> Outcome:
    """``sim.cli.main(ARGS)`` in this process (fast); any exception other than an exit is a test failure."""
    from sim.cli import main

    out, err = io.StringIO(), io.StringIO()
    with environment(env or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            with deadline(timeout):
                code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        except Hang:
            pytest.fail(f"dorasim {' '.join(args)} hung for more than {timeout} s")
    return Outcome(code, out.getvalue(), err.getvalue())


def assert_refused(outcome: Outcome, *words: str) -> str:
    """Exit 2 with exactly one line on stderr (no traceback), containing ``words``; returns the line."""
    assert outcome.code == 2, (outcome.code, outcome.err[-2000:])
    assert "Traceback" not in outcome.err
    assert len(outcome.err_lines) == 1, outcome.err
    line = outcome.err_lines[0]
    for word in words:
        assert word in line, (word, line)
    return line


def assert_ok(outcome: Outcome) -> None:
    assert outcome.code == 0, outcome.err[-2000:]
    assert "Traceback" not in outcome.err


def log_args(folder: Path, **replace: Path) -> list[str]:
    files = {
        kind: replace.get(kind, folder / f"{kind}.csv") for kind in ("changes", "deployments", "incidents")
    }
    return [arg for kind, path in files.items() for arg in (f"--{kind}", str(path))]


def write_synthetic_logs(
    folder: Path, n_changes: int, batch: int = 10, days: int = 365, seed: int = 1
) -> int:
    """A team's logs of ``n_changes`` changes over ``days``: batches of ``batch`` deployed 20 h after the
    last change, one incident per 20 deployments. Returns the total size of the three files in bytes."""
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    created = np.datetime64("2025-01-06T00:00:00") + np.sort(rng.uniform(0, days * 86400, n_changes)).astype(
        "timedelta64[s]"
    )
    ids = np.char.add("C", np.arange(n_changes).astype(str))
    pd.DataFrame({"change_id": ids, "time_created": np.datetime_as_string(created, unit="s")}).to_csv(
        folder / "changes.csv", index=False
    )
    n_deploys = n_changes // batch
    deployed = created[batch - 1 :: batch][:n_deploys] + np.timedelta64(20 * 3600, "s")
    lists = [" ".join(ids[i * batch : (i + 1) * batch]) for i in range(n_deploys)]
    pd.DataFrame(
        {
            "deploy_id": np.char.add("D", np.arange(n_deploys).astype(str)),
            "time_created": np.datetime_as_string(deployed, unit="s"),
            "change_ids": lists,
            "unplanned": rng.random(n_deploys) < 0.05,
        }
    ).to_csv(folder / "deployments.csv", index=False)
    failed = np.sort(rng.choice(n_deploys, n_deploys // 20, replace=False))
    began = deployed[failed] + np.timedelta64(7200, "s")
    pd.DataFrame(
        {
            "incident_id": np.char.add("I", np.arange(len(failed)).astype(str)),
            "time_created": np.datetime_as_string(began, unit="s"),
            "time_resolved": np.datetime_as_string(began + np.timedelta64(3 * 3600, "s"), unit="s"),
            "deploy_id": np.char.add("D", failed.astype(str)),
        }
    ).to_csv(folder / "incidents.csv", index=False)
    return sum((folder / f"{kind}.csv").stat().st_size for kind in ("changes", "deployments", "incidents"))
