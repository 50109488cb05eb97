"""``python -m sim backtest``: how well would dorasim have forecast this team? (docs/cli.md).

Logs (the three CSVs) or a git repository (imported as ``import git --reverts`` would) are cut at
rolling dates; each cut calibrates on the window before it, forecasts N changes' ship dates and the
next days' DORA metrics, and scores them against what the logs show happened, side by side with the
throughput Monte Carlo.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from sim.analysis.backtest import (
    DEFAULT_EVERY_DAYS,
    DEFAULT_HORIZON_DAYS,
    DEFAULT_REPS,
    DEFAULT_WINDOW_DAYS,
    METHODS,
    BacktestSettings,
    backtest,
    parse_sizes,
)
from sim.analysis.executors import EXECUTORS
from sim.analysis.forecast import parse_date
from sim.cli.common import add_json_option, nonneg_int, positive_int, print_json, status
from sim.errors import InputError
from sim.metrics.logs import EventLogs, read_logs

HELP = "score dorasim's forecasts against a team's own history (rolling cut dates), beside the throughput Monte Carlo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--changes", metavar="C.csv", help="changes.csv (with --deployments and --incidents)")
    parser.add_argument("--deployments", metavar="D.csv", help="deployments.csv")
    parser.add_argument("--incidents", metavar="I.csv", help="incidents.csv")
    parser.add_argument(
        "--repo", metavar="PATH", help="a git work tree or bare repository, imported with --reverts"
    )
    parser.add_argument(
        "--tags",
        action="append",
        metavar="GLOB",
        help="with --repo: release tags matching GLOB (repeatable; default as import git)",
    )
    parser.add_argument("--cuts", nargs="+", metavar="DATE", default=None, help="cut dates, YYYY-MM-DD")
    parser.add_argument(
        "--every",
        type=positive_int("--every"),
        default=DEFAULT_EVERY_DAYS,
        metavar="DAYS",
        help=f"without --cuts: a cut every DAYS days back from the last possible one "
        f"(default {DEFAULT_EVERY_DAYS})",
    )
    parser.add_argument(
        "--max-cuts",
        type=positive_int("--max-cuts"),
        default=None,
        metavar="K",
        help="keep only the latest K cuts",
    )
    parser.add_argument(
        "--window-days",
        type=positive_int("--window-days"),
        default=DEFAULT_WINDOW_DAYS,
        help=f"days before each cut the scenario is calibrated on (default {DEFAULT_WINDOW_DAYS})",
    )
    parser.add_argument(
        "--horizon-days",
        type=positive_int("--horizon-days"),
        default=DEFAULT_HORIZON_DAYS,
        help=f"days after each cut whose DORA metrics are forecast (default {DEFAULT_HORIZON_DAYS})",
    )
    parser.add_argument(
        "--n",
        dest="sizes",
        action="append",
        default=None,
        metavar="N|actual30",
        help="changes in the forecast work (repeatable; default: actual30 — the changes created "
        "in the 30 days after the cut — and 20)",
    )
    parser.add_argument(
        "--method", choices=METHODS, default="both", help="model, throughput or both (default)"
    )
    parser.add_argument(
        "--reps",
        type=positive_int("--reps"),
        default=DEFAULT_REPS,
        help=f"model replications per forecast (default {DEFAULT_REPS})",
    )
    parser.add_argument("--seed", type=nonneg_int("--seed"), default=1, help="root seed (default 1)")
    parser.add_argument(
        "--workers",
        type=positive_int("--workers"),
        default=None,
        help="processes, one cut each (default: the machine's cores); output does not depend on it",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local processes (default) or a Dask cluster, as sweeps",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        default=None,
        help="with --executor dask: the scheduler (default: a local cluster)",
    )
    parser.add_argument(
        "--report",
        metavar="FILE.html",
        default=None,
        help="also write the backtest as a self-contained HTML report",
    )
    add_json_option(parser)


def load_logs(args: argparse.Namespace) -> tuple[EventLogs, str]:
    files = (args.changes, args.deployments, args.incidents)
    if args.repo is not None:
        if any(files):
            raise InputError(
                "backtest: give --repo or the three CSVs (--changes, --deployments, --incidents), not both"
            )
        from sim.importers.git import import_git

        return import_git(args.repo, tags=args.tags, reverts=True).logs, args.repo
    if args.tags:
        raise InputError("--tags: only with --repo")
    if not all(files):
        raise InputError("backtest: give --changes, --deployments and --incidents (or --repo PATH)")
    with status("reading the logs") as step:
        return read_logs(*files, progress=step), str(args.changes)


def run(args: argparse.Namespace) -> int:
    from sim.analysis.executors import check_executor

    check_executor(args.executor, args.scheduler)
    if args.report:  # before the run: a mistyped path must not cost its results
        from sim.report import check_report_path

        check_report_path(args.report)
    logs, name = load_logs(args)
    settings = BacktestSettings(
        window_days=args.window_days,
        horizon_days=args.horizon_days,
        sizes=parse_sizes(args.sizes or ["actual30", "20"]),
        method=args.method,
        reps=args.reps,
        seed=args.seed,
    )
    cuts = [parse_date(text, "--cuts") for text in args.cuts] if args.cuts else None
    if cuts is None and args.max_cuts:
        from sim.analysis.backtest import cut_dates
        from sim.metrics.scoring import columns_from_frames

        columns = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
        cuts = cut_dates(
            columns, every_days=args.every, window_days=args.window_days, horizon_days=args.horizon_days
        )[-args.max_cuts :]
    result = backtest(
        logs,
        cuts=cuts,
        every_days=args.every,
        settings=settings,
        workers=args.workers,
        progress="backtesting",
        name=name,
        executor=args.executor,
        scheduler=args.scheduler,
    )
    if args.report:
        from sim.report import backtest_report, write_report

        write_report(args.report, backtest_report(result))
    if args.json:
        print_json(result)
    else:
        Console(soft_wrap=False, markup=False, emoji=False).print(backtest_view(result))
    return 0


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def backtest_view(result: dict[str, Any]) -> Group:
    """Every case (misses included) and the summary of both methods."""
    cases = Table(
        title=f"Backtest of {result['logs']}: ship date of N changes from each cut (days after the cut)",
        title_justify="left",
    )
    for column in ("cut", "N", "actual", "model p5–p95", "p85", "CRPS", "throughput p5–p95", "p85", "CRPS"):
        cases.add_column(column, justify="left" if column in ("cut",) else "right")
    for case in result["cases"]:
        row = [case["cut"], str(case["n"]), _num(case.get("actual_days"))]
        if "not_judged" in case:
            cases.add_row(*row, Text(f"not judged: {case['not_judged']}", style="dim"), "", "", "", "", "")
            continue
        for method in ("model", "throughput"):
            scored = case.get(method)
            if scored is None:
                row += ["—", "—", "—"]
                continue
            style = "green" if scored["in_p5_p95"] else "red"
            row += [
                Text(f"{scored['p5']:.0f}–{scored['p95']:.0f}", style=style),
                Text(f"{scored['p85']:.0f}", style="green" if scored["le_p85"] else "red"),
                f"{scored['crps']:.1f}",
            ]
        cases.add_row(*row)
    summary = Table(
        title="Summary (target: p5–p95 covers 85–97 %, ≤ p85 in 80–92 %, model CRPS ≤ 0.9× throughput)",
        title_justify="left",
    )
    for column in (
        "method",
        "cases",
        "inside p5–p95",
        "≤ p85",
        "mean CRPS",
        "mean pinball",
        "median p5–p95 width",
    ):
        summary.add_column(column, justify="left" if column == "method" else "right")
    for method in ("model", "throughput"):
        s = result["summary"].get(method)
        if s:
            summary.add_row(
                method,
                str(s["cases"]),
                f"{s['coverage_p5_p95']:.0%}",
                f"{s['coverage_p85']:.0%}",
                f"{s['mean_crps']:.1f}",
                f"{s['mean_pinball']:.1f}",
                f"{s['median_width_p5_p95']:.0f}",
            )
    parts: list[Any] = [cases, summary]
    for skipped in result.get("not_judged") or []:
        n = f" (N = {skipped['n']})" if skipped.get("n") is not None else ""
        parts.append(Text(f"cut {skipped['cut']}{n} not judged: {skipped['reason']}", style="yellow"))
    if not result["cases"] or not any("model" in case for case in result["cases"]):
        parts.append(
            Text("No case could be judged: the summary is empty (see the reasons above).", style="yellow")
        )
    ratio = result["summary"].get("crps_ratio_model_to_throughput")
    if ratio is not None:
        parts.append(f"Model CRPS / throughput CRPS on the same cases: {ratio:.2f}")
    dora = result["summary"].get("dora") or {}
    shown = [
        f"{key}: {v['inside_p10_p90']:.0%} of {v['cases']}"
        for key, v in dora.items()
        if v.get("inside_p10_p90") is not None
    ]
    if shown:
        parts.append(
            f"Next {result['horizon_days']} days' DORA inside the model's p10–p90: " + "; ".join(shown)
        )
    sample = result["summary"].get("in_sample") or {}
    if sample.get("windows"):
        parts.append(
            f"In-sample: deployment frequency and lead time within the calibration bar in "
            f"{sample['within_bar_df_and_lead_time']:.0%} of {sample['windows']} windows with >= 3 releases"
        )
    parts.append(f"{len(result['cuts'])} cuts in {result['seconds']} s")
    return Group(*parts)
