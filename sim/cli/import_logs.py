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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sim.errors import InputError
from sim.files import make_folder, write_bytes
from sim.importers.ci import FILE_NAME as CI_FILE
from sim.importers.ci import CiRun, ci_csv_bytes, ci_frame, parse_ci_map, read_ci_csv, read_forge_ci
from sim.importers.files import FolderSource, Source, check_logs, read_file_bytes, safe_relative, zip_source
from sim.importers.http import MB, Limits, check_api_url
from sim.importers.incidents import FORMATS, IncidentRecord, link_incidents, parse_map, read_incidents
from sim.importers.report import ImportReport
from sim.metrics.logs import EventLogs, make_logs, write_logs
from sim.metrics.scoring import parse_instant

HELP = "Import a git repository, GitHub or GitLab (and an incident tool's export) as event logs."
SOURCES = ("git", "github", "gitlab")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", required=True, metavar="DIR", help="folder for the three CSVs and import_report.json"
    )
    parser.add_argument(
        "--incidents", metavar="FILE", help="incidents from a PagerDuty, Opsgenie or CSV export"
    )
    parser.add_argument(
        "--incident-format",
        choices=FORMATS,
        default=None,
        help="format of --incidents: pagerduty, opsgenie or csv",
    )
    parser.add_argument(
        "--map",
        dest="column_map",
        metavar="KEY=COLUMN,...",
        help="columns (csv) or dotted fields (JSON) of --incidents, e.g. created=Opened,resolved=Closed,"
        "deploy=Service Deploy (keys: id, created, resolved, deploy, service, root_cause)",
    )
    parser.add_argument(
        "--ci-runs", metavar="FILE.csv", help="CI runs from a CSV file, written to ci_runs.csv"
    )
    parser.add_argument(
        "--ci-map",
        metavar="KEY=COLUMN,...",
        help="columns of --ci-runs (keys: run_id, commit, queued, started, finished, conclusion, attempt)",
    )
    parser.add_argument("--json", action="store_true", help="print import_report.json instead of a summary")


def _add_forge(parser: argparse.ArgumentParser, default_url: str, what: str) -> None:
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--from",
        dest="from_dir",
        action="append",
        metavar="DIR",
        help=f"a folder (or .zip) of saved {what} API responses (repeatable: one a project, with "
        f"--team-per-repo or --team per project)",
    )
    where.add_argument(
        "--repo",
        action="append",
        metavar="OWNER/NAME",
        help=f"fetch live from the {what} API (repeatable: one a project, with --team-per-repo or "
        f"--team per project)",
    )
    _add_teams(
        parser,
        "the team of each project (--from or --repo), in order",
        "each project is a team named after its NAME (of OWNER/NAME) or its folder (--from)",
    )
    parser.add_argument(
        "--token-env", metavar="VAR", help="environment variable holding the API token (live mode)"
    )
    parser.add_argument("--api-url", default=default_url, help=f"API base URL (default {default_url})")
    parser.add_argument("--environment", default="production", help="the production environment's name")
    parser.add_argument(
        "--incident-label", default="Incident", help="label of incident issues (default Incident)"
    )
    parser.add_argument(
        "--ci",
        action="store_true",
        help="live mode: also fetch CI runs (GitHub Actions runs and jobs, GitLab pipelines and jobs)",
    )
    parser.add_argument(
        "--deployments-from",
        choices=("auto", "deployments", "releases"),
        default="auto",
        help="deployments from the Deployments API or the Releases (default auto: Deployments when "
        "there are any, else Releases)",
    )
    live = Limits()
    parser.add_argument(
        "--max-wait",
        type=_positive(float, "--max-wait"),
        default=live.max_wait,
        metavar="SECONDS",
        help=f"longest total wait for rate limits before giving up (default {live.max_wait:g})",
    )
    parser.add_argument(
        "--max-requests",
        type=_positive(int, "--max-requests"),
        default=live.max_requests,
        metavar="N",
        help=f"most requests one live import may send (default {live.max_requests})",
    )
    parser.add_argument(
        "--max-pages",
        type=_positive(int, "--max-pages"),
        default=live.max_pages,
        metavar="N",
        help=f"most pages of one list (default {live.max_pages})",
    )
    parser.add_argument(
        "--max-response-mb",
        type=_positive(float, "--max-response-mb"),
        default=live.max_bytes / MB,
        metavar="MB",
        help=f"largest response, after decompression (default {live.max_bytes / MB:g})",
    )
    parser.add_argument(
        "--deadline",
        type=_positive(float, "--deadline"),
        default=live.deadline,
        metavar="SECONDS",
        help=f"longest time a live import may take in all (default {live.deadline:g})",
    )
    _add_common(parser)


def _add_teams(parser: argparse.ArgumentParser, team: str, per_repo: str) -> None:
    teams = parser.add_mutually_exclusive_group()
    teams.add_argument(
        "--team",
        action="append",
        metavar="NAME",
        help=f"{team} (repeatable); writes a team column, ids become TEAM:id",
    )
    teams.add_argument(
        "--team-per-repo", action="store_true", help=f"{per_repo}; writes a team column, ids become TEAM:id"
    )


def _positive(kind: Any, flag: str) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r}: expected a positive number") from None
        if not (0 < value < 1e12):
            raise argparse.ArgumentTypeError(f"{flag} {text!r}: expected a positive number below 1e12")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="source", required=True, parser_class=type(parser))
    git = sub.add_parser(
        "git",
        help="git work trees or bare repositories",
        description="Deployments from release tags or a branch, changes from commits. Import the "
        "whole history and choose the window when scoring (score --start/--end).",
    )
    git.add_argument(
        "repo",
        metavar="REPO",
        nargs="+",
        help="a work tree or a bare repository; several with --team-per-repo or --team per repository",
    )
    how = git.add_mutually_exclusive_group()
    how.add_argument(
        "--tags",
        action="append",
        metavar="GLOB",
        help="deployments are tags matching GLOB (repeatable; default v[0-9]* and [0-9]*, release "
        "versions only: pre-releases and names like 1.x are skipped)",
    )
    how.add_argument(
        "--branch",
        metavar="NAME",
        help="deployments are the first-parent commits of NAME (lead time "
        "then measures commit → NAME, not commit → production)",
    )
    git.add_argument(
        "--exclude", action="append", default=[], metavar="GLOB", help="drop tags matching GLOB (repeatable)"
    )
    git.add_argument(
        "--since",
        metavar="DATE",
        help="keep deployments created at or after DATE (UTC); better: import "
        "everything and score a window with score --start/--end",
    )
    git.add_argument("--until", metavar="DATE", help="keep deployments created before DATE (UTC)")
    git.add_argument(
        "--reverts", action="store_true", help="a revert opens an incident on the deployment it reverts"
    )
    _add_teams(git, "the team of each REPO, in order", "each REPO is a team named after its folder")
    _add_common(git)
    from sim.importers.github import API_URL as GITHUB_URL
    from sim.importers.gitlab import API_URL as GITLAB_URL

    _add_forge(
        sub.add_parser("github", help="GitHub REST API responses (saved or live)"), GITHUB_URL, "GitHub"
    )
    _add_forge(
        sub.add_parser("gitlab", help="GitLab REST API responses (saved or live)"), GITLAB_URL, "GitLab"
    )


def _incident_records(args: argparse.Namespace) -> list[IncidentRecord]:
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


def _out_dir(out: str) -> Path:
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    return path


@dataclass
class _Imported:
    """What a source gave: the logs, the report, the API responses to save once all is read (folder → files),
    and the team of each CI run the sources held (by run id)."""

    logs: EventLogs
    report: ImportReport
    raw: dict[Path, dict[str, bytes]] = field(default_factory=dict)
    ci_teams: dict[str, str] = field(default_factory=dict)


def _run_git(args: argparse.Namespace) -> _Imported:
    from sim.importers.git import import_repositories

    since = parse_instant(args.since, "--since") if args.since else None
    until = parse_instant(args.until, "--until") if args.until else None
    records = _incident_records(args)
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
    return _Imported(logs, result.report)


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


def _save_raw(files: dict[str, bytes], raw: Path) -> None:
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


def _run_forge(args: argparse.Namespace) -> _Imported:
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


def _run_one_forge(args: argparse.Namespace, where: str) -> _Imported:
    module = _forge(args)
    records = _incident_records(args)
    report = ImportReport(args.source)
    token = _check_live(args, module)
    if args.from_dir:
        source = _source(where, module.MARKERS)
    else:
        fetched: Any = _fetch(args, module, where, token)
        raw = _out_dir(args.out) / "raw" / args.source
        _save_raw(fetched.files, raw)
        report.note(f"the API responses are saved in {raw}; re-read them with --from {raw}")
        source = fetched
    return _Imported(_read(args, module, source, records, report), report)


def _run_forge_org(args: argparse.Namespace, sources: list[str], names: list[str]) -> _Imported:
    """Each project read as one team; logs pooled, one report, the API responses saved apart per project."""
    from sim.importers.teams import label_logs, merge_report, pool_logs

    module = _forge(args)
    records = _incident_records(args)
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
            folder = _out_dir(args.out) / "raw" / args.source / team
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
    return _Imported(logs, report, raw, ci_teams)


def _ci_runs(args: argparse.Namespace, imported: _Imported) -> bytes | None:
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
    out = _out_dir(args.out)
    imported = _run_git(args) if args.source == "git" else _run_forge(args)
    logs, report = imported.logs, imported.report
    check_logs(logs)  # an import never writes logs that score would refuse
    ci = _ci_runs(args, imported)
    for folder, files in imported.raw.items():  # several projects: saved once every one was read
        _save_raw(files, folder)
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
