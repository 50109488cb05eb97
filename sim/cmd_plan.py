"""``plan``: forecast a transformation plan week by week (DESIGN §6, §7)."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table

from sim.bands import check_benchmark
from sim.cli_common import (_nonneg_int, _positive_int, add_benchmark_option, add_json_option, print_json,
                            require_file)
from sim.fmt import band_text, format_metric
from sim.plan import load_plan, run_plan
from sim.report import print_renderable, run_table
from sim.scoring import METRIC_KEYS

HELP = "forecast a phased transformation plan week by week: DORA metrics, bands and the odds of Elite"

SHORT_LABELS = {
    "deployment_frequency_per_day": "deploys",
    "lead_time_hours": "lead time",
    "change_failure_rate": "change fail rate",
    "time_to_restore_hours": "restore time",
    "rework_rate": "rework",
}


def add_arguments(parser) -> None:
    parser.add_argument("plan", metavar="PLAN.toml")
    parser.add_argument("--reps", type=_positive_int("--reps"), default=None,
                        help="replications (default: the plan's reps, else 30)")
    parser.add_argument("--seed", type=_nonneg_int("--seed"), default=None, help="root seed (default: the plan's)")
    parser.add_argument("--workers", type=_positive_int("--workers"), default=None,
                        help="processes (default: the machine's cores); output does not depend on it")
    add_benchmark_option(parser)
    add_json_option(parser)


def run(args) -> int:
    benchmark = check_benchmark(args.benchmark)
    plan = load_plan(require_file(args.plan, "plan file"))
    result = run_plan(plan, args.reps, args.seed, workers=args.workers, benchmark=benchmark,
                      progress=f"simulating {plan.name}")
    if args.json:
        print_json(result)
    else:
        print_renderable(plan_view(result))
    return 0


def _phase_notes(result: dict[str, Any], start_day: int, days: int) -> str:
    """Phases that start in a week, or a note that one is still ramping in."""
    end_day = start_day + days
    starting = [p["name"] for p in result["phases"] if start_day <= p["day"] < end_day]
    if starting:
        return "starts: " + ", ".join(starting)
    ramping = [p["name"] for p in result["phases"] if p["day"] < start_day < p["day"] + p["ramp_days"]]
    return "ramping: " + ", ".join(ramping) if ramping else ""


def trajectory_table(result: dict[str, Any]) -> Table:
    title = (f"{result['plan']} — {result['days']} days week by week, {result['reps']} replications, "
             f"seed {result['seed']}, DORA {result['benchmark']} bands. Cells: p50 and (p10–p90) across "
             f"replications")
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("week", justify="right")
    table.add_column("plan")
    for key in METRIC_KEYS:
        table.add_column(SHORT_LABELS[key], justify="right")
    table.add_column("band of p50")
    table.add_column("P(elite)", justify="right")
    for week in result["weeks"]:
        label = f"{week['week']}" + (f"\n({week['days']} d)" if week["days"] != 7 else "")
        cells = []
        for key in METRIC_KEYS:
            m = week["metrics"][key]
            cells.append(f"{format_metric(key, m['p50'])}\n"
                         f"({format_metric(key, m['p10'])}–{format_metric(key, m['p90'])})")
        table.add_row(label, _phase_notes(result, week["start_day"], week["days"]), *cells,
                      band_text(week["bands"]["overall"]), f"{week['band_probabilities']['elite']:.0%}")
    return table


def plan_view(result: dict[str, Any]) -> Group:
    final = dict(result["final"])
    final["scenario"] = f"{result['plan']}: the last {final['days']} days"
    first = result["first_elite_week"]
    closing = (f"First week whose median replication is Elite on all four keys: "
               f"{'none' if first is None else f'week {first}'}\n"
               f"Probability of being Elite over the last {final['days']} days: "
               f"{result['probability_elite_at_end']:.0%}")
    return Group(trajectory_table(result), "", run_table(final), "", closing)
