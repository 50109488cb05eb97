"""``python -m sim score``: DORA metrics of three event-log CSV files (docs/logs.md, docs/scoring.md, docs/cli.md)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.cli.common import add_log_options, status
from sim.cli.tables import band_text, score_table
from sim.errors import InputError, one_line
from sim.importers.window import narrower_import_warning
from sim.metrics.bands import BENCHMARKS, check_benchmark
from sim.metrics.conventions import (
    CHOICES,
    CONVENTIONS,
    LABELS,
    check_convention,
    score_logs_convention,
)
from sim.metrics.logs import read_logs
from sim.metrics.registry import METRICS, format_metric
from sim.metrics.scoring import parse_instant
from sim.metrics.teams import score_by_team

HELP = "Score change, deployment and incident logs (CSV) with the DORA metrics."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_log_options(parser)
    parser.add_argument("--start", metavar="DATE", help="first instant of the window (UTC, inclusive)")
    parser.add_argument("--end", metavar="DATE", help="end of the window (UTC, exclusive)")
    parser.add_argument(
        "--benchmark", default="2023", metavar="|".join(BENCHMARKS), help="band cut-offs (default 2023)"
    )
    parser.add_argument(
        "--convention",
        default="dora",
        metavar="|".join(CHOICES),
        help="score as dorasim (dora, default), Four Keys (fourkeys) or Apache DevLake (devlake) "
        "define each metric; all: side by side (docs/conventions.md)",
    )
    parser.add_argument(
        "--by",
        choices=["team"],
        default=None,
        help="team: also score each team's rows (all three files need a team column)",
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
    convention = check_convention(args.convention)
    start, end = window_bounds(args.start, args.end)
    options: dict[str, Any] = {"convention": convention, "start": start, "end": end, "benchmark": benchmark}
    with status("reading the logs") as step:
        logs = read_logs(args.changes, args.deployments, args.incidents, progress=step)
        step(f"scoring {len(logs.changes):,} changes, {len(logs.deployments):,} deployments")
        result = (
            score_by_team(logs, **options) if args.by == "team" else score_logs_convention(logs, **options)
        )
    import_warning = narrower_import_warning(args.changes, start, end)
    if import_warning:
        for document in result.values() if convention == "all" else (result,):
            document["warnings"].append(import_warning)
    if args.json:
        print(json.dumps(result, indent=2, allow_nan=False))
        return 0
    console = Console(markup=False, emoji=False)  # ids and names from the files are data, not markup
    documents = result if convention == "all" else {convention: result}
    if convention == "all":
        console.print(
            conventions_table(documents, f"The same logs, three conventions (benchmark {benchmark})")
        )
    else:
        console.print(score_table(result, title=f"{_title(convention)} (benchmark {benchmark})"))
    if args.by == "team":
        teams = [entry["team"] for entry in next(iter(documents.values()))["teams"]]
        for position, team in enumerate(teams):
            per_team = {name: doc["teams"][position] for name, doc in documents.items()}
            shown = one_line(str(team), 120)  # a name from the file: control characters shown escaped
            if convention == "all":
                console.print(conventions_table(per_team, f"Team {shown}"))
            else:
                console.print(score_table(per_team[convention], title=f"Team {shown} — {_title(convention)}"))
    for name, doc in documents.items():
        for warning in doc["warnings"]:
            prefix = f"{LABELS[name]}: " if convention == "all" else ""
            console.print(
                Text.assemble(("warning:", "yellow"), f" {prefix}{one_line(warning)}"), highlight=False
            )
    return 0


def _title(convention: str) -> str:
    return "DORA metrics" if convention == "dora" else f"DORA metrics as {LABELS[convention]} computes them"


def conventions_table(documents: dict[str, dict[str, Any]], title: str) -> Table:
    """One row per metric, one column per convention: value and band."""
    table = Table(title=title)
    table.add_column("Metric")
    names = [n for n in CONVENTIONS if n in documents]
    for name in names:
        table.add_column(LABELS[name], justify="right")
    for m in METRICS:
        cells = []
        for name in names:
            doc = documents[name]
            value = format_metric(m.key, doc["metrics"].get(m.key))
            band = doc["bands"].get(m.band_key) if m.band_key else None
            cells.append(f"{value} ({band})" if band else value)
        table.add_row(m.label, *cells)
    table.add_section()
    table.add_row("Overall", *[band_text(documents[n]["bands"].get("overall")) for n in names])
    counts = ["deployments", "changes", "incidents"]
    table.add_row("Counted", *[", ".join(f"{documents[n]['counts'][c]} {c}" for c in counts) for n in names])
    return table
