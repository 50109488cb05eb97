"""``compare``: several scenarios with the same seeds (common random numbers), reference first."""

from __future__ import annotations

import sys
from pathlib import Path

from sim.analysis.results import RunResult
from sim.analysis.runner import DEFAULT_REPS, run_scenario
from sim.cli.common import (
    add_benchmark_option,
    add_json_option,
    add_scenario_options,
    print_json,
    scenario_from_args,
)
from sim.cli.tables import compare_view, print_renderable
from sim.metrics.bands import check_benchmark
from sim.metrics.registry import METRIC_KEYS
from sim.model.scenario import Scenario

HELP = "compare scenarios (the first is the reference) with the same seeds"


def add_arguments(parser) -> None:
    parser.add_argument("scenarios", metavar="SCENARIO.toml", nargs="+")
    add_scenario_options(parser)
    add_benchmark_option(parser)
    add_json_option(parser)
    parser.add_argument(
        "--report",
        metavar="FILE.html",
        default=None,
        help="also write a self-contained HTML report (charts included)",
    )


def deltas(reference: RunResult, other: RunResult) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in METRIC_KEYS:
        a, b = reference["metrics"][key]["p50"], other["metrics"][key]["p50"]
        out[key] = None if a is None or b is None else b - a
    return out


def distinct_names(scenarios: list[Scenario], paths: list[str]) -> list[Scenario]:
    """Scenarios whose ``name`` repeats (two files calibrated from the same logs are both "calibrated") are
    named after their files instead, so every column and JSON entry says which file it is."""
    names = [s.name for s in scenarios]
    out = []
    for index, (scenario, path) in enumerate(zip(scenarios, paths)):
        if names.count(scenario.name) > 1:
            stem = Path(path).name.removesuffix(".toml")
            label = (
                stem
                if [Path(p).name.removesuffix(".toml") for p in paths].count(stem) == 1
                else f"{scenario.name} ({index + 1})"
            )
            scenario = scenario.with_values({"name": label}, source="compare")
        out.append(scenario)
    return out


def run(args) -> int:
    if args.report:  # before the run: a mistyped path must not cost its results
        from sim.report import check_report_path

        check_report_path(args.report)
    benchmark = check_benchmark(args.benchmark)
    scenarios = distinct_names([scenario_from_args(path, args) for path in args.scenarios], args.scenarios)
    results = [
        run_scenario(
            s,
            args.reps or DEFAULT_REPS,
            args.seed,
            workers=args.workers,
            benchmark=benchmark,
            progress=f"simulating {s.name}",
        )
        for s in scenarios
    ]
    if args.report:
        from sim.report import charts_note, compare_report, write_report

        write_report(
            args.report, compare_report(results, {r["scenario"]: s for r, s in zip(results, scenarios)})
        )
        note = charts_note(args.report)
        if note:
            sys.stderr.write(f"dorasim compare: note: {note}\n")
    if args.json:
        print_json(
            {
                "reference": results[0]["scenario"],
                "scenarios": results,
                "deltas": {r["scenario"]: deltas(results[0], r) for r in results[1:]},
            }
        )
    else:
        print_renderable(compare_view(results))
    return 0
