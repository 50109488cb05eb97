"""Write ``github_history/``: twelve weeks of a GitHub repository's saved REST responses, for the CI-informed
calibration example of docs/import.md and its test.

Each object keeps the fields of GitHub's documented examples (docs.github.com/rest): "List releases" and "List
repository tags" (releases, tags), "List pull requests" (pulls), "List repository issues" (incidents labelled
Incident), "List workflow runs for a repository" (actions/runs.json, saved as a list of pages). The history is
drawn once from a fixed seed: six engineers merge about five pull requests a working day (their commits are not
saved, so each pull request is one change); a release every working day at 15:00 UTC (one draft and one
pre-release, skipped); a push run of the CI workflow for each merged pull request and a pull_request run when it
opened, on a pool of two runners (first in, first out), suites of 42 min on average (cv 0.35), 8% of attempts
failing for no reason and re-run (the list shows a run's latest attempt, as GitHub does), 3% failing for real.
Run it from the repository root: ``python tests/data/import/make_github_history.py``.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

OUT = Path(__file__).parent / "github_history"
REPO = "octo-org/shop"
API = f"https://api.github.com/repos/{REPO}"
START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday
WEEKS = 12
RUNNERS = 2
SUITE_MINUTES, SUITE_CV = 42.0, 0.35
FLAKY, REAL_FAILURE = 0.08, 0.03
AUTHORS = ("mona", "hubot", "octocat", "lisa", "dmitri", "amara")
SAVE_COMMITS = (
    False  # pulls/{n}/commits.json: without them each pull request is one change, opened when it was
)


def sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def user(login: str) -> dict:
    return {
        "login": login,
        "id": AUTHORS.index(login) + 1,
        "node_id": f"MDQ6VXNlcj{AUTHORS.index(login) + 1}",
        "type": "User",
        "site_admin": False,
    }


def main() -> None:
    rng = np.random.default_rng(20240304)
    pulls, commits, runs_in = [], {}, []
    number = 0
    for day in range(WEEKS * 7):
        date = START + timedelta(days=day)
        if date.weekday() >= 5:
            continue
        for merged_h in np.sort(rng.uniform(9.5, 17.0, rng.poisson(5))):
            number += 1
            merged = date + timedelta(hours=float(merged_h))
            author = AUTHORS[int(rng.integers(len(AUTHORS)))]
            ages = np.sort(rng.gamma(2.0, 14.0, int(rng.integers(1, 4))))[::-1]
            own = []
            for i, age in enumerate(ages):
                when = merged - timedelta(hours=float(age) + 0.25)
                own.append(
                    {
                        "url": f"{API}/commits/{sha(f'c{number}.{i}')}",
                        "sha": sha(f"c{number}.{i}"),
                        "node_id": f"C_{number}_{i}",
                        "commit": {
                            "author": {"name": author, "email": f"{author}@example.com", "date": stamp(when)},
                            "committer": {
                                "name": author,
                                "email": f"{author}@example.com",
                                "date": stamp(when),
                            },
                            "message": f"change {number}.{i}",
                            "comment_count": 0,
                        },
                        "author": user(author),
                        "committer": user(author),
                        "parents": [{"sha": sha(f"c{number}.{i - 1}") if i else sha(f"m{number - 1}")}],
                    }
                )
            opened = merged - timedelta(hours=float(ages[0]))
            commits[number] = own
            pulls.append(
                {
                    "url": f"{API}/pulls/{number}",
                    "id": 1000 + number,
                    "node_id": f"PR_{number}",
                    "number": number,
                    "state": "closed",
                    "locked": False,
                    "title": f"Change {number}",
                    "user": user(author),
                    "body": None,
                    "labels": [],
                    "created_at": stamp(opened),
                    "updated_at": stamp(merged),
                    "closed_at": stamp(merged),
                    "merged_at": stamp(merged),
                    "merge_commit_sha": sha(f"m{number}"),
                    "draft": False,
                    "head": {
                        "label": f"octo-org:topic-{number}",
                        "ref": f"topic-{number}",
                        "sha": own[-1]["sha"],
                    },
                    "base": {"label": "octo-org:main", "ref": "main", "sha": sha(f"m{number - 1}")},
                    "author_association": "MEMBER",
                    "auto_merge": None,
                }
            )
            runs_in.append(
                (opened + timedelta(seconds=30), f"topic-{number}", own[-1]["sha"], "pull_request")
            )
            runs_in.append((merged + timedelta(seconds=5), "main", sha(f"m{number}"), "push"))
    releases, tags, issues = _releases(rng, pulls)
    runs = _runs(rng, sorted(runs_in))
    OUT.mkdir(exist_ok=True)
    _write("pulls.json", list(reversed(pulls)))
    if SAVE_COMMITS:
        for n, own in commits.items():
            _write(f"pulls/{n}/commits.json", own)
    _write("releases.json", releases)
    _write("tags.json", tags)
    _write("issues.json", issues)
    pages = [{"total_count": len(runs), "workflow_runs": runs[i : i + 100]} for i in range(0, len(runs), 100)]
    _write("actions/runs.json", pages)


def _releases(rng: np.random.Generator, pulls: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    releases, tags, issues = [], [], []
    minor = 0
    for day in range(WEEKS * 7):
        date = START + timedelta(days=day)
        if date.weekday() >= 5:
            continue
        at = date + timedelta(hours=15, minutes=float(rng.uniform(0, 20)))
        shipped = [p for p in pulls if p["merged_at"] <= stamp(at)]
        if not shipped:
            continue
        minor += 1
        tag = f"v1.{minor}.0"
        releases.append(_release(1000 + minor, tag, at, draft=False, prerelease=False))
        tags.append(
            {
                "name": tag,
                "commit": {
                    "sha": shipped[-1]["merge_commit_sha"],
                    "url": f"{API}/commits/{shipped[-1]['merge_commit_sha']}",
                },
                "zipball_url": f"{API}/zipball/{tag}",
                "tarball_url": f"{API}/tarball/{tag}",
                "node_id": f"REF_{minor}",
            }
        )
        if rng.uniform() < 0.15:  # a release that hurt users: an incident issue, fixed hours later
            opened = at + timedelta(hours=float(rng.uniform(1, 20)))
            closed = opened + timedelta(hours=float(rng.gamma(2.0, 3.0)))
            n = 5000 + minor
            issues.append(
                {
                    "url": f"{API}/issues/{n}",
                    "id": 20000 + n,
                    "node_id": f"I_{n}",
                    "number": n,
                    "title": f"Checkout errors after {tag}",
                    "user": user("mona"),
                    "labels": [
                        {
                            "id": 1,
                            "node_id": "LA_1",
                            "url": f"{API}/labels/Incident",
                            "name": "Incident",
                            "description": None,
                            "color": "d73a4a",
                            "default": False,
                        }
                    ],
                    "state": "closed",
                    "locked": False,
                    "assignee": None,
                    "assignees": [],
                    "milestone": None,
                    "comments": 2,
                    "created_at": stamp(opened),
                    "updated_at": stamp(closed),
                    "closed_at": stamp(closed),
                    "author_association": "MEMBER",
                    "body": f"Users see errors at checkout.\nroot cause: {tag}",
                }
            )
    last = START + timedelta(weeks=WEEKS)
    releases.append(
        _release(1998, f"v1.{minor + 1}.0-rc.1", last - timedelta(days=3), draft=False, prerelease=True)
    )
    releases.append(
        _release(1999, f"v1.{minor + 1}.0", last - timedelta(days=2), draft=True, prerelease=False)
    )
    return list(reversed(releases)), list(reversed(tags)), list(reversed(issues))


def _release(number: int, tag: str, at: datetime, *, draft: bool, prerelease: bool) -> dict:
    return {
        "url": f"{API}/releases/{number}",
        "html_url": f"https://github.com/{REPO}/releases/{tag}",
        "assets_url": f"{API}/releases/{number}/assets",
        "id": number,
        "node_id": f"RE_{number}",
        "tag_name": tag,
        "target_commitish": "main",
        "name": tag,
        "body": f"Release {tag}",
        "draft": draft,
        "prerelease": prerelease,
        "created_at": stamp(at - timedelta(minutes=5)),
        "published_at": None if draft else stamp(at),
        "author": user("octocat"),
        "assets": [],
    }


def _runs(rng: np.random.Generator, arrivals: list[tuple[datetime, str, str, str]]) -> list[dict]:
    """A FIFO pool of RUNNERS; a flaky attempt is re-run ten minutes after it fails (the list shows the latest)."""
    free = [arrivals[0][0]] * RUNNERS
    queue = [(t, k, branch, head, event, 1, t) for k, (t, branch, head, event) in enumerate(arrivals)]
    heapq.heapify(queue)
    shape = 1 / SUITE_CV**2
    latest: dict[int, dict] = {}
    while queue:
        asked, k, branch, head, event, attempt, created = heapq.heappop(queue)
        started = max(asked, heapq.heappop(free))
        finished = started + timedelta(minutes=float(rng.gamma(shape, SUITE_MINUTES / shape)))
        heapq.heappush(free, finished)
        draw = rng.uniform()
        conclusion = "failure" if draw < FLAKY + REAL_FAILURE else "success"
        if draw < FLAKY and attempt < 5:
            heapq.heappush(
                queue, (finished + timedelta(minutes=10), k, branch, head, event, attempt + 1, created)
            )
        run_id = 7_000_000 + k
        latest[k] = {
            "id": run_id,
            "name": "CI",
            "node_id": f"WFR_{run_id}",
            "check_suite_id": 9_000_000 + k,
            "head_branch": branch,
            "head_sha": head,
            "path": ".github/workflows/ci.yml",
            "run_number": k + 1,
            "event": event,
            "status": "completed",
            "conclusion": conclusion,
            "workflow_id": 159038,
            "url": f"{API}/actions/runs/{run_id}",
            "html_url": f"https://github.com/{REPO}/actions/runs/{run_id}",
            "pull_requests": [],
            "created_at": stamp(created),
            "updated_at": stamp(finished),
            "run_attempt": attempt,
            "run_started_at": stamp(started),
            "jobs_url": f"{API}/actions/runs/{run_id}/jobs",
        }
    return [latest[k] for k in sorted(latest, reverse=True)]


def _write(name: str, data: object) -> None:
    path = OUT / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
