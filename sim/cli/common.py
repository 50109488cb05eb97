"""Options and output shared by the subcommands."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sim.analysis.parallel import default_workers, show_progress
from sim.files import TOML, check_file
from sim.model.catalog import locate
from sim.model.scenario import Scenario, load_scenario

MAX_REPS = 10_000  # replications one command may ask for
MAX_SEED = 2**63 - 1
MAX_DAYS = 3650  # the scenario schema's horizon limit
MAX_WORKERS_ASKED = 100_000  # anything above is a typo; up to it, --workers is capped at the cores


def add_scenario_options(parser: argparse.ArgumentParser, *, reps: bool = True, workers: bool = True) -> None:
    if reps:
        add_reps_option(parser, "replications (default 30)")
    add_seed_option(parser, "root seed (default: the scenario's)")
    if workers:
        add_workers_option(parser)
    add_days_option(parser)
    add_set_option(parser)


def add_set_option(
    parser: argparse.ArgumentParser,
    help: str = "override one dotted key, e.g. --set ci.runners=8 (repeatable)",
) -> None:
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help=help
    )


def add_log_options(parser: argparse.ArgumentParser) -> None:
    """The three logs a command reads (docs/logs.md)."""
    parser.add_argument(
        "--changes", required=True, metavar="C.csv", help="changes.csv: change_id, time_created"
    )
    parser.add_argument(
        "--deployments",
        required=True,
        metavar="D.csv",
        help="deployments.csv: deploy_id, time_created, change_ids [, unplanned]",
    )
    parser.add_argument(
        "--incidents",
        required=True,
        metavar="I.csv",
        help="incidents.csv: incident_id, time_created, time_resolved, deploy_id",
    )


def add_reps_option(
    parser: argparse.ArgumentParser, help: str, default: int | None = None, flag: str = "--reps"
) -> None:
    parser.add_argument(flag, type=positive_int(flag, MAX_REPS), default=default, help=help)


def add_seed_option(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--seed", type=nonneg_int("--seed", MAX_SEED), default=None, help=help)


def add_days_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=positive_int("--days", MAX_DAYS), default=None, help="horizon in days")


def add_workers_option(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument(
        "--workers",
        type=positive_int("--workers", MAX_WORKERS_ASKED),
        default=None,
        help=help or "processes (default and most: the machine's cores); output does not depend on it",
    )


def cap_workers(args: argparse.Namespace) -> str | None:
    """Cap ``--workers`` at the machine's cores; returns the note to show when it was capped."""
    asked = getattr(args, "workers", None)
    cores = default_workers()
    if asked is None or asked <= cores:
        return None
    args.workers = cores
    return f"--workers {asked}: this machine has {cores} core{'s' if cores > 1 else ''}; used {cores}"


def add_benchmark_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="2023", help="band table: 2023 (default) or 2021")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document and nothing else")


def _int_between(flag: str, minimum: int, maximum: int | None):
    def parse(text: str) -> int:
        shown = text if len(text) <= 40 else f"{text[:40]}…"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {shown!r}: must be a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag} {shown!r}: must be >= {minimum}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{flag} {shown!r}: must be <= {maximum}")
        return value

    return parse


def positive_int(flag: str, maximum: int | None = None):
    """An argparse type: a whole number >= 1 (and <= ``maximum``), with a one-line error naming the flag."""
    return _int_between(flag, 1, maximum)


def nonneg_int(flag: str, maximum: int | None = None):
    """An argparse type: a whole number >= 0 (and <= ``maximum``), with a one-line error naming the flag."""
    return _int_between(flag, 0, maximum)


def scenario_from_args(path: str, args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(locate(path, "scenario"), args.overrides)
    if getattr(args, "days", None) is not None:
        scenario = scenario.with_values({"days": args.days}, source="--days")
    return scenario


@contextlib.contextmanager
def status(first: str) -> Iterator[Callable[[str], None]]:
    """A spinner on stderr naming the current step, only on a terminal (never on ``--json`` stdout).

    Yields ``step(text)`` to name the next step; a no-op when stderr is not a terminal.
    """
    if not show_progress(None):
        yield lambda text: None
        return
    from rich.console import Console

    with Console(stderr=True, markup=False, emoji=False).status(first) as live:
        yield lambda text: live.update(text)


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, allow_nan=False) + "\n")


def require_file(path: str, what: str = "file") -> Path:
    """A user's TOML file that exists and is regular (within the size cap), else a one-line error."""
    check_file(path, TOML, what=what)
    return Path(path)
