"""``run``: replicate one scenario and summarise its DORA metrics."""

from __future__ import annotations

from sim.analysis.runner import DEFAULT_REPS, run_scenario
from sim.cli.common import (
    add_benchmark_option,
    add_json_option,
    add_scenario_options,
    print_json,
    scenario_from_args,
)
from sim.cli.tables import print_renderable, run_table
from sim.metrics.bands import check_benchmark

HELP = "simulate a scenario over replications and report its DORA metrics"


def add_arguments(parser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO.toml")
    add_scenario_options(parser)
    add_benchmark_option(parser)
    add_json_option(parser)


def run(args) -> int:
    benchmark = check_benchmark(args.benchmark)
    scenario = scenario_from_args(args.scenario, args)
    result = run_scenario(
        scenario,
        args.reps or DEFAULT_REPS,
        args.seed,
        workers=args.workers,
        benchmark=benchmark,
        progress=f"simulating {scenario.name}",
    )
    if args.json:
        print_json(result)
    else:
        print_renderable(run_table(result))
    return 0
