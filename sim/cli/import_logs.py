"""``python -m sim import git|github|gitlab``: a team's real history as event logs (docs/import.md).

Writes ``changes.csv``, ``deployments.csv`` and ``incidents.csv`` (the contract of docs/logs.md)
and ``import_report.json`` (what was read, what was skipped and why) into ``--out``. Several git
repositories, or several GitHub/GitLab projects (``--from``/``--repo`` repeated), are the teams of one
organisation (:mod:`sim.importers.teams`): one pooled set of logs and one report.
"""

from __future__ import annotations

import argparse
import json
import sys

from sim.cli.import_options import SOURCES, add_arguments
from sim.cli.import_sources import Imported, out_dir, run_forge, run_git, save_raw
from sim.errors import InputError
from sim.files import write_bytes
from sim.importers.ci import FILE_NAME as CI_FILE
from sim.importers.ci import CiRun, ci_csv_bytes, ci_frame, parse_ci_map, read_ci_csv
from sim.importers.files import check_logs, read_file_bytes
from sim.metrics.logs import write_logs

HELP = "Import a git repository, GitHub or GitLab (and an incident tool's export) as event logs."
__all__ = ["HELP", "SOURCES", "add_arguments", "run"]


def _ci_runs(args: argparse.Namespace, imported: Imported) -> bytes | None:
    """``ci_runs.csv`` from the forge's saved runs and/or ``--ci-runs FILE.csv`` (None when neither). When the
    logs have teams, a ``team`` column: a project's runs are its team's, a CSV row its commit's team."""
    from sim.importers.teams import commit_teams

    report = imported.report
    runs: list[CiRun] = list(report.ci_runs or [])
    if args.ci_runs is not None:
        runs += read_ci_csv(read_file_bytes(args.ci_runs), args.ci_runs, parse_ci_map(args.ci_map))
    elif args.ci_map:
        raise InputError("--ci-map describes --ci-runs FILE.csv: give the file too")
    if not runs and args.ci_runs is None:
        return None
    report.written["ci_runs"] = len(runs)
    frame = ci_frame(runs)
    if "team" in imported.logs.changes.columns:
        by_commit = commit_teams(imported.logs)
        frame["team"] = [
            imported.ci_teams.get(run_id) or by_commit.get(str(commit).lower(), "")
            for run_id, commit in zip(frame["run_id"], frame["commit"], strict=True)
        ]
    return ci_csv_bytes(frame)


def run(args: argparse.Namespace) -> int:
    out = out_dir(args.out)
    imported = run_git(args) if args.source == "git" else run_forge(args)
    logs, report = imported.logs, imported.report
    check_logs(logs)  # an import never writes logs that score would refuse
    ci = _ci_runs(args, imported)
    for folder, files in imported.raw.items():  # several projects: saved once every one was read
        save_raw(files, folder)
    write_logs(logs, out)
    if ci is not None:
        write_bytes(out / CI_FILE, ci)
    report.written = {
        "changes": len(logs.changes),
        "deployments": len(logs.deployments),
        "incidents": len(logs.incidents),
        **({"ci_runs": report.written["ci_runs"]} if "ci_runs" in report.written else {}),
    }
    path = report.write(out)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
        return 0
    written = report.written
    ci_text = f" and {written['ci_runs']} CI runs" if "ci_runs" in written else ""
    print(
        f"wrote {written['deployments']} deployments, {written['changes']} changes and {written['incidents']} "
        f"incidents{ci_text} to {out}"
    )
    skipped = report.skipped()
    if skipped:
        print(f"skipped (details in {path}):")
        for entry in skipped:
            print(f"  {entry['count']} {entry['what']}: {entry['reason']}")
    for note in report.notes:
        print(f"note: {note}")
    if written["deployments"] == 0:
        why = report.why_none() or report.why_none("release") or "the source holds none"
        print(f"warning: 0 deployments were written ({why})", file=sys.stderr)
    return 0
