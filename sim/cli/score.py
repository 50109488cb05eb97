"""``python -m sim score``: DORA metrics of three event-log CSV files (docs/logs.md, docs/scoring.md, docs/cli.md)."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.text import Text

from sim.cli.common import status
from sim.cli.tables import score_table
from sim.errors import InputError, one_line
from sim.metrics.bands import BENCHMARKS, check_benchmark
from sim.metrics.logs import read_logs
from sim.metrics.scoring import parse_instant, score_logs

HELP = "Score change, deployment and incident logs (CSV) with the DORA metrics."


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
    parser.add_argument("--start", metavar="DATE", help="first instant of the window (UTC, inclusive)")
    parser.add_argument("--end", metavar="DATE", help="end of the window (UTC, exclusive)")
    parser.add_argument(
        "--benchmark", default="2023", metavar="|".join(BENCHMARKS), help="band cut-offs (default 2023)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as one JSON document")


def window_bounds(start: str | None, end: str | None) -> tuple[object, object]:
    """Both bounds or neither; each a date/time; end after start."""
    if (start is None) != (end is None):
        given, missing = ("--start", "--end") if start is not None else ("--end", "--start")
        raise InputError(f"{given} needs {missing} too: give both or neither")
    if start is None:
        return None, None
    start_ts, end_ts = parse_instant(start, "--start"), parse_instant(end, "--end")
    if end_ts <= start_ts:
        raise InputError(f"--end {end} must be after --start {start}")
    return start_ts, end_ts


def run(args: argparse.Namespace) -> int:
    benchmark = check_benchmark(args.benchmark)
    start, end = window_bounds(args.start, args.end)
    with status("reading the logs") as step:
        logs = read_logs(args.changes, args.deployments, args.incidents, progress=step)
        step(f"scoring {len(logs.changes):,} changes, {len(logs.deployments):,} deployments")
        result = score_logs(logs, start=start, end=end, benchmark=benchmark)
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
        return 0
    console = Console(markup=False, emoji=False)  # ids and names from the files are data, not markup
    console.print(score_table(result, title=f"DORA metrics (benchmark {benchmark})"))
    for warning in result["warnings"]:
        console.print(Text.assemble(("warning:", "yellow"), f" {one_line(warning)}"), highlight=False)
    return 0
