"""``bench``: simulated changes per second, relative to a bare SimPy M/M/1 queue in the same run."""

from __future__ import annotations

import sys

from rich.table import Table

from sim.bench.suite import run_bench
from sim.cli.common import add_json_option, print_json
from sim.cli.tables import print_renderable

HELP = "measure simulation, scoring and sweep throughput (ratio to a bare SimPy M/M/1 queue)"


def add_arguments(parser) -> None:
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep / Dask throughput part")
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the memory probe (a year of 500 engineers)"
    )
    add_json_option(parser)


def run(args) -> int:
    quiet = args.json or not sys.stderr.isatty()

    def log(message: str) -> None:
        if not quiet:
            sys.stderr.write(f"bench: {message}\n")

    result = run_bench(sweep=not args.no_sweep, memory=not args.no_memory, log=log)
    if args.json:
        print_json(result)
        return 0
    mm1 = result["mm1_customers_per_second"]
    table = Table(
        title=f"Simulated changes per CPU-second (bare SimPy M/M/1: {mm1:,.0f} customers/s; target: end to "
        "end ≥ 0.5 of it for every shipped scenario)",
        title_justify="left",
    )
    for column in ("scenario", "model changes/s", "ratio", "end to end changes/s", "ratio"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for name, row in result["scenarios"].items():
        table.add_row(
            name,
            f"{row['model_changes_per_second']:,.0f}",
            f"{row['ratio_to_mm1']:.2f}",
            f"{row['end_to_end_changes_per_second']:,.0f}",
            f"{row['end_to_end_ratio_to_mm1']:.2f}",
        )
    print_renderable(table)
    org = Table(
        title="Organisation scale: elite, shared CI pool and experts growing with the organisation "
        "(target: cost per change ≤ 1.2x one team's)",
        title_justify="left",
    )
    for column in ("engineers", "teams", "µs per change", "x one team"):
        org.add_column(column, justify="right")
    for row in result["org_scale"]["rows"]:
        org.add_row(
            str(row["engineers"]),
            str(row["teams"]),
            f"{row['microseconds_per_change']:.1f}",
            f"{row['cost_ratio']:.2f}",
        )
    print_renderable(org)
    w, sc = result["workers"], result["scoring"]
    lines = [
        f"--workers 2 over 1 on {w['reps']} elite replications: {w['speedup']:.2f}x (target ≥ 1.7x on an idle machine)",
        f"scoring: {sc.get('rows_per_second', 0):,.0f} rows/s (target ≥ 1.5 M; {sc.get('changes', 0):,} changes + "
        f"{sc.get('deployments', 0):,} deployments in {sc.get('seconds', 0):.2f} s)",
    ]
    memory = result.get("memory")
    if memory:
        lines.append(
            f"memory: {memory['bytes_per_change']:.0f} bytes per simulated change (target ≤ 300; "
            f"{memory['changes']:,} changes, {memory['peak_rss_growth_bytes'] / 2**20:.0f} MB peak growth)"
        )
    if "sweep" in result:
        sw = result["sweep"]
        lines.append(
            "sweep point-replications/s: "
            + ", ".join(
                f"{k} {v:,.1f}"
                for k, v in sw.items()
                if isinstance(v, (int, float)) and k.endswith("per_second")
            )
        )
    print_renderable("\n".join(lines))
    return 0
