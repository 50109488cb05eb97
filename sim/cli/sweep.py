"""``sweep``: vary levers around a base scenario; tornado and global sensitivity per DORA metric."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console, Group
from rich.table import Table

from sim.analysis.executors import EXECUTORS, check_executor
from sim.analysis.results import SweepResult
from sim.analysis.sweep import completed_points, format_value, load_sweep, ranked_levers, run_sweep
from sim.cli.common import add_json_option, add_workers_option, print_json, require_file
from sim.errors import InputError
from sim.metrics.registry import BY_KEY, METRIC_KEYS, format_duration, format_metric
from sim.model.catalog import locate

HELP = (
    "sweep levers around a scenario: which lever moves which DORA metric most (tornado + global sensitivity)"
)
METHOD_NAMES = {"morris": "Morris", "sobol": "Sobol'"}


def add_arguments(parser) -> None:
    parser.add_argument("sweep", metavar="SWEEP.toml")
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default=None,
        help="local processes (default) or a Dask cluster (--scheduler, else a LocalCluster)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="Dask scheduler, e.g. tcp://host:8786 (implies --executor dask)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        default=None,
        help="tidy table (.parquet or .csv), one row per point x metric; "
        "an existing table of the same sweep is resumed",
    )
    add_workers_option(
        parser,
        "local processes (default and most: the machine's cores), or the workers of the "
        "LocalCluster that --executor dask starts without --scheduler (default 2); "
        "output does not depend on it",
    )
    add_json_option(parser)


EXTRA_MODULES = {
    "SALib": ("the global sensitivity analysis", ', or set sensitivity = "none" in the sweep file'),
    "dask": ("--executor dask", ""),
    "distributed": ("--executor dask", ""),
}


def run(args) -> int:
    try:
        return _run(args)
    except ModuleNotFoundError as exc:  # the sweep extra is not installed: say how to get it, no traceback
        root = (exc.name or "").split(".")[0]
        if root not in EXTRA_MODULES:
            raise
        needs, other = EXTRA_MODULES[root]
        raise InputError(
            f"{root} is not installed and {needs} needs it: pip install 'dorasim[sweep]'{other}"
        ) from None


def _run(args) -> int:
    executor = check_executor(args.executor or ("dask" if args.scheduler else "local"), args.scheduler)
    spec = load_sweep(require_file(str(locate(args.sweep, "sweep")), "sweep file"))
    if args.out:
        already = completed_points(spec, args.out)
        if already:
            sys.stderr.write(f"resuming: {already} of {len(spec.plan())} points already in {args.out}\n")
    result = run_sweep(
        spec,
        executor=executor,
        scheduler=args.scheduler,
        workers=args.workers,
        out=args.out,
        progress=f"sweep {spec.name}",
    )
    if args.json:
        print_json(result)
    else:
        console = Console(soft_wrap=False, markup=False, emoji=False)
        if not console.is_terminal:  # a file or a pipe: wide enough that lever names stay whole
            console = Console(soft_wrap=False, width=140, markup=False, emoji=False)
        console.print(summary(result, args.out))
    return 0


def summary(result: SweepResult, out: str | None = None) -> Group:
    parts = ", ".join(f"{n} {part}" for part, n in result["parts"].items())
    method = METHOD_NAMES.get(result["sensitivity_method"])
    head = (
        f"Sweep {result['sweep']} around {result['base']}: {result['days']} days, {result['points']} points "
        f"({parts}) x {result['reps']} replications, seed {result['seed']}; same seeds at every point"
    )
    items: list[Any] = [head, top_levers_table(result)]
    for metric in METRIC_KEYS:
        items.append(metric_table(result, metric))
    items.extend(result["warnings"])
    if result.get("unstable_points"):
        items.append(
            f"⚠ {result['unstable_points']} of {result['points']} points have a backlog that runs away "
            "(the team makes more changes than it ships): their numbers grow with the length of the run. "
            "Tornado rows with an unstable end are marked; read their swing as 'this setting breaks the "
            "flow', not as a size."
        )
    notes = [
        "Tornado: one lever at a time from its low to its high setting, every other lever at the base; "
        "swing = |p50 at high − p50 at low|."
    ]
    if method:
        notes.append(
            f"Global ({method}): each lever's share of what moves the metric over the whole ranges, "
            "all levers varying together (first order: the part that does not depend on the other levers)."
        )
    if out:
        notes.append(f"Table: {out} (one row per point x metric).")
    items.extend(notes)
    return Group(*items)


def top_levers_table(result: SweepResult) -> Table:
    method = METHOD_NAMES.get(result["sensitivity_method"])
    table = Table(title="Which levers matter most, per metric (top three)", title_justify="left")
    table.add_column("metric")
    table.add_column("around the base (tornado swing)")
    if method:
        table.add_column(f"over the whole ranges ({method} share)")
    for metric in METRIC_KEYS:
        rows = ranked_levers(result["tornado"][metric])[:3]
        local = (
            "\n".join(
                f"{r['key']} ({format_swing(metric, r['swing'])})"
                + (" ⚠ unstable" if r.get("unstable") else "")
                for r in rows
            )
            or "none moves it"
        )
        cells = [BY_KEY[metric].label, local]
        if method:
            ranked = [(k, v) for k, v in result["sensitivity"].get(metric, {}).items() if v["total"]][:3]
            cells.append("\n".join(f"{k} ({v['total']:.0%})" for k, v in ranked) or "—")
        table.add_row(*cells)
    return table


def metric_table(result: SweepResult, metric: str) -> Table:
    base = format_metric(metric, result["base_p50"][metric])
    method = METHOD_NAMES.get(result["sensitivity_method"])
    table = Table(title=f"{BY_KEY[metric].label} — base p50 {base}", title_justify="left")
    for name in ("lever", "setting low → high", "p50 at low", "p50 at high", "swing", "backlog"):
        table.add_column(
            name, justify="left" if name.startswith(("lever", "setting", "backlog")) else "right"
        )
    if method:
        table.add_column(f"{method} total", justify="right")
        table.add_column("first order", justify="right")
    indices = result["sensitivity"].get(metric, {})
    for row in result["tornado"][metric]:
        cells = [
            row["key"],
            f"{_setting(row['low_value'])} → {_setting(row['high_value'])}",
            format_metric(metric, row["low"]),
            format_metric(metric, row["high"]),
            format_swing(metric, row["swing"]),
            "UNSTABLE at an end" if row.get("unstable") else "stable",
        ]
        if method:
            index = indices.get(row["key"], {})
            cells += [_share(index.get("total")), _share(index.get("first_order"))]
        table.add_row(*cells)
    return table


def format_swing(metric: str, swing: float | None) -> str:
    if swing is None:
        return "—"
    if metric == "deployment_frequency_per_day":
        return f"{swing:.2f} / day"
    if BY_KEY[metric].kind == "duration":
        return format_duration(swing)
    return f"{swing * 100:.1f} pts"


def _setting(value: Any) -> str:
    return value if isinstance(value, str) else format_value(value)


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"
