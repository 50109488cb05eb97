"""Options and output shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.model.catalog import locate
from sim.model.scenario import Scenario, load_scenario


def add_scenario_options(parser: argparse.ArgumentParser, *, reps: bool = True, workers: bool = True) -> None:
    if reps:
        parser.add_argument("--reps", type=positive_int("--reps"), default=None,
                            help="replications (default 30)")
    parser.add_argument("--seed", type=nonneg_int("--seed"), default=None, help="root seed (default: the scenario's)")
    if workers:
        parser.add_argument("--workers", type=positive_int("--workers"), default=None,
                            help="processes (default: the machine's cores); output does not depend on it")
    parser.add_argument("--days", type=positive_int("--days"), default=None, help="horizon in days")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one dotted key, e.g. --set ci.runners=8 (repeatable)")


def add_benchmark_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", default="2023", help="band table: 2023 (default) or 2021")


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document and nothing else")


def _int_at_least(flag: str, minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r}: must be a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag} {text!r}: must be >= {minimum}")
        return value
    return parse


def positive_int(flag: str):
    """An argparse type: a whole number >= 1, with a one-line error naming the flag."""
    return _int_at_least(flag, 1)


def nonneg_int(flag: str):
    """An argparse type: a whole number >= 0, with a one-line error naming the flag."""
    return _int_at_least(flag, 0)


def scenario_from_args(path: str, args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(locate(path, "scenario"), args.overrides)
    if getattr(args, "days", None) is not None:
        scenario = scenario.with_values({"days": args.days}, source="--days")
    return scenario


def print_json(document: Any) -> None:
    sys.stdout.write(json.dumps(document, indent=2, allow_nan=False) + "\n")


def require_file(path: str, what: str = "file") -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{path}: {what} not found")
    if p.is_dir():
        raise InputError(f"{path}: is a directory, not a {what}")
    return p
