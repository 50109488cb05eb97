"""``forecast``: when will N changes' work be live? Ship dates over replications (docs/cli.md).

``SCENARIO`` is a scenario or a plan (a file with ``[[phase]]`` tables, or a shipped ``plan_*`` name);
a plan keeps its own start and phases, and the work may start on its first day or later.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text

from sim.analysis.forecast import (
    DEFAULT_CHANGES,
    DEFAULT_REPS,
    forecast,
    parse_date,
    probability_curve,
    state_date,
)
from sim.analysis.throughput import DEFAULT_REPS as THROUGHPUT_REPS
from sim.analysis.throughput import throughput_from_logs
from sim.cli.common import (
    add_json_option,
    add_reps_option,
    add_seed_option,
    add_set_option,
    add_workers_option,
    positive_int,
    print_json,
)
from sim.cli.tables import print_renderable
from sim.errors import InputError
from sim.metrics.logs import read_logs
from sim.model.advice import fit_caveat
from sim.model.catalog import locate, shipped
from sim.model.scenario import Scenario, load_scenario, parse_override, resolve_extends

DEFAULT_WINDOW_DAYS = 180  # the Monte Carlo's window without a calibrated one (docs/cli.md)
HELP = (
    "forecast when a piece of work (N changes from a start date) is live: p5–p95 dates, odds of a target, "
    "beside the throughput Monte Carlo on request"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "scenario", metavar="SCENARIO.toml", help="a scenario or a plan (file or shipped name)"
    )
    parser.add_argument(
        "--changes",
        type=positive_int("--changes"),
        default=DEFAULT_CHANGES,
        help=f"changes in the piece of work (default {DEFAULT_CHANGES})",
    )
    parser.add_argument(
        "--start", default=None, help="day the work starts, YYYY-MM-DD (default: the scenario's start)"
    )
    parser.add_argument(
        "--target", default=None, help="a date to make, YYYY-MM-DD: the probability of being live by it"
    )
    add_reps_option(parser, f"replications (default {DEFAULT_REPS})", DEFAULT_REPS)
    add_seed_option(parser, "root seed (default: the scenario's)")
    add_workers_option(parser)
    add_set_option(parser)
    parser.add_argument(
        "--method",
        choices=("model", "throughput", "both"),
        default="model",
        help="model (default), throughput (the throughput Monte Carlo on the logs' window) or both",
    )
    parser.add_argument(
        "--logs",
        metavar="DIR",
        default=None,
        help="with --method throughput|both: the folder holding changes.csv, deployments.csv and "
        "incidents.csv whose window is resampled",
    )
    parser.add_argument(
        "--window-days",
        type=positive_int("--window-days"),
        default=None,
        help="days before the start the throughput Monte Carlo resamples (default: a calibrated scenario's own "
        "window when the work starts at its end, else 180)",
    )
    parser.add_argument(
        "--report",
        metavar="FILE.html",
        default=None,
        help="also write a self-contained HTML report (charts included)",
    )
    add_json_option(parser)


def _is_plan(text: str) -> tuple[bool, Path]:
    path = Path(text)
    if not path.exists() and path.parent == Path(".") and path.name.removesuffix(".toml") in shipped("plan"):
        return True, locate(text, "plan")
    path = locate(text, "scenario")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if "phase" in data or "reps" in data:
            return True, path
        # a file that extends a plan (a calibrated organisation's day-0 team phases) is a plan too
        return "phase" in resolve_extends(data, path.resolve(), source=str(path)), path
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, InputError):
        return False, path  # the scenario loader reports it in one line


def load_subject(text: str, overrides: list[str]) -> tuple[Scenario, tuple[Any, ...], str]:
    """(scenario, plan phases, name) for a scenario or plan file, with ``--set`` overrides applied."""
    is_plan, path = _is_plan(text)
    if not is_plan:
        scenario = load_scenario(path, overrides)
        return scenario, (), scenario.name
    from sim.analysis.plan import load_plan

    plan = load_plan(path)
    scenario = plan.scenario
    if overrides:
        values = dict(parse_override(item) for item in overrides)
        scenario = scenario.with_values(values, source="--set")
    return scenario, plan.phases, plan.name


def run(args: argparse.Namespace) -> int:
    if args.report:  # before the run: a mistyped path must not cost its results
        from sim.report import check_report_path

        check_report_path(args.report)
    if args.method != "model" and args.logs is None:
        raise InputError(
            f"--method {args.method}: give --logs DIR (the folder with the team's three CSVs) for the "
            f"throughput Monte Carlo to resample"
        )
    scenario, phases, name = load_subject(args.scenario, args.overrides)
    start = parse_date(args.start, "--start") if args.start else None
    target = parse_date(args.target, "--target") if args.target else None
    throughput = None
    if args.method != "model":
        throughput = throughput_side(args, start or state_date(scenario) or scenario.start, target, scenario)
    if args.method == "throughput":
        assert throughput is not None
        result = throughput
    else:
        result = forecast(
            scenario,
            args.changes,
            start,
            reps=args.reps,
            seed=args.seed,
            target=target,
            phases=phases,
            workers=args.workers,
            name=name,
            progress=f"forecasting {name}",
        )
        result["method"] = "model"
        result["caveat"] = fit_caveat(scenario)
        if throughput is not None:
            result["throughput"] = throughput
    if args.report:
        from sim.report import forecast_report, write_report

        shown = [result, result["throughput"]] if result.get("throughput") else [result]
        curves = {r["scenario"]: probability_curve(r) for r in shown}
        write_report(args.report, forecast_report(shown, curves, {name: scenario}))
    if args.json:
        print_json(result)
    else:
        print_renderable(forecast_table(result))
        if result.get("throughput"):
            print_renderable(forecast_table(result["throughput"]))
        if result.get("caveat"):
            print_renderable(Text(f"note: {result['caveat']}", style="yellow"))
        side = result.get("throughput") or (result if result.get("method") == "throughput" else None)
        if side is not None and not side.get("released_changes_in_window"):
            window = side.get("window") or {}
            print_renderable(
                Text(
                    f"note: no change was released from {window.get('start')} to {window.get('end')}: the "
                    f"throughput Monte Carlo has nothing to resample (choose a window with releases, --window-days)",
                    style="yellow",
                )
            )
    return 0


def monte_carlo_window(
    scenario: Scenario, start: dt.date, window_days: int | None
) -> tuple[dt.date, dt.date]:
    """The days the Monte Carlo resamples: ``--window-days`` before the start; without it, the calibration window
    of a calibrated scenario whose window ends where the work starts (the same window as the model's), else 180."""
    if window_days is None and scenario.calibration is not None:
        begin_text, _, end_text = scenario.calibration.window.partition(" to ")
        try:
            begin, end = dt.date.fromisoformat(begin_text.strip()), dt.date.fromisoformat(end_text.strip())
        except ValueError:
            begin = end = None  # type: ignore[assignment]
        if begin is not None and end == start and begin < end:
            return begin, end
    return start - dt.timedelta(days=window_days or DEFAULT_WINDOW_DAYS), start


def throughput_side(args: argparse.Namespace, start: Any, target: Any, scenario: Scenario) -> dict[str, Any]:
    """The throughput Monte Carlo of ``--logs`` for the same work (its window: :func:`monte_carlo_window`)."""
    folder = Path(args.logs)
    if not folder.is_dir():
        raise InputError(f"--logs {args.logs}: not a folder (give the folder holding the three CSVs)")
    logs = read_logs(
        str(folder / "changes.csv"), str(folder / "deployments.csv"), str(folder / "incidents.csv")
    )
    seed = 1 if args.seed is None else args.seed
    begin, end = monte_carlo_window(scenario, start, args.window_days)
    result = throughput_from_logs(
        logs,
        args.changes,
        start,
        window_start=begin,
        window_end=end,
        reps=max(args.reps, THROUGHPUT_REPS),
        seed=seed,
    )
    if target is not None:
        days = [None if d is None else (dt.date.fromisoformat(d) - start).days for d in result["ship_dates"]]
        allowed = (target - start).days
        result["target"] = target.isoformat()
        result["probability_by_target"] = sum(1 for d in days if d is not None and d <= allowed) / len(days)
    return result


def forecast_table(result: dict[str, Any]) -> Table:
    title = (
        f"{result['scenario']}: {result['changes']} changes from {result['start']} — "
        f"{result['reps']} replications, seed {result['seed']}"
    )
    table = Table(title=title, title_justify="left")
    if result.get("method") == "throughput":
        window = result.get("window") or {}
        table.title = (
            f"throughput Monte Carlo: {result['changes']} changes from {result['start']} — resampling "
            f"{window.get('start')} to {window.get('end')}, {result['reps']} replications"
        )
    table.add_column("live by")
    table.add_column("date")
    table.add_column("days after the start", justify="right")
    for q in (5, 10, 50, 85, 95):
        date, days = result[f"p{q}"], result[f"days_p{q}"]
        table.add_row(
            f"p{q} ({q}% of replications)",
            date or "not within the horizon",
            "—" if days is None else str(days),
        )
    if result["target"] is not None:
        table.add_row(
            f"target {result['target']}", f"P(live by then) = {result['probability_by_target']:.0%}", ""
        )
    if result["unfinished"]:
        table.add_row(
            "not finished",
            f"{result['unfinished']} replications within {result['max_horizon_days']} days",
            "",
        )
    return table
