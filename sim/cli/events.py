"""``events``: one replication's changes, deployments and incidents as the CSVs of docs/logs.md."""

from __future__ import annotations

from pathlib import Path

from sim.cli.common import MAX_SEED, add_scenario_options, nonneg_int, scenario_from_args
from sim.errors import InputError
from sim.files import make_folder
from sim.metrics.logs import EventLogs, write_logs
from sim.model.delivery import simulate
from sim.model.records import to_logs

HELP = "write one replication's changes.csv, deployments.csv and incidents.csv"


def add_arguments(parser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO.toml")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the three CSV files")
    parser.add_argument(
        "--replication",
        type=nonneg_int("--replication", MAX_SEED),
        default=0,
        help="which replication (default 0, as run --reps 1)",
    )
    add_scenario_options(parser, reps=False, workers=False)


def simulate_logs(scenario, seed: int | None = None, replication: int = 0):
    """One replication's window logs (what ``run --reps 1`` scores)."""
    seed = scenario.seed if seed is None else seed
    return to_logs(simulate(scenario, seed, replication))


def run(args) -> int:
    scenario = scenario_from_args(args.scenario, args)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {args.out}: exists and is not a folder")
    make_folder(out, name=f"--out {args.out}")
    logs = simulate_logs(scenario, args.seed, args.replication)
    paths = write_logs(EventLogs(logs.changes, logs.deployments, logs.incidents), out)
    start = logs.start.strftime("%Y-%m-%d")
    end = logs.end.strftime("%Y-%m-%d")
    print(
        f"wrote {len(logs.changes)} changes, {len(logs.deployments)} deployments, {len(logs.incidents)} incidents "
        f"to {out}/ ({', '.join(p.name for p in paths.values())}); window {start} to {end} (end exclusive): "
        f"score them with --start {start} --end {end}"
    )
    return 0
