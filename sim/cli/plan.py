"""``plan``: forecast a transformation plan week by week (docs/plans.md, docs/cli.md)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from sim.analysis.plan import load_plan, run_plan
from sim.analysis.results import MetricStats, PlanResult
from sim.cli.common import (
    MAX_DAYS,
    add_benchmark_option,
    add_json_option,
    add_reps_option,
    add_seed_option,
    add_set_option,
    add_workers_option,
    positive_int,
    print_json,
    require_file,
)
from sim.cli.tables import band_text, print_renderable, run_table
from sim.metrics.bands import check_benchmark
from sim.metrics.registry import BY_KEY, METRIC_KEYS
from sim.model.advice import fit_caveat
from sim.model.catalog import locate

HELP = "forecast a phased transformation plan week by week: DORA metrics, bands and the odds of Elite"


def add_arguments(parser) -> None:
    parser.add_argument("plan", metavar="PLAN.toml")
    add_reps_option(parser, "replications (default: the plan's reps, else 30)")
    add_seed_option(parser, "root seed (default: the plan's)")
    add_workers_option(parser)
    parser.add_argument(
        "--days",
        type=positive_int("--days", MAX_DAYS),
        default=None,
        help="horizon in days (default: the plan's); phases that start later are left out",
    )
    add_set_option(parser, "override one dotted key of the starting scenario (repeatable)")
    add_benchmark_option(parser)
    add_json_option(parser)
    parser.add_argument(
        "--report",
        metavar="FILE.html",
        default=None,
        help="also write a self-contained HTML report (charts included)",
    )


def run(args) -> int:
    if args.report:  # before the run: a mistyped path must not cost its results
        from sim.report import check_report_path

        check_report_path(args.report)
    benchmark = check_benchmark(args.benchmark)
    plan = load_plan(require_file(str(locate(args.plan, "plan")), "plan file"), args.overrides, args.days)
    result = run_plan(
        plan,
        args.reps,
        args.seed,
        workers=args.workers,
        benchmark=benchmark,
        progress=f"simulating {plan.name}",
    )
    if args.report:
        from sim.report import plan_report, write_report

        write_report(args.report, plan_report([result], {plan.name: plan.scenario}))
    caveat = fit_caveat(plan.scenario)
    if caveat:  # a calibrated baseline whose fit is poor or data thin says so next to the results
        result["caveat"] = caveat
    if args.json:
        print_json(result)
    else:
        print_renderable(plan_view(result))
        if caveat:
            print_renderable(Text(f"note: {caveat}", style="yellow"))
    return 0


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def phases_table(result: PlanResult) -> Table:
    table = Table(title=f"{result['plan']}: the phases (adoption costs are assumed)", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("day", justify="right")
    table.add_column("ramp", justify="right")
    table.add_column("phase")
    table.add_column("changes")
    table.add_column("cost: output / defects", justify="right")
    for number, phase in enumerate(result["phases"], start=1):
        changes = (
            ", ".join(f"{key} → {_value_text(value)}" for key, value in phase["set"].items()) or "nothing"
        )
        cost = (
            f"−{phase['capacity_cost']:.0%} / +{phase['defect_cost']:.0%}"
            if phase["ramp_days"] and (phase["capacity_cost"] or phase["defect_cost"])
            else "none"
        )
        table.add_row(
            str(number),
            _value_text(phase["day"]),
            f"{_value_text(phase['ramp_days'])} d",
            phase["name"],
            changes,
            cost,
        )
    return table


def _phase_marks(result: PlanResult, start_day: int, days: int) -> str:
    """Phase numbers that start in a week (▸) or are still ramping in (…)."""
    marks = []
    for number, phase in enumerate(result["phases"], start=1):
        begin, end = phase["day"], phase["day"] + phase["ramp_days"]
        if start_day <= begin < start_day + days:
            marks.append(f"▸{number}")
        elif begin < start_day < end:
            marks.append(f"…{number}")
    return " ".join(marks)


def _unit(key: str, value: float) -> tuple[float, str]:
    """(scale, suffix) for a compact cell, chosen from the p50 so a range reads in the same unit."""
    if key == "deployment_frequency_per_day":
        return 1.0, "/d"
    if BY_KEY[key].kind == "duration":
        if value < 1:
            return 60.0, "min"
        return (1.0, "h") if value < 48 else (1 / 24, "d")
    return 100.0, "%"


def _compact(value: float, scale: float) -> str:
    scaled = abs(value * scale)
    if scaled >= 100 or (scale in (60.0, 100.0) and scaled >= 10):
        return f"{scaled:.0f}"
    return f"{scaled:.1f}" if scaled >= 1 or scaled == 0 else f"{scaled:.2g}"


def compact_cell(key: str, m: MetricStats) -> str:
    """``p50`` over ``p10–p90`` in one unit, e.g. ``10.9d`` / ``8.2–13.8``."""
    p10, p50, p90 = m["p10"], m["p50"], m["p90"]
    if p10 is None or p50 is None or p90 is None:  # all three or none: replications without a value
        return "—"
    scale, suffix = _unit(key, p50)
    return f"{_compact(p50, scale)}{suffix}\n{_compact(p10, scale)}–{_compact(p90, scale)}"


def trajectory_table(result: PlanResult) -> Table:
    title = (
        f"Week by week over {result['reps']} replications (seed {result['seed']}, DORA {result['benchmark']} "
        f"bands): each cell is the p50 over the p10–p90 range; ▸n phase n starts, …n still ramping in"
    )
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        padding=(0, 1),
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("wk", justify="right")
    table.add_column("phase")
    for key in METRIC_KEYS:
        table.add_column(BY_KEY[key].tiny, justify="right", no_wrap=True)
    table.add_column("band")
    table.add_column("P(elite)", justify="right")
    for week in result["weeks"]:
        label = f"{week['week']}" + (f" ({week['days']} d)" if week["days"] != 7 else "")
        cells = [compact_cell(key, week["metrics"][key]) for key in METRIC_KEYS]
        table.add_row(
            label,
            _phase_marks(result, week["start_day"], week["days"]),
            *cells,
            band_text(week["bands"]["overall"]),
            f"{week['band_probabilities']['elite']:.0%}",
            end_section=True,
        )
    return table


def plan_view(result: PlanResult) -> Group:
    final = result["final"].copy()
    final["scenario"] = f"{result['plan']}: the last {final['days']} days"
    first = result["first_elite_week"]
    closing = (
        f"First week whose p50s are Elite on all four keys: "
        f"{'none' if first is None else f'week {first}'}\n"
        f"Probability of being Elite over the last {final['days']} days: "
        f"{result['probability_elite_at_end']:.0%}"
    )
    return Group(phases_table(result), "", trajectory_table(result), "", run_table(final), "", closing)
