"""``python -m sim calibrate``: fit a scenario to a team's own change, deployment and incident logs."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

from rich.console import Console, Group, JustifyMethod
from rich.table import Table
from rich.text import Text

from sim.analysis.calibrate import CHECK_REPS, DEFAULT_REPS, METRICS, calibrate, default_base_path
from sim.analysis.calibrate_org import calibrate_org, team_names
from sim.analysis.ci_facts import default_ci_path, read_ci_runs
from sim.analysis.forecast import parse_date
from sim.analysis.parallel import show_progress
from sim.cli.common import (
    add_benchmark_option,
    add_json_option,
    add_log_options,
    add_reps_option,
    add_seed_option,
    add_workers_option,
    print_json,
    status,
)
from sim.cli.tables import band_text
from sim.errors import InputError
from sim.files import check_writable, write_text
from sim.metrics.logs import read_logs
from sim.metrics.registry import BY_KEY, format_metric
from sim.model.catalog import locate
from sim.model.scenario import load_scenario

HELP = "Fit a baseline scenario to a team's logs (CSV), so forecasts start from their reality."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_log_options(parser)
    parser.add_argument(
        "--ci-runs",
        metavar="FILE.csv",
        default=None,
        help="CI runs (ci_runs.csv: run_id, commit, time_queued, time_started, time_finished, "
        "conclusion, attempt): suite duration and spread, flaky rate and runners are read from "
        "them (default: ci_runs.csv beside changes.csv when there is one)",
    )
    parser.add_argument(
        "--no-ci-runs",
        action="store_true",
        help="leave the CI parameters at the base's values even when ci_runs.csv is beside the logs",
    )
    parser.add_argument(
        "--out", required=True, metavar="NEW.toml", help="where to write the calibrated scenario"
    )
    parser.add_argument(
        "--base",
        metavar="SCENARIO.toml",
        help="scenario whose values stand where the logs cannot tell (default scenarios/baseline.toml)",
    )
    add_reps_option(
        parser, f"replications per parameter set tried while fitting (default {DEFAULT_REPS})", DEFAULT_REPS
    )
    add_reps_option(
        parser,
        f"replications of the final check the report shows (default {CHECK_REPS})",
        CHECK_REPS,
        flag="--check-reps",
    )
    add_seed_option(
        parser, "root seed of every simulation (default: the base scenario's); written to the file"
    )
    parser.add_argument(
        "--start",
        metavar="DATE",
        default=None,
        help="first day of the window, YYYY-MM-DD (default: the window import_report.json beside "
        "changes.csv records, else inferred from the logs)",
    )
    parser.add_argument(
        "--end", metavar="DATE", default=None, help="day after the window, YYYY-MM-DD (end exclusive)"
    )
    add_workers_option(parser)
    add_benchmark_option(parser)
    add_json_option(parser)


def recorded_window(changes_csv: str) -> tuple[dt.date, dt.date] | None:
    """The window an import recorded in ``import_report.json`` beside ``changes.csv`` (None: none recorded).

    ``window.start``/``window.end`` when the report has them, else ``settings.since``/``settings.until``
    when both were given to the import.
    """
    path = Path(changes_csv).parent / "import_report.json"
    if not path.is_file():
        return None
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise InputError(
            f"{path}: not a readable JSON import report (remove it or pass --start and --end)"
        ) from None
    window = report.get("window") if isinstance(report, dict) else None
    settings = report.get("settings") if isinstance(report, dict) else None
    pair = None
    if isinstance(window, dict) and window.get("start") and window.get("end"):
        pair = (window["start"], window["end"])
    elif isinstance(settings, dict) and settings.get("since") and settings.get("until"):
        pair = (settings["since"], settings["until"])
    if pair is None:
        return None
    return parse_date(str(pair[0])[:10], f"{path} window start"), parse_date(
        str(pair[1])[:10], f"{path} window end"
    )


def chosen_window(args: argparse.Namespace) -> tuple[tuple[dt.date, dt.date] | None, str]:
    """(window, where it comes from) for ``--start``/``--end`` (both or neither) or the import's record."""
    if (args.start is None) != (args.end is None):
        given = "--start" if args.start is not None else "--end"
        raise InputError(f"{given}: give --start and --end together (the window is [start, end))")
    if args.start is not None:
        return (parse_date(args.start, "--start"), parse_date(args.end, "--end")), "--start/--end"
    recorded = recorded_window(args.changes)
    return recorded, ("import_report.json" if recorded else "inferred from the logs")


def _out_path(text: str) -> Path:
    out = Path(text)
    if out.is_dir():
        raise InputError(f"--out {text}: is a folder; give a file name such as {out / 'calibrated.toml'}")
    if not out.parent.exists():
        raise InputError(f"--out {text}: folder {out.parent} does not exist")
    return check_writable(out, name=f"--out {text}")


def run(args: argparse.Namespace) -> int:
    out = _out_path(args.out)
    base_path = Path(args.base) if args.base else default_base_path()
    base = load_scenario(locate(str(base_path), "scenario")) if base_path is not None else None
    with status("reading the logs") as step:
        logs = read_logs(args.changes, args.deployments, args.incidents, progress=step)
    window, window_source = chosen_window(args)
    if args.no_ci_runs and args.ci_runs is not None:
        raise InputError("--ci-runs and --no-ci-runs: give one or the other")
    ci_path = (
        None
        if args.no_ci_runs
        else args.ci_runs
        if args.ci_runs is not None
        else default_ci_path(args.changes)
    )
    ci_runs = read_ci_runs(ci_path) if ci_path is not None else None
    organisation = len(team_names(logs)) > 1  # several teams: one organisation (sim.analysis.calibrate_org)
    fit = calibrate_org if organisation else calibrate
    bar = _ProgressBar() if show_progress(None) else None
    try:
        result = fit(
            logs,
            base=base,
            reps=args.reps,
            check_reps=args.check_reps,
            seed=args.seed,
            workers=args.workers,
            benchmark=args.benchmark,
            window=window,
            callback=bar.update if bar else None,
            ci_runs=ci_runs,
        )
    finally:
        if bar is not None:
            bar.close()
    result.report["window"]["source"] = window_source
    result.report["ci_runs"] = str(ci_path) if ci_path is not None else None
    write_text(out, result.toml, name=f"--out {args.out}")
    if args.json:
        print_json(result.report)
        return 0
    view = organisation_view if organisation else report_view
    Console(soft_wrap=False, markup=False, emoji=False).print(view(result.report, out))
    return 0


def organisation_view(report: dict[str, Any], out: Path | None = None) -> Group:
    """An organisation's calibration: each team's observed metrics beside its simulated p50 in the organisation."""
    window = report["window"]
    table = Table(
        title=f"Organisation calibration: each team observed vs simulated p50 in the organisation "
        f"({window['start']} to {window['end']}, {report['reps']} replications)",
        title_justify="left",
    )
    for column, justify in (
        ("team", "left"),
        ("engineers (logs → model)", "right"),
        *((BY_KEY[key].label, "right") for key in METRICS),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    rows = [
        (
            str(t["team"]) if str(t["team"]) == str(t["number"]) else f"{t['number']} {t['team']}",
            f"{t['engineers_observed']} → {t['engineers_in_model']}",
            t["metrics"],
        )
        for t in report["teams"]
    ]
    rows.append(("organisation", "", report["metrics"]))
    for name, people, metrics in rows:
        cells = [
            Text(
                f"{format_metric(key, metrics[key]['observed'])} / {format_metric(key, metrics[key]['simulated_p50'])}",
                style="" if metrics[key]["within_bar"] is not False else "red",
            )
            for key in METRICS
        ]
        table.add_row(name, people, *cells)
    parts: list[Any] = [table, "Cells: observed / simulated p50 (red: outside the calibration bar)."]
    parts += [Text(f"missing: {note}", style="yellow") for note in report["missing"]]
    parts += [Text(f"warning: {note}", style="yellow") for note in report["warnings"]]
    if out is not None:
        parts.append(
            f"Wrote {out}: each team's own values are a day-0 phase; run it with `plan` or `forecast`, or "
            f"extend it with a plan of your own."
        )
    return Group(*parts)


def report_view(report: dict[str, Any], out: Path | None = None) -> Group:
    """The calibration report as tables: observed vs simulated, then what was estimated and fitted."""
    window = report["window"]
    metrics = Table(
        title=f"Calibration: observed ({window['start']} to {window['end']}, {window['days']} days) vs "
        f"simulated p50 over {report['reps']} replications",
        title_justify="left",
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("metric", "left"),
        ("observed", "right"),
        ("band", "left"),
        ("simulated p50", "right"),
        ("p10–p90", "right"),
        ("band", "left"),
        ("error", "right"),
    )
    for column, justify in columns:
        metrics.add_column(column, justify=justify)
    for key in (*METRICS, "rework_rate"):
        row = report["metrics"][key]
        error = row["error"]
        if error is None:
            error_text = Text("—", style="dim")
        else:
            shown = f"{error:.2f}" if key == "change_failure_rate" else f"{error:.0%}"
            error_text = Text(shown, style="green" if row["within_bar"] else "red")
        spread = f"{format_metric(key, row['simulated_p10'])} – {format_metric(key, row['simulated_p90'])}"
        metrics.add_row(
            BY_KEY[key].label,
            format_metric(key, row["observed"]),
            band_text(row["observed_band"]),
            format_metric(key, row["simulated_p50"]),
            spread,
            band_text(row["simulated_band"]),
            error_text,
        )
    params = Table(
        title="Parameters read from the logs or fitted (everything else is the base's)", title_justify="left"
    )
    for column in ("key", "value", "origin", "how"):
        params.add_column(column)
    for key, item in report["parameters"].items():
        if item["origin"] != "default":
            params.add_row(key, str(item["value"]), item["origin"], item["note"])
    parts: list[Any] = [metrics, params]
    split = report["lead_time_split"]
    if split.get("median_hours_before_release") is not None:
        parts.append(
            f"Lead time split: half the changes are ready to release within "
            f"{format_metric('lead_time_hours', split['median_hours_before_release'])}; the rest of the "
            f"median lead time is waiting for the release and deploying."
        )
    if window.get("source"):
        parts.append(f"Window {window['start']} to {window['end']} (end exclusive): {window['source']}.")
    parts += [Text(f"missing: {note}", style="yellow") for note in report["missing"]]
    parts += [Text(f"warning: {note}", style="yellow") for note in report["warnings"]]
    fit = report["fit"]
    parts.append(
        f"Fitted {', '.join(fit['parameters']) or 'nothing'} in {fit['evaluations']} simulated parameter "
        f"sets ({fit['reps']} replications each)."
    )
    if report.get("caveat"):
        parts.append(Text(f"note: {report['caveat']}", style="yellow"))
    if out is not None:
        parts.append(f"Wrote {out}: use it as the baseline of `compare` and `plan`.")
    return Group(*parts)


class _ProgressBar:
    """A rich progress bar on stderr driven by ``callback(done, total)``."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("calibrating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True, markup=False, emoji=False),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task("calibrating", total=None)

    def update(self, done: int, total: int) -> None:
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        self._progress.stop()
