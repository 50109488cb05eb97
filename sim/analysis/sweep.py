"""Parameter sweeps (docs/sweeps.md): which lever moves which DORA metric, and by how much.

A sweep file names a base scenario, the levers to vary (``[vary]``: a list of values or a
``{low, high}`` range per dotted key), a design, replications and a seed. A sweep runs three kinds
of points, all with common random numbers — replication k of every point uses the same seeds, so
differences between points come from the levers, not from luck:

- **design**: every combination of the listed values (``grid``), or ``points`` space-filling
  points from ``scipy.stats.qmc`` (``lhs``: Latin hypercube; ``sobol``: scrambled Sobol');
- **tornado**: the base, then each lever at its low and at its high end with every other lever at
  the base; swing = |p50 at high − p50 at low| for each metric;
- **global**: SALib's Morris trajectories (default) or its Saltelli/Sobol' sample, analysed by SALib.

Every lever maps the unit interval onto its values: a float range linearly (rounded to 6
significant digits), an integer range onto equal-width bins of its whole numbers, a list
(switches, choices or numbers) onto equal-width bins of its entries in the order written; a
list's low and high ends are its first and last entries. The designs and SALib samples live in
that unit cube, so switches and choices take part in the global analysis as index ranges.

What ``first_order`` and ``total`` mean in the JSON ``sensitivity`` table:

- ``sensitivity = "sobol"``: Sobol' indices of the metric's p50 — ``first_order`` = S1 (the share
  of the variance explained by the lever alone), ``total`` = ST (alone and through interactions).
  Estimates below zero are sampling noise and shown as 0; ``*_conf`` are SALib's 95% half-widths.
  Cost: samples × (levers + 2) points; below ~32 base samples the estimates are rough.
- ``sensitivity = "morris"`` (cheaper: trajectories × (levers + 1) points): ``total`` =
  mu*ᵢ / Σⱼ mu*ⱼ, the lever's share of the mean absolute elementary effects (mu* ranks levers as the
  total-effect index does; Campolongo, Cariboni and Saltelli 2007); ``first_order`` = total ×
  mu*² / (mu*² + σ²), the part of that share that stays the same wherever the other levers sit —
  the rest (σ) is non-linearity or interaction. Raw ``mu_star``, ``sigma`` (metric units per full
  range of the lever) and ``mu_star_conf`` are reported alongside.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis.executors import check_executor, execute
from sim.analysis.results import SweepResult, TornadoRow
from sim.analysis.runner import ReplicationResult, band_probabilities, percentiles, run_replication
from sim.analysis.sweep_load import (  # noqa: F401  (re-exported: a sweep is loaded, then run)
    format_value,
    load_sweep,
    load_sweep_text,
    make_lever,
    suggest,
    sweep_from_dict,
)
from sim.analysis.sweep_spec import (  # noqa: F401  (re-exported)
    DESIGNS,
    METHODS,
    SWEEP_KEY,
    Lever,
    Point,
    SweepSpec,
    tornado_points,
)
from sim.analysis.sweep_table import PointStats, check_out_path, read_done, table_frame, write_table
from sim.errors import InputError
from sim.metrics.bands import BANDS, band_of, check_benchmark
from sim.metrics.registry import BY_KEY, METRIC_KEYS
from sim.model.scenario import (
    Scenario,
    parameter_keys,
)

# ----------------------------------------------------------------------------------------------
# Running


def run_point(scenario: Scenario, seed: int, reps: int, benchmark: str = "2023") -> PointStats:
    """One point: its ``reps`` replications (the same seeds at every point) summarised per metric."""
    return point_stats([run_replication(scenario, seed, k, benchmark) for k in range(reps)], benchmark)


def point_stats(results: Sequence[ReplicationResult], benchmark: str = "2023") -> PointStats:
    out: PointStats = {}
    for metric in METRIC_KEYS:
        values = [r.metrics.get(metric) for r in results]
        band = BY_KEY[metric].band_key
        if band is None:
            shares: Mapping[str, float | None] = dict.fromkeys(BANDS)
        else:
            shares = band_probabilities([band_of(band, v, benchmark) for v in values])
        out[metric] = {
            "n": sum(v is not None for v in values),
            **percentiles(values),
            **{f"p_{b}": shares[b] for b in BANDS},
        }
    overall = band_probabilities([r.overall for r in results])
    out["overall"] = {
        "n": sum(r.overall is not None for r in results),
        "p10": None,
        "p50": None,
        "p90": None,
        "mean": None,
        **{f"p_{b}": overall[b] for b in BANDS},
        "unstable_share": sum(r.backlog.unstable for r in results) / len(results) if results else 0.0,
    }
    for metric in METRIC_KEYS:
        out[metric]["unstable_share"] = out["overall"]["unstable_share"]
    return out


def point_stable(stats: PointStats) -> bool:
    """A point is stable unless more than half its replications' backlogs ran away."""
    return (stats["overall"].get("unstable_share") or 0.0) <= 0.5


def completed_points(spec: SweepSpec, out: str | Path) -> int:
    """How many of the sweep's points ``out`` already holds (what a resumed run skips)."""
    return len(read_done(check_out_path(out), spec.fingerprint(), spec.keys, spec.plan()))


def run_sweep(
    spec: SweepSpec,
    *,
    executor: str = "local",
    scheduler: str | None = None,
    workers: int | None = None,
    out: str | Path | None = None,
    callback: Callable[[int, int], Any] | None = None,
    progress: str | None = None,
) -> SweepResult:
    """Run every point not already in ``out`` and return the ``sweep`` JSON of docs/cli.md.

    ``out`` (.parquet or .csv) receives the tidy table, rewritten as points finish so that an
    interrupted sweep resumes where it stopped. ``callback(done, total)`` counts points to compute;
    ``progress`` labels a bar on stderr (shown only when it is a terminal).
    """
    check_executor(executor, scheduler)
    out_path = check_out_path(out) if out is not None else None
    points = spec.plan()
    fingerprint = spec.fingerprint()
    stats = read_done(out_path, fingerprint, spec.keys, points) if out_path else {}
    known = {points[i].values: s for i, s in stats.items()}
    # identical settings (a grid point at the base, say) give identical numbers: run each once
    todo = list(dict.fromkeys(p.values for p in points if p.values not in known))
    tasks = [(spec.scenario_at(values), spec.seed, spec.reps, spec.benchmark) for values in todo]

    def fill(done: Sequence[tuple[int, PointStats]]) -> None:
        for i, result in done:
            known[todo[i]] = result
        stats.update({p.id: known[p.values] for p in points if p.values in known})

    def save(done: Sequence[tuple[int, PointStats]]) -> None:
        fill(done)
        if out_path is not None:  # the sink only when there is a table
            write_table(out_path, table_frame(fingerprint, spec.keys, points, stats))

    results = execute(
        run_point,
        tasks,
        executor=executor,
        scheduler=scheduler,
        workers=workers,
        sink=save if out_path else None,
        progress=progress,
        callback=callback,
    )
    fill(list(enumerate(results)))
    if out_path is not None:
        write_table(out_path, table_frame(fingerprint, spec.keys, points, stats))
    return summarize_sweep(spec, points, stats)


def summarize_sweep(spec: SweepSpec, points: Sequence[Point], stats: Mapping[int, PointStats]) -> SweepResult:
    tornado_stats = [stats[p.id] for p in points if p.part == "tornado"]
    global_points = [p for p in points if p.part == spec.sensitivity]
    sensitivity, warnings = sensitivity_indices(
        spec, spec.global_sample(), [stats[p.id] for p in global_points]
    )
    parts = {
        part: sum(p.part == part for p in points)
        for part in ("design", "tornado", spec.sensitivity)
        if part != "none"
    }
    return {
        "sweep": spec.name,
        "base": spec.base.name,
        "days": spec.base.days,
        "design": spec.design,
        "points": len(points),
        "parts": parts,
        "reps": spec.reps,
        "seed": spec.seed,
        "benchmark": spec.benchmark,
        "base_p50": {metric: tornado_stats[0][metric]["p50"] for metric in METRIC_KEYS},
        "base_stable": point_stable(tornado_stats[0]),
        "unstable_points": sum(not point_stable(stats[p.id]) for p in points),
        "tornado": tornado_table(spec.levers, tornado_stats),
        "sensitivity_method": spec.sensitivity,
        "sensitivity": sensitivity,
        "warnings": warnings,
    }


# ----------------------------------------------------------------------------------------------
# Tornado and global sensitivity


def ranked_levers(rows: Sequence[TornadoRow]) -> list[TornadoRow]:
    """The levers that move a metric, largest swing first — those with a runaway end after the steady ones,
    since their swing measures how long the run was, not the lever. The one ranking the command line's
    "which levers matter most" and the app's "moves it most" both show."""
    moving = [row for row in rows if row.get("swing")]
    return [row for row in moving if not row.get("unstable")] + [row for row in moving if row.get("unstable")]


def tornado_table(
    levers: Sequence[Lever], tornado_stats: Sequence[PointStats]
) -> dict[str, list[TornadoRow]]:
    """Rows ``{key, low, high, swing, low_value, high_value, unstable, unstable_at}`` per metric, largest swing first.

    ``low``/``high`` are the metric's p50 with the lever at its low/high setting (``low_value``/
    ``high_value``) and every other lever at the base; ``tornado_stats`` = base, then low/high pairs.
    ``unstable`` is true when either end's backlog ran away (``unstable_at`` names the ends: ``low``,
    ``high``): its swing then measures the length of the run, not the lever.
    """
    out: dict[str, list[TornadoRow]] = {}
    for metric in METRIC_KEYS:
        rows: list[TornadoRow] = []
        for i, lever in enumerate(levers):
            ends = (tornado_stats[1 + 2 * i], tornado_stats[2 + 2 * i])
            low, high = (end[metric]["p50"] for end in ends)
            swing = abs(high - low) if low is not None and high is not None else None
            unstable_at = [
                name for name, end in zip(("low", "high"), ends, strict=True) if not point_stable(end)
            ]
            rows.append(
                {
                    "key": lever.key,
                    "low": low,
                    "high": high,
                    "swing": swing,
                    "low_value": lever.ends[0],
                    "high_value": lever.ends[1],
                    "unstable": bool(unstable_at),
                    "unstable_at": unstable_at,
                }
            )
        rows.sort(key=lambda row: (row["swing"] is None, -(row["swing"] or 0.0)))
        out[metric] = rows
    return out


def sensitivity_indices(
    spec: SweepSpec,
    unit: np.ndarray,
    global_stats: Sequence[PointStats],
) -> tuple[dict[str, dict[str, dict[str, float | None]]], list[str]]:
    """SALib's indices of each metric's p50 over the global sample; levers sorted by ``total``."""
    if spec.sensitivity == "none":
        return {}, []
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    warnings: list[str] = []
    for metric in METRIC_KEYS:
        y = np.array(
            [np.nan if s[metric]["p50"] is None else s[metric]["p50"] for s in global_stats], dtype=float
        )
        analyse = _morris if spec.sensitivity == "morris" else _sobol
        indices = analyse(spec, unit, y)
        if indices is None:
            warnings.append(
                f"{metric}: no value at too many points of the {spec.sensitivity} sample "
                "(nothing deployed or no incident); no global indices"
            )
            out[metric] = {}
            continue
        out[metric] = dict(sorted(indices.items(), key=lambda item: -(item[1]["total"] or 0.0)))
    return out, warnings


def _morris(spec: SweepSpec, unit: np.ndarray, y: np.ndarray) -> dict[str, dict[str, float | None]] | None:
    from SALib.analyze import morris

    width, d = len(spec.levers) + 1, len(spec.levers)
    # elementary effects need whole trajectories: drop those with a point where the metric is undefined
    complete = ~np.isnan(y.reshape(-1, width)).any(axis=1)
    if complete.sum() < 2:
        return None
    x = unit.reshape(-1, width, d)[complete].reshape(-1, d)
    y = y.reshape(-1, width)[complete].reshape(-1)
    result = morris.analyze(
        spec.problem(), x, y, num_levels=spec.levels, num_resamples=200, seed=spec._rng(2)
    )
    mu_star, sigma = np.asarray(result["mu_star"], float), np.nan_to_num(np.asarray(result["sigma"], float))
    scale = mu_star.sum()
    out = {}
    for i, key in enumerate(spec.keys):
        total = mu_star[i] / scale if scale > 0 else 0.0
        spread = mu_star[i] ** 2 + sigma[i] ** 2
        out[key] = {
            "first_order": _num(total * mu_star[i] ** 2 / spread if spread > 0 else 0.0),
            "total": _num(total),
            "mu_star": _num(mu_star[i]),
            "sigma": _num(sigma[i]),
            "mu_star_conf": _num(result["mu_star_conf"][i]),
        }
    return out


def _sobol(spec: SweepSpec, unit: np.ndarray, y: np.ndarray) -> dict[str, dict[str, float | None]] | None:
    from SALib.analyze import sobol

    if np.isnan(y).any():
        return None
    zero = {"first_order": 0.0, "total": 0.0, "first_order_conf": 0.0, "total_conf": 0.0}
    if np.ptp(y) == 0:  # the metric does not move anywhere in the sample
        return {key: dict(zero) for key in spec.keys}
    seed = int(np.random.SeedSequence(spec.seed, spawn_key=(SWEEP_KEY, 2)).generate_state(1)[0]) or 1
    with np.errstate(divide="ignore", invalid="ignore"):
        result = sobol.analyze(spec.problem(), y, calc_second_order=False, num_resamples=200, seed=seed)
    return {
        key: {
            "first_order": _num(max(0.0, result["S1"][i])),
            "total": _num(max(0.0, result["ST"][i])),
            "first_order_conf": _num(result["S1_conf"][i]),
            "total_conf": _num(result["ST_conf"][i]),
        }
        for i, key in enumerate(spec.keys)
    }


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# ----------------------------------------------------------------------------------------------
# A quick tornado for the app


def tornado(
    base_scenario: Scenario,
    levers: Mapping[str, tuple[Any, Any]],
    reps: int = 10,
    seed: int | None = None,
    workers: int | None = None,
    callback: Callable[[int, int], Any] | None = None,
    benchmark: str = "2023",
) -> dict[str, Any]:
    """One-at-a-time tornado around ``base_scenario`` on local processes (2 x levers + 1 points).

    ``levers`` maps dotted keys to ``(low, high)`` settings (numbers, switches or choices). Returns
    ``{"base", "reps", "seed", "benchmark", "base_p50": {metric: p50}, "tornado": {metric: rows}}``
    with the rows of :func:`tornado_table`.
    """
    seed = base_scenario.seed if seed is None else seed
    benchmark = check_benchmark(benchmark)
    if not levers:
        raise InputError("tornado: no levers given")
    built = tuple(
        make_lever(base_scenario, key, list(pair), "tornado", "grid") for key, pair in _known(levers).items()
    )
    values = [v for _, v in tornado_points(base_scenario, built)]
    unique = list(dict.fromkeys(values))
    keys = [lever.key for lever in built]
    tasks = [
        (base_scenario.with_values(dict(zip(keys, v)), source="tornado"), seed, reps, benchmark)
        for v in unique
    ]
    results = dict(zip(unique, execute(run_point, tasks, workers=workers, callback=callback)))
    stats = [results[v] for v in values]
    return {
        "base": base_scenario.name,
        "reps": reps,
        "seed": seed,
        "benchmark": benchmark,
        "base_p50": {metric: stats[0][metric]["p50"] for metric in METRIC_KEYS},
        "tornado": tornado_table(built, stats),
    }


def _known(levers: Mapping[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]]:
    params = parameter_keys()
    for key, pair in levers.items():
        if key not in params:
            raise InputError(f"tornado: unknown key {key!r}{suggest(key, params)}")
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InputError(f"tornado: {key} = {pair!r}: must be a (low, high) pair")
    return dict(levers)
