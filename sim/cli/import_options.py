"""The options of ``python -m sim import git|github|gitlab`` (docs/cli.md, docs/import.md)."""

from __future__ import annotations

import argparse
from typing import Any

from sim.importers.http import MB, Limits
from sim.importers.incidents import FORMATS

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
