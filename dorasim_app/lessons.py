"""What the workshop reads off simulated deployments: sizes, failures and hotfixes, and the per-change risk
``p`` of the closed form 1 − (1 − p)ⁿ fitted to them. Pure functions over the deployment and incident logs of
one or more replications, so they are tested without a server.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

SIZE_EDGES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1_000_000)  # doubling bins of changes per deployment


def deployment_outcomes(deployments: pd.DataFrame, incidents: pd.DataFrame) -> pd.DataFrame:
    """One row per deployment: ``size`` (changes it shipped), ``failed`` (an incident names it) and
    ``hotfix`` (an unplanned deployment made to fix a failure)."""
    caused = set(incidents["deploy_id"].dropna().astype(str)) - {""}
    if "batch_size" in deployments:
        size = deployments["batch_size"].astype("int64")
    else:
        size = deployments["change_ids"].fillna("").astype(str).str.split().str.len().astype("int64")
    unplanned = (
        deployments["unplanned"] if "unplanned" in deployments else pd.Series(False, index=deployments.index)
    )
    return pd.DataFrame(
        {
            "size": size.to_numpy(),
            "failed": deployments["deploy_id"].astype(str).isin(caused).to_numpy(),
            "hotfix": unplanned.fillna(False).astype(bool).to_numpy(),
        }
    )


def fit_change_risk(sizes: Sequence[int], failed: Sequence[bool]) -> float | None:
    """The per-change risk ``p`` that makes 1 − (1 − p)ⁿ most likely to give these outcomes (maximum
    likelihood over deployments of ``n`` ≥ 1 changes); ``None`` without a deployment to fit.

    The log-likelihood is concave in log(1 − p), so a bisection on its derivative finds the one maximum.
    """
    n = np.asarray(sizes, dtype=float)
    f = np.asarray(failed, dtype=bool)
    keep = n >= 1
    n, f = n[keep], f[keep]
    if not len(n):
        return None
    if not f.any():
        return 0.0
    if f.all():
        return 1.0

    def slope(q: float) -> float:  # d/dq of the log-likelihood, q = −log(1 − p) > 0
        ok = n[~f].sum()
        with np.errstate(over="ignore"):
            return float((n[f] * np.exp(-q * n[f]) / -np.expm1(-q * n[f])).sum() - ok)

    lo, hi = 1e-9, 50.0
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if slope(mid) > 0:
            lo = mid
        else:
            hi = mid
    return float(-math.expm1(-math.sqrt(lo * hi)))


def size_groups(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Deployments grouped by size in doubling bins (1, 2–3, 4–7, …): ``bin`` label, mean ``size``, share
    ``failed`` and ``count``, smallest first."""
    edges = np.asarray(SIZE_EDGES)
    index = np.searchsorted(edges, outcomes["size"].to_numpy(), side="right") - 1
    rows = []
    for i in sorted(set(index.tolist()) - {-1}):
        part = outcomes[index == i]
        lo, hi = int(edges[i]), int(edges[i + 1]) - 1
        rows.append(
            {
                "bin": str(lo) if lo == hi else f"{lo}–{hi}",
                "size": float(part["size"].mean()),
                "failed": float(part["failed"].mean()),
                "count": len(part),
            }
        )
    return pd.DataFrame(rows, columns=["bin", "size", "failed", "count"])


def release_facts(outcomes: pd.DataFrame, weeks: float) -> dict[str, float | None]:
    """Planned releases (not hotfixes): their mean size and the share that failed; hotfixes a week."""
    planned = outcomes[~outcomes["hotfix"]]
    return {
        "size": float(planned["size"].mean()) if len(planned) else None,
        "failed": float(planned["failed"].mean()) if len(planned) else None,
        "hotfixes_per_week": float(outcomes["hotfix"].sum()) / weeks if weeks > 0 else None,
    }
