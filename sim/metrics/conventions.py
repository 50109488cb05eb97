"""Scoring conventions (docs/conventions.md): the same logs scored the way dorasim, Four Keys and
Apache DevLake define each metric, so a team can reconcile dorasim with the dashboard it has.

``dora`` is :func:`sim.metrics.scoring.score` unchanged. ``fourkeys`` follows the SQL of
``dora-team/fourkeys`` (``queries/*.sql`` and the Grafana dashboard's stat panels);
``devlake`` follows Apache DevLake's DORA plugin and dashboard. All three share the window
(docs/scoring.md), the band cut-offs and the result's shape; each convention's own figures and
labels are under ``details``. Per metric:

Deployment frequency (both references: deployment *days*, medians over weeks)
    Every calendar week touching the window is a row (Four Keys: weeks from Sunday; DevLake:
    from Monday), counting the distinct UTC days with a deployment. DevLake's calendar is at most
    the last 400 days of the window (its SQL counts back 0..399 days from today; here from the
    window's last day). The metric is the median
    of those counts / 7 (a team deploying every day of the week scores 1 / day). Four Keys
    takes the interpolated median and labels the result Daily (median >= 3 days a week),
    Weekly (median week has a deployment), Monthly (median of deployed weeks per month >= 1)
    or Yearly — the band follows that label (elite, high, medium, low); DevLake takes the lower middle value and bands elite at 7 days a week, high at
    1 day a week, medium when the median month has a deployment day, low below.
Lead time
    Four Keys: every (deployment, listed change) pair of a deployment in the window, in
    whole minutes (truncated); pairs <= 0 minutes and changes missing from changes.csv
    dropped; interpolated median. DevLake: per change, its first deployment (in the window);
    changes first shipped by the very first deployment of the logs dropped (DevLake diffs
    each deployment against the previous one, and the first has none); minutes rounded up,
    a negative value counted as 0; lower-middle median.
Change failure rate
    Four Keys: incidents name a root-cause change (the ``root_cause`` column when present,
    else the changes of the deployment they name); the numerator counts every (deployment in
    the window, listed change, incident) match — it can exceed 1 — over deployments in the
    window that list at least one change. DevLake: each incident (with or without a
    ``deploy_id``) is attached to the last deployment created strictly before it opened;
    deployments in the window with at least one attached incident / deployments in the window.
Time to restore
    Four Keys: over every resolved incident (linked or not) opened in the window, from the
    earlier of the incident's opening and its root cause's first deployment, to the
    resolution, in whole hours (truncated, as the dashboard's ``TIMESTAMP_DIFF(..., HOUR)``);
    interpolated median. DevLake: over resolved incidents attached (as above) to a deployment
    in the window and resolved in the window, from that deployment to the resolution, in whole
    minutes; lower-middle.
Rework rate
    Neither reference computes it: ``null``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sim.errors import InputError
from sim.metrics.bands import check_benchmark
from sim.metrics.devlake import devlake
from sim.metrics.fourkeys import fourkeys
from sim.metrics.logs import EventLogs
from sim.metrics.scoring import score

CONVENTIONS = ("dora", "fourkeys", "devlake")
CHOICES = (*CONVENTIONS, "all")
LABELS = {"dora": "dorasim (DORA)", "fourkeys": "Four Keys", "devlake": "Apache DevLake"}


def check_convention(name: str) -> str:
    if name not in CHOICES:
        raise InputError(f"--convention {name!r}: choose one of {', '.join(CHOICES)}")
    return name


def score_convention(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    convention: str = "dora",
    start: Any = None,
    end: Any = None,
    benchmark: str | int = "2023",
) -> dict[str, Any]:
    """The ``score`` document under one convention; ``all`` gives ``{convention: document}``."""
    check_convention(convention)
    bench = check_benchmark(benchmark)
    if convention == "all":
        return {
            name: score_convention(
                changes, deployments, incidents, convention=name, start=start, end=end, benchmark=bench
            )
            for name in CONVENTIONS
        }
    if convention == "dora":
        return dict(score(changes, deployments, incidents, start=start, end=end, benchmark=bench))
    run = fourkeys if convention == "fourkeys" else devlake
    return run(changes, deployments, incidents, start=start, end=end, benchmark=bench)


def score_logs_convention(logs: EventLogs, **kwargs: Any) -> dict[str, Any]:
    return score_convention(logs.changes, logs.deployments, logs.incidents, **kwargs)
