"""Reading the sources of ``python -m sim import``: git repositories, or GitHub/GitLab projects saved or fetched
live, one or several as the teams of one organisation (:mod:`sim.importers.teams`), with an incident export linked
to their deployments."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.files import make_folder, write_bytes
from sim.importers.ci import read_forge_ci
from sim.importers.files import FolderSource, Source, read_file_bytes, safe_relative, zip_source
from sim.importers.http import MB, Limits, check_api_url
from sim.importers.incidents import FORMATS, IncidentRecord, link_incidents, parse_map, read_incidents
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs, make_logs
from sim.metrics.scoring import parse_instant


def incident_records(args: argparse.Namespace) -> list[IncidentRecord]:
    if args.incidents is None:
        if args.incident_format or args.column_map:
            raise InputError("--incident-format and --map describe --incidents FILE: give the file too")
        return []
    if args.incident_format is None:
        raise InputError(
            f"--incidents {args.incidents}: say its format with --incident-format {'|'.join(FORMATS)}"
        )
    data = read_file_bytes(args.incidents)
    return read_incidents(data, args.incidents, args.incident_format, parse_map(args.column_map))


def out_dir(out: str) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    return path


@dataclass
class Imported:
    """What a source gave: the logs, the report, the API responses to save once all is read (folder → files),
    and the team of each CI run the sources held (by run id)."""

    logs: EventLogs
    report: ImportReport
    raw: dict[Path, dict[str, bytes]] = field(default_factory=dict)
    ci_teams: dict[str, str] = field(default_factory=dict)


def run_git(args: argparse.Namespace) -> Imported:
    from sim.importers.git import import_repositories

    since = parse_instant(args.since, "--since") if args.since else None
    until = parse_instant(args.until, "--until") if args.until else None
    records = incident_records(args)
    result = import_repositories(
        args.repo,
        teams=args.team,
        team_per_repo=args.team_per_repo,
        tags=args.tags,
        exclude=args.exclude,
        branch=args.branch,
        since=since,
        until=until,
        reverts=args.reverts,
    )
    logs = _add_incidents(result.logs, records, args, result.report)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return Imported(logs, result.report)


def _add_incidents(
    logs: EventLogs, records: list[IncidentRecord], args: argparse.Namespace, report: ImportReport
) -> EventLogs:
    """The incident export's records linked to the imported deployments (and to their teams)."""
    if not records:
        return logs
    report.settings["incidents"] = f"{args.incidents} ({args.incident_format})"
    rows = link_incidents(records, logs.deployments, report)
    frame = logs.incidents
    extra = make_logs(logs.changes.iloc[:0], logs.deployments.iloc[:0], rows).incidents
    if "team" in logs.deployments.columns:  # an incident belongs to the team of the deployment it names
        teams = dict(zip(logs.deployments["deploy_id"], logs.deployments["team"], strict=True))
        extra["team"] = extra["deploy_id"].map(teams).fillna("")
    merged = extra if frame.empty else _concat(frame, extra)
    return EventLogs(logs.changes, logs.deployments, merged)


def _concat(first: Any, second: Any) -> Any:
    import pandas as pd

    return pd.concat([first, second], ignore_index=True)


def _source(from_dir: str, markers: tuple[str, ...]) -> Source:
    path = Path(from_dir)
    if path.exists() and not path.is_dir():
        return zip_source(read_file_bytes(path), from_dir, markers)
    return FolderSource(path)


def save_raw(files: dict[str, bytes], raw: Path) -> None:
    """The fetched responses under ``raw``: plain relative paths only, each written whole, never through a link."""
    root = make_folder(raw).resolve()
    for relative, data in sorted(files.items()):
        target = raw / safe_relative(relative)
        make_folder(target.parent)
        if not target.parent.resolve().is_relative_to(root):
            raise InputError(f"{target}: leads outside {raw}; refused")
        write_bytes(target, data)


def _limits(args: argparse.Namespace) -> Limits:
    return Limits(
        max_bytes=int(args.max_response_mb * MB),
        max_requests=args.max_requests,
        max_pages=args.max_pages,
        deadline=args.deadline,
        max_wait=args.max_wait,
    )


def run_forge(args: argparse.Namespace) -> Imported:
    """One project as today, or several as the teams of one organisation (sim/importers/teams.py)."""
    from sim.importers.teams import team_names

    sources: list[str] = args.from_dir or args.repo
    names = team_names(
        sources,
        args.team,
        args.team_per_repo,
        default_name=_folder_name if args.from_dir else _project_name,
        what="folder name" if args.from_dir else "project name",
        noun="project",
        nouns="projects",
    )
    if names == [None]:
        return _run_one_forge(args, sources[0])
    return _run_forge_org(args, sources, [n for n in names if n is not None])


def _project_name(repo: str) -> str:
    """The team ``--team-per-repo`` names after a live project: NAME of OWNER/NAME (or of GROUP/…/NAME, or the
    numeric project id)."""
    return repo.rpartition("/")[2]


def _folder_name(from_dir: str) -> str:
    """The team ``--team-per-repo`` names after a saved project: its folder's name (a ``.zip``'s without it)."""
    path = Path(from_dir).resolve()
    return path.stem if path.suffix.lower() == ".zip" else path.name


def _forge(args: argparse.Namespace) -> Any:
    from sim.importers import github, gitlab

    return github if args.source == "github" else gitlab


def _check_live(args: argparse.Namespace, module: Any) -> str:
    """The token of a live import, after the API URL and every project name are checked."""
    from sim.importers.http import token_from_env

    if args.from_dir:
        if args.token_env:
            raise InputError("--token-env is for live mode (--repo); --from reads saved files")
        return ""
    check_api_url(args.api_url)
    for repo in args.repo:
        module.check_repo(repo) if args.source == "github" else module.check_project(repo)
    return token_from_env(args.token_env)


def _fetch(args: argparse.Namespace, module: Any, repo: str, token: str) -> Source:
    fetch = module.fetch_github if args.source == "github" else module.fetch_gitlab
    return fetch(
        repo,
        token,
        api_url=args.api_url,
        environment=args.environment,
        label=args.incident_label,
        deployments_from=args.deployments_from,
        limits=_limits(args),
        ci=args.ci,
    )


def _read(
    args: argparse.Namespace, module: Any, source: Source, records: list[IncidentRecord], report: ImportReport
) -> EventLogs:
    run = module.import_github if args.source == "github" else module.import_gitlab
    logs, _ = run(
        source,
        environment=args.environment,
        label=args.incident_label,
        extra_incidents=records,
        deployments_from=args.deployments_from,
        report=report,
    )
    report.ci_runs = read_forge_ci(args.source, source, report)
    return logs


def _run_one_forge(args: argparse.Namespace, where: str) -> Imported:
    module = _forge(args)
    records = incident_records(args)
    report = ImportReport(args.source)
    token = _check_live(args, module)
    if args.from_dir:
        source = _source(where, module.MARKERS)
    else:
        fetched: Any = _fetch(args, module, where, token)
        raw = out_dir(args.out) / "raw" / args.source
        save_raw(fetched.files, raw)
        report.note(f"the API responses are saved in {raw}; re-read them with --from {raw}")
        source = fetched
    return Imported(_read(args, module, source, records, report), report)


def _run_forge_org(args: argparse.Namespace, sources: list[str], names: list[str]) -> Imported:
    """Each project read as one team; logs pooled, one report, the API responses saved apart per project."""
    from sim.importers.teams import label_logs, merge_report, pool_logs

    module = _forge(args)
    records = incident_records(args)
    token = _check_live(args, module)
    report = ImportReport(
        args.source,
        settings={
            "environment": args.environment,
            "incident_label": args.incident_label,
            "deployments_from": args.deployments_from,
        },
    )
    parts, raw, ci_runs, ci_teams = [], {}, [], {}
    for where, team in zip(sources, names, strict=True):
        part = ImportReport(args.source)
        if args.from_dir:
            source = _source(where, module.MARKERS)
        else:
            fetched: Any = _fetch(args, module, where, token)
            folder = out_dir(args.out) / "raw" / args.source / team
            raw[folder] = fetched.files
            part.note(f"the API responses are saved in {folder}; re-read them with --from {folder}")
            source = fetched
        parts.append(label_logs(_read(args, module, source, [], part), team))
        for ci_run in part.ci_runs or []:
            ci_runs.append(replace(ci_run, run_id=f"{team}:{ci_run.run_id}"))
            ci_teams[ci_runs[-1].run_id] = team
        merge_report(report, part, team, {"from" if args.from_dir else "repository": where})
    report.ci_runs = ci_runs or None
    logs = _add_incidents(pool_logs(parts), records, args, report)
    return Imported(logs, report, raw, ci_teams)
