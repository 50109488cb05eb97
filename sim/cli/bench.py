"""``bench``: simulated changes per second, relative to a bare SimPy M/M/1 queue in the same run."""

from __future__ import annotations

import sys

from rich.table import Table

from sim.bench import run_bench
from sim.cli.common import add_json_option, print_json
from sim.cli.tables import print_renderable

HELP = "measure simulation, scoring and sweep throughput (ratio to a bare SimPy M/M/1 queue)"


def add_arguments(parser) -> None:
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep / Dask throughput part")
    add_json_option(parser)


def run(args) -> int:
    log = (lambda m: None) if args.json or not sys.stderr.isatty() else (lambda m: sys.stderr.write(f"bench: {m}\n"))
    result = run_bench(sweep=not args.no_sweep, log=log)
    if args.json:
        print_json(result)
        return 0
    table = Table(title=f"Simulated changes per second (bare SimPy M/M/1: {result['mm1_customers_per_second']:,.0f} "
                        "customers/s)", title_justify="left")
    table.add_column("scenario")
    table.add_column("model changes/s", justify="right")
    table.add_column("ratio to M/M/1", justify="right")
    table.add_column("with logs + scoring, changes/s", justify="right")
    for name, row in result["scenarios"].items():
        table.add_row(name, f"{row['model_changes_per_second']:,.0f}", f"{row['ratio_to_mm1']:.2f}",
                      f"{row['end_to_end_changes_per_second']:,.0f}")
    table.add_row("all shipped", f"{result['model_changes_per_second']:,.0f}", f"{result['ratio_to_mm1']:.2f}", "")
    print_renderable(table)
    s, w, sc = result["scaling_4x"], result["workers"], result["scoring"]
    lines = [
        f"4x the work (2x engineers x 2x days): {s['ratio']:.2f}x the time (linear = 4.0)",
        f"--workers 2 over 1 on {w['reps']} replications: {w['speedup']:.2f}x",
        f"scoring: {sc.get('rows_per_second', 0):,.0f} rows/s "
        f"({sc.get('changes', 0):,} changes + {sc.get('deployments', 0):,} deployments in "
        f"{sc.get('seconds', 0):.2f} s)",
    ]
    if "sweep" in result:
        sw = result["sweep"]
        lines.append("sweep point-replications/s: " + ", ".join(
            f"{k} {v:,.1f}" for k, v in sw.items() if isinstance(v, (int, float)) and k.endswith("per_second")))
    print_renderable("\n".join(lines))
    return 0
