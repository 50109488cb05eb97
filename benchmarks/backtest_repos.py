"""The backtest record: dorasim's ship-date forecasts against real release histories (benchmarks/README.md).

    PYTHONPATH=$PWD python benchmarks/backtest_repos.py MIRRORS_DIR [--every 120] [--max-cuts 5] [--seeds 1 2 3 4] [--out FILE.json]

Each repository (a bare mirror ``MIRRORS_DIR/<owner>+<name>/repo``) is imported as ``import git --reverts``
would, then pre-releases (PEP 440 ``a``/``b``/``rc``/``dev``, semver ``-…``) are folded into the next final
release — what such a tag shipped is counted as shipped by the release users took — each change gets its
author's e-mail (an ``author`` column: calibrate reads team size from it), and the backtest runs on rolling
cuts. The table printed is the one benchmarks/README.md records.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.backtest import BacktestSettings, backtest, cut_dates
from sim.importers.git import import_git
from sim.metrics.logs import EventLogs
from sim.metrics.scoring import columns_from_frames

REPOS: dict[str, list[str] | None] = {
    "encode+httpx": None,
    "psf+black": None,
    "python-attrs+attrs": None,
    "pallets+click": None,
    "hynek+structlog": None,
    "sqlalchemy+alembic": ["rel_*"],
    "pytest-dev+pluggy": None,
    "fastapi+fastapi": None,
}
PRE_RELEASE = re.compile(
    r"(\d)(a|b|rc|c|dev|alpha|beta|pre)\.?\d*|[.-](dev|rc|alpha|beta|pre)|\.x$", re.IGNORECASE
)


def final_releases(logs: EventLogs) -> tuple[EventLogs, int]:
    """Pre-release deployments folded into the next final one; returns the logs and how many were folded."""
    deployments = logs.deployments.sort_values("time_created", kind="stable").reset_index(drop=True)
    keep: list[dict[str, Any]] = []
    carried: list[str] = []
    renamed: dict[str, str] = {}
    pending: list[str] = []
    folded = 0
    for row in deployments.to_dict("records"):
        ids = str(row["change_ids"] or "").split()
        if PRE_RELEASE.search(str(row["deploy_id"])):
            carried.extend(ids)
            pending.append(str(row["deploy_id"]))
            folded += 1
            continue
        row["change_ids"] = " ".join([*carried, *ids])
        for name in pending:
            renamed[name] = str(row["deploy_id"])
        carried, pending = [], []
        keep.append(row)
    incidents = logs.incidents.copy()
    if len(incidents):
        incidents["deploy_id"] = incidents["deploy_id"].map(
            lambda d: renamed.get(d, d) if isinstance(d, str) else d
        )
        incidents = incidents[~incidents["deploy_id"].isin(pending)]
    frame = pd.DataFrame(keep, columns=deployments.columns)
    for column in deployments.columns:
        frame[column] = frame[column].astype(deployments[column].dtype)
    return EventLogs(logs.changes, frame, incidents.reset_index(drop=True)), folded


def with_authors(logs: EventLogs, repo: Path) -> EventLogs:
    """The changes with an ``author`` column (the commit's author e-mail), which calibrate reads for team size."""
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--all", "--format=%H %ae"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    emails = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    changes = logs.changes.copy()
    changes["author"] = changes["change_id"].map(lambda sha: emails.get(sha, "")).astype("str")
    return EventLogs(changes, logs.deployments, logs.incidents)


def describe(logs: EventLogs) -> dict[str, Any]:
    times = logs.deployments["time_created"]
    return {
        "first_release": str(times.min().date()),
        "last_release": str(times.max().date()),
        "releases": len(logs.deployments),
        "changes": len(logs.changes),
        "incidents": len(logs.incidents),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("mirrors")
    parser.add_argument("--every", type=int, default=120)
    parser.add_argument("--max-cuts", type=int, default=5)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--repos", nargs="*", default=None)
    parser.add_argument(
        "--check-reps", type=int, default=None, help="replications of each calibration's check"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1], help="root seeds; the tables pool them")
    args = parser.parse_args(argv)
    record: dict[str, Any] = {"settings": vars(args), "runs": {}}
    began = time.perf_counter()
    for name in args.repos or list(REPOS):
        path = Path(args.mirrors) / name / "repo"
        logs = import_git(path, tags=REPOS.get(name), reverts=True).logs
        logs, folded = final_releases(logs)
        logs = with_authors(logs, path)
        columns = columns_from_frames(logs.changes, logs.deployments, logs.incidents)
        for seed in args.seeds:
            settings = BacktestSettings(reps=args.reps, seed=seed)
            if args.check_reps:
                settings = replace(settings, calibration_check_reps=args.check_reps)
            cuts = cut_dates(
                columns,
                every_days=args.every,
                window_days=settings.window_days,
                horizon_days=settings.horizon_days,
            )[-args.max_cuts :]
            t0 = time.perf_counter()
            result = backtest(logs, cuts=cuts, settings=settings, workers=args.workers, name=name)
            result["repository"] = {**describe(logs), "pre_releases_folded": folded}
            result["wall_seconds"] = round(time.perf_counter() - t0, 1)
            record["runs"].setdefault(str(seed), {})[name] = result
            summary = json.dumps(result["summary"], default=str)
            print(name, "seed", seed, summary, result["wall_seconds"], "s", file=sys.stderr)
    record["wall_seconds"] = round(time.perf_counter() - began, 1)
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=1, default=str), encoding="utf-8")
    print(markdown(pooled(record["runs"])))
    print()
    print(seed_table(record["runs"]))
    return 0


def pooled(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One record whose repositories hold every seed's cases and DORA forecasts (cuts counted once)."""
    repos: dict[str, Any] = {}
    for run in runs.values():
        for name, result in run.items():
            into = repos.setdefault(name, {"cuts": result["cuts"], "cases": [], "dora": []})
            into["cases"] += result["cases"]
            into["dora"] += result["dora"]
    return {"repos": repos}


def seed_table(runs: dict[str, dict[str, Any]]) -> str:
    """Per seed: coverage, CRPS against the Monte Carlo, in-sample fit and next-90-day DORA coverage."""
    rows = [
        "| seed | cases | model in p5–p95 | model ≤ p85 | mean CRPS model / throughput (days) | ratio | "
        "in-sample DF and LT in the bar (DF alone) | next 90 days in p10–p90 (DF · LT · CFR) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for seed, run in runs.items():
        cases = [c for r in run.values() for c in r["cases"] if "model" in c and "throughput" in c]
        windows = [
            w["calibration"]
            for r in run.values()
            for w in r["windows"]
            if "calibration" in w and w["window"]["releases"] >= 3
        ]
        both = sum(
            bool(w["within_bar"]["deployment_frequency_per_day"] and w["within_bar"]["lead_time_hours"])
            for w in windows
        )
        df_only = sum(bool(w["within_bar"]["deployment_frequency_per_day"]) for w in windows)
        marks = []
        for key in ("deployment_frequency_per_day", "lead_time_hours", "change_failure_rate"):
            values = [
                d["metrics"][key]["inside_p10_p90"]
                for r in run.values()
                for d in r["dora"]
                if d["metrics"][key]["inside_p10_p90"] is not None
            ]
            marks.append(f"{sum(values)}/{len(values)}")
        n = len(cases)
        if n == 0:
            rows.append(
                f"| {seed} | 0 | — | — | — | — | {both} of {len(windows)} ({df_only}) | {' · '.join(marks)} |"
            )
            continue
        crps_m = sum(c["model"]["crps"] for c in cases) / n
        crps_t = sum(c["throughput"]["crps"] for c in cases) / n
        rows.append(
            f"| {seed} | {n} | {_pct(sum(c['model']['in_p5_p95'] for c in cases) / n)} | "
            f"{_pct(sum(c['model']['le_p85'] for c in cases) / n)} | {crps_m:.1f} / {crps_t:.1f} | "
            f"{crps_m / crps_t:.3f} | {both} of {len(windows)} ({df_only}) | {' · '.join(marks)} |"
        )
    return "\n".join(rows)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def markdown(record: dict[str, Any]) -> str:
    rows = [
        "| repository | cuts | cases | model in p5–p95 | model ≤ p85 | throughput in p5–p95 | throughput ≤ p85 | "
        "mean CRPS model / throughput (days) | ratio | DORA in p10–p90 (DF · LT · CFR) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    all_cases: list[dict[str, Any]] = []
    dora_all: dict[str, list[bool]] = {}
    for name, result in record["repos"].items():
        cases = [c for c in result["cases"] if "model" in c and "throughput" in c]
        all_cases += cases
        rows.append(_row(name, len(result["cuts"]), cases, result["dora"], dora_all))
    rows.append(
        _row(
            "**all**",
            sum(len(r["cuts"]) for r in record["repos"].values()),
            all_cases,
            [],
            dora_all,
            total=True,
        )
    )
    return "\n".join(rows)


def _row(
    name: str,
    cuts: int,
    cases: list[dict[str, Any]],
    dora: list[dict[str, Any]],
    dora_all: dict[str, list[bool]],
    total: bool = False,
) -> str:
    n = len(cases)
    if n == 0:
        return f"| {name} | {cuts} | 0 | — | — | — | — | — | — | — |"

    def share(method: str, key: str) -> float:
        return sum(bool(c[method][key]) for c in cases) / n

    crps_m = sum(c["model"]["crps"] for c in cases) / n
    crps_t = sum(c["throughput"]["crps"] for c in cases) / n
    marks = []
    for key in ("deployment_frequency_per_day", "lead_time_hours", "change_failure_rate"):
        if total:
            values = dora_all.get(key, [])
        else:
            values = [
                d["metrics"][key]["inside_p10_p90"]
                for d in dora
                if d["metrics"][key]["inside_p10_p90"] is not None
            ]
            dora_all.setdefault(key, []).extend(values)
        marks.append(f"{sum(values)}/{len(values)}")
    return (
        f"| {name} | {cuts} | {n} | {_pct(share('model', 'in_p5_p95'))} | {_pct(share('model', 'le_p85'))} | "
        f"{_pct(share('throughput', 'in_p5_p95'))} | {_pct(share('throughput', 'le_p85'))} | "
        f"{crps_m:.1f} / {crps_t:.1f} | {crps_m / crps_t:.2f} | {' · '.join(marks)} |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
