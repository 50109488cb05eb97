"""Scoring a forecast against what happened: interval coverage, CRPS and pinball loss (docs/cli.md, backtest).

A forecast here is an ensemble: one ship day per replication, ``None`` for a replication that had not
shipped by the forecast's horizon. Such a replication is scored as if it shipped on the horizon day
itself (``cap``): the forecast said "not before then", so this is the kindest reading of it and the
score is a lower bound on its true loss.

- **CRPS** (continuous ranked probability score) of an ensemble ``x_1..x_n`` and an outcome ``y``:
  ``E|X − y| − ½ E|X − X'|`` (Gneiting and Raftery 2007), in the forecast's unit (days). It rewards
  sharpness and calibration at once; for a point forecast it is the absolute error. Cases are scored
  with the *fair* CRPS (Ferro 2014: the pair mean over distinct members), which scores the forecast
  distribution rather than the ensemble's size: the model's 40 replications and the Monte Carlo's
  1,000 draws are compared on equal terms (``crps_ensemble`` keeps the plain ensemble score).
- **Pinball loss** of the ``q``-quantile ``x``: ``q (y − x)`` when ``y >= x``, else ``(1 − q)(x − y)``.
- **Coverage**: whether ``y`` fell inside the p5–p95 interval (both ends included, days being whole),
  and whether ``y <= p85``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np


def ensemble(values: Sequence[float | None], cap: float) -> np.ndarray:
    """The ensemble as floats, unfinished replications (``None``) at ``cap``."""
    return np.array([cap if v is None else float(v) for v in values], dtype=float)


def crps(samples: Iterable[float], outcome: float, *, fair: bool = False) -> float:
    """CRPS of an empirical ensemble against one outcome (same unit as both).

    ``fair``: the fair CRPS (Ferro 2014), ``E|X − y| − ½ E|X − X'|`` with the pair mean over distinct
    members (n(n − 1) pairs, not n²): an unbiased score of the distribution the ensemble was drawn from.
    The plain ensemble CRPS overstates it by about ``E|X − X'| / (2n)``, so an ensemble of 40 would lose
    to one of 1,000 drawn from the same distribution. One member: the two are the same.
    """
    x = np.sort(np.asarray(list(samples), dtype=float))
    n = x.size
    if n == 0:
        raise ValueError("crps of an empty ensemble")
    spread_weights = 2.0 * np.arange(1, n + 1) - n - 1
    mean_abs = float(np.mean(np.abs(x - outcome)))
    pairs = n * (n - 1) if fair and n > 1 else n * n
    half_pair = float(np.sum(spread_weights * x)) / pairs  # = ½ E|X − X'|
    return mean_abs - half_pair


def pinball(quantile: float, forecast: float, outcome: float) -> float:
    """Pinball (quantile) loss of the ``quantile`` forecast ``forecast`` (0 < quantile < 1)."""
    diff = outcome - forecast
    return quantile * diff if diff >= 0 else (quantile - 1.0) * diff


def empirical_quantile(samples: Sequence[float] | np.ndarray, q: float) -> float:
    """The first value by which at least ``q`` (0..1) of the ensemble lies (as forecasts' dates are read)."""
    x = np.sort(np.asarray(samples, dtype=float))
    need = max(1, int(np.ceil(q * x.size - 1e-9)))
    return float(x[min(need, x.size) - 1])


def score_case(samples: Sequence[float | None], outcome: float, cap: float) -> dict[str, float | bool]:
    """p5/p10/p50/p85/p95, CRPS, mean pinball loss over those quantiles, and coverage for one case."""
    x = ensemble(samples, cap)
    quantiles = {q: empirical_quantile(x, q / 100) for q in (5, 10, 50, 85, 95)}
    out: dict[str, float | bool] = {f"p{q}": value for q, value in quantiles.items()}
    out["crps"] = crps(x, outcome, fair=True)
    out["crps_ensemble"] = crps(x, outcome)
    out["pinball"] = float(np.mean([pinball(q / 100, v, outcome) for q, v in quantiles.items()]))
    out["in_p5_p95"] = bool(quantiles[5] <= outcome <= quantiles[95])
    out["le_p85"] = bool(outcome <= quantiles[85])
    out["unfinished_share"] = float(np.mean([v is None for v in samples])) if len(samples) else 0.0
    return out


def summarize_scores(cases: Sequence[dict[str, float | bool]]) -> dict[str, float | int | None]:
    """Coverage shares, mean CRPS and mean pinball loss over the scored cases."""
    n = len(cases)
    if n == 0:
        return {
            "cases": 0,
            "coverage_p5_p95": None,
            "coverage_p85": None,
            "mean_crps": None,
            "mean_crps_ensemble": None,
            "mean_pinball": None,
            "median_width_p5_p95": None,
        }
    return {
        "cases": n,
        "coverage_p5_p95": sum(bool(c["in_p5_p95"]) for c in cases) / n,
        "coverage_p85": sum(bool(c["le_p85"]) for c in cases) / n,
        "mean_crps": float(np.mean([float(c["crps"]) for c in cases])),
        "mean_crps_ensemble": float(np.mean([float(c.get("crps_ensemble", c["crps"])) for c in cases])),
        "mean_pinball": float(np.mean([float(c["pinball"]) for c in cases])),
        "median_width_p5_p95": float(np.median([float(c["p95"]) - float(c["p5"]) for c in cases])),
    }
