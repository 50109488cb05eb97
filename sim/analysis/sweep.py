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

import difflib
import hashlib
import itertools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis.executors import check_executor, execute
from sim.analysis.fingerprint import model_digest
from sim.analysis.results import SweepResult, TornadoRow
from sim.analysis.runner import ReplicationResult, band_probabilities, percentiles, run_replication
from sim.analysis.sweep_table import PointStats, check_out_path, read_done, table_frame, write_table
from sim.errors import InputError
from sim.files import TOML, check_file
from sim.metrics.bands import BANDS, band_of, check_benchmark
from sim.metrics.registry import BY_KEY, METRIC_KEYS
from sim.model.scenario import (
    IDENTITY_KEYS,
    Scenario,
    get_value,
    load_scenario,
    parameter_keys,
    parse_toml_text,
    read_text_file,
    section_model,
)

DESIGNS = ("grid", "lhs", "sobol")
METHODS = ("morris", "sobol", "none")
MAX_POINTS = 100_000
MAX_REPS = 10_000
# sweep randomness (design, SALib sample, bootstrap) is spawned far from the replications' keys,
# which are (replication, stream) with replication < MAX_REPS
_SWEEP_KEY = 2**31 - 1
_TOP_KEYS = ("name", "description", "base", "design", "points", "reps", "seed", "days", "benchmark",
             "sensitivity", "trajectories", "levels", "samples", "vary")


# ----------------------------------------------------------------------------------------------
# Levers, points and the sweep


@dataclass(frozen=True)
class Lever:
    """One varied key: a list of ``values``, or a numeric ``low``–``high`` range."""

    key: str
    kind: str  # "float", "int", "bool" or "choice"
    values: tuple[Any, ...] = ()
    low: float | int | None = None
    high: float | int | None = None

    @property
    def ends(self) -> tuple[Any, Any]:
        """The settings a tornado compares: a range's low and high, a list's first and last entry."""
        return (self.values[0], self.values[-1]) if self.values else (self.low, self.high)

    def at(self, u: float) -> Any:
        """The lever's value at ``u`` in [0, 1]."""
        u = min(max(float(u), 0.0), 1.0)
        if self.values:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        low, high = self.low, self.high
        if low is None or high is None:
            raise ValueError(f"lever {self.key} has neither values nor a low–high range")
        if self.kind == "int":
            count = high - low + 1
            return low + min(int(u * count), count - 1)
        return float(f"{low + u * (high - low):.6g}")


@dataclass(frozen=True)
class Point:
    id: int
    part: str  # "design", "tornado", "morris" or "sobol"
    label: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep. Build with :func:`load_sweep` / :func:`load_sweep_text`."""

    name: str
    source: str
    base: Scenario
    levers: tuple[Lever, ...]
    design: str = "lhs"
    points: int = 32
    reps: int = 10
    seed: int = 1
    benchmark: str = "2023"
    sensitivity: str = "morris"
    trajectories: int = 10
    levels: int = 4
    samples: int = 32
    description: str = field(default="", compare=False)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(lever.key for lever in self.levers)

    def fingerprint(self) -> str:
        """A hash of everything that determines the sweep's numbers: the simulator's source, the base,
        levers, design and seeds (not the file's name or comments)."""
        doc = {"model": model_digest(), "base": self.base.model_dump(mode="json"),
               "levers": [asdict(lever) for lever in self.levers],
               **{k: getattr(self, k) for k in ("design", "points", "reps", "seed", "benchmark", "sensitivity",
                                                "trajectories", "levels", "samples")}}
        return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def plan(self) -> list[Point]:
        """Every point the sweep runs: design, then tornado, then the global sample."""
        points: list[Point] = []
        for values in self.design_values():
            points.append(Point(len(points), "design", "", values))
        for label, values in tornado_points(self.base, self.levers):
            points.append(Point(len(points), "tornado", label, values))
        width = len(self.levers) + 1
        for row, unit in enumerate(self.global_sample()):
            label = f"trajectory {row // width + 1}" if self.sensitivity == "morris" else ""
            points.append(Point(len(points), self.sensitivity, label, self._values_at(unit)))
        return points

    def design_values(self) -> list[tuple[Any, ...]]:
        if self.design == "grid":
            return [tuple(v) for v in itertools.product(*(lever.values for lever in self.levers))]
        from scipy.stats import qmc

        d = len(self.levers)
        if self.design == "lhs":
            unit = qmc.LatinHypercube(d=d, rng=self._rng(0)).random(self.points)
        else:
            unit = qmc.Sobol(d=d, scramble=True, rng=self._rng(0)).random_base2(int(math.log2(self.points)))
        return [self._values_at(row) for row in unit]

    def global_sample(self) -> np.ndarray:
        """The SALib sample in the unit cube (no rows when ``sensitivity = "none"``)."""
        problem = self.problem()
        if self.sensitivity == "morris":
            from SALib.sample import morris

            return morris.sample(problem, self.trajectories, num_levels=self.levels, seed=self._rng(1))
        if self.sensitivity == "sobol":
            from SALib.sample import sobol

            return sobol.sample(problem, self.samples, calc_second_order=False, scramble=True, seed=self._rng(1))
        return np.empty((0, len(self.levers)))

    def problem(self) -> dict[str, Any]:
        return {"num_vars": len(self.levers), "names": list(self.keys), "bounds": [[0.0, 1.0]] * len(self.levers)}

    def scenario_at(self, values: Sequence[Any]) -> Scenario:
        return self.base.with_values(dict(zip(self.keys, values)), source=f"{self.source}: point")

    def _values_at(self, unit: Sequence[float]) -> tuple[Any, ...]:
        return tuple(lever.at(u) for lever, u in zip(self.levers, unit))

    def _rng(self, purpose: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(_SWEEP_KEY, purpose)))


def tornado_points(base: Scenario, levers: Sequence[Lever]) -> list[tuple[str, tuple[Any, ...]]]:
    """The base, then each lever at its low and its high end with the others at the base."""
    base_values = tuple(get_value(base, lever.key) for lever in levers)
    out = [("base", base_values)]
    for i, lever in enumerate(levers):
        for end, value in zip(("low", "high"), lever.ends):
            values = list(base_values)
            values[i] = value
            out.append((f"{lever.key} {end}", tuple(values)))
    return out


# ----------------------------------------------------------------------------------------------
# Loading and validation


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; ``base`` resolves against the file's folder."""
    path = Path(path)
    text = read_text_file(path, "sweep file")
    return load_sweep_text(text, str(path), path.resolve().parent, name=path.stem)


def load_sweep_text(text: str, source: str, base_dir: Path | None = None, *, name: str | None = None) -> SweepSpec:
    """Validate sweep TOML text (an upload in the app); ``base`` resolves against ``base_dir``."""
    data = parse_toml_text(text, source)
    return sweep_from_dict(data, source=source, base_dir=base_dir, name=name)


def sweep_from_dict(data: Mapping[str, Any], *, source: str = "sweep", base_dir: Path | None = None,
                    name: str | None = None, base: Scenario | None = None) -> SweepSpec:
    """Validate a parsed sweep; ``base`` (a Scenario) replaces the file's ``base`` key when given."""
    for key in data:
        if key not in _TOP_KEYS:
            raise InputError(f"{source}: unknown key {key!r}{_suggest(key, _TOP_KEYS)}")
    if base is None:
        base = _load_base(data, source, base_dir or Path.cwd())
    if "days" in data:
        base = base.with_values({"days": data["days"]}, source=source)
    sensitivity = _choice(data, "sensitivity", METHODS, "morris", source)
    levers_data = _vary(data, source)
    listed = all(isinstance(spec, list) for _, spec in levers_data)
    design = _choice(data, "design", DESIGNS, "grid" if listed else "lhs", source)
    levers = tuple(_lever(base, key, spec, f"{source} [vary]", design) for key, spec in levers_data)
    settings = {
        "points": _points(data, design, levers, source),
        "reps": _integer(data, "reps", 10, source, low=1, high=MAX_REPS),
        "seed": _integer(data, "seed", base.seed, source, low=0, high=2**63 - 1),
        "trajectories": _only(data, "trajectories", sensitivity, "morris", 10, source, low=2, high=1000),
        "levels": _only(data, "levels", sensitivity, "morris", 4, source, low=2, high=20),
        "samples": _only(data, "samples", sensitivity, "sobol", 32, source, low=16, high=2**16),
    }
    if settings["levels"] % 2:
        raise InputError(f"{source}: levels = {settings['levels']}: must be even (Morris grid levels)")
    if not _power_of_two(settings["samples"]):
        raise InputError(f"{source}: samples = {settings['samples']}: must be a power of 2 (Sobol' base samples)")
    try:
        benchmark = check_benchmark(data.get("benchmark", "2023"))
    except InputError:
        raise InputError(f"{source}: benchmark = {format_value(data.get('benchmark'))}: must be \"2023\" or \"2021\"") from None
    return SweepSpec(name=_text(data, "name", name or "sweep", source), source=source, base=base, levers=levers,
                     design=design, benchmark=benchmark, sensitivity=sensitivity,
                     description=_text(data, "description", "", source), **settings)


def _load_base(data: Mapping[str, Any], source: str, base_dir: Path) -> Scenario:
    base = data.get("base")
    if base is None:
        raise InputError(f'{source}: base: missing; name the scenario to vary around, e.g. base = "baseline.toml"')
    if not isinstance(base, str):
        raise InputError(f"{source}: base = {format_value(base)}: must be a scenario file path (a string)")
    where = f"{source}: base = {format_value(base)}"
    try:
        path = (base_dir / base).resolve()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a symbolic-link loop
        raise InputError(f"{where}: not a usable file path") from None
    try:
        check_file(path, TOML, what="file")
    except InputError as exc:
        raise InputError(f"{where}: {str(exc).removeprefix(f'{path}: ')} ({path})") from None
    return load_scenario(path)


def _vary(data: Mapping[str, Any], source: str) -> list[tuple[str, Any]]:
    """The ``[vary]`` table as (dotted key, list or range) pairs; nested tables (unquoted keys) are flattened."""
    table = data.get("vary")
    if not isinstance(table, dict) or not table:
        raise InputError(f'{source}: [vary]: missing or empty; list the levers, e.g. "ci.runners" = [1, 2, 4]')
    params = parameter_keys()
    out: list[tuple[str, Any]] = []

    def walk(prefix: str, node: Mapping[str, Any]) -> None:
        for name, value in node.items():
            key = f"{prefix}.{name}" if prefix else name
            if key in params:
                out.append((key, value))
            elif isinstance(value, dict) and any(p.startswith(key + ".") for p in params):
                walk(key, value)
            elif key in IDENTITY_KEYS:
                raise InputError(f"{source} [vary]: {key}: cannot vary; only model parameters such as "
                                 "'ci.runners' can (set days and seed at the top of the sweep file)")
            else:
                raise InputError(f"{source} [vary]: unknown key {key!r}{_suggest(key, params)}")

    walk("", table)
    return out


def _kind(key: str) -> str:
    section, name = key.split(".", 1)
    annotation = section_model(section).model_fields[name].annotation
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    return "choice"  # a Literal of allowed words


def _checked(base: Scenario, key: str, value: Any, where: str) -> Any:
    """The value as the scenario stores it, validated by the scenario's own rules."""
    return get_value(base.with_values({key: value}, source=where), key)


def _lever(base: Scenario, key: str, spec: Any, where: str, design: str) -> Lever:
    kind = _kind(key)
    if isinstance(spec, list):
        if len(spec) < 2:
            raise InputError(f"{where}: {key} = {format_value(spec)}: a list needs at least two values to compare")
        values = tuple(_checked(base, key, value, where) for value in spec)
        if len(set(values)) < len(values):
            raise InputError(f"{where}: {key} = {format_value(spec)}: values must all differ")
        return Lever(key, kind, values=values)
    if isinstance(spec, dict):
        if kind in ("bool", "choice"):
            example = "[false, true]" if kind == "bool" else "[\"weekly\", \"daily\"]"
            raise InputError(f"{where}: {key} = {format_value(spec)}: a switch or choice takes a list of values, "
                             f"e.g. {example}, not a range")
        if set(spec) != {"low", "high"}:
            raise InputError(f"{where}: {key} = {format_value(spec)}: a range needs exactly low and high")
        if design == "grid":
            raise InputError(f"{where}: {key} = {format_value(spec)}: a grid needs a list of values; "
                             'ranges are for design = "lhs" or "sobol"')
        low, high = (_checked(base, key, spec[end], where) for end in ("low", "high"))
        if not low < high:
            raise InputError(f"{where}: {key} = {format_value(spec)}: low must be below high")
        return Lever(key, kind, low=low, high=high)
    raise InputError(f"{where}: {key} = {format_value(spec)}: must be a list of values or a {{low = .., high = ..}} range")


def _points(data: Mapping[str, Any], design: str, levers: Sequence[Lever], source: str) -> int:
    if design == "grid":
        if "points" in data:
            raise InputError(f'{source}: points = {format_value(data["points"])}: only for design = "lhs" or "sobol"; '
                             "a grid runs every combination of the listed values")
        count = math.prod(len(lever.values) for lever in levers)
        if count > MAX_POINTS:
            raise InputError(f'{source}: design = "grid": {count} combinations, more than {MAX_POINTS}; '
                             'use design = "lhs" or "sobol" with points')
        return count
    points = _integer(data, "points", 32, source, low=1, high=MAX_POINTS)
    if design == "sobol" and not _power_of_two(points):
        raise InputError(f"{source}: points = {points}: a Sobol' design needs a power of 2 (16, 32, 64, ...)")
    return points


def _integer(data: Mapping[str, Any], key: str, default: int, source: str, *, low: int, high: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{source}: {key} = {format_value(value)}: must be a whole number")
    if not low <= value <= high:
        raise InputError(f"{source}: {key} = {value}: must be between {low} and {high}")
    return value


def _only(data: Mapping[str, Any], key: str, method: str, wanted: str, default: int, source: str,
          **limits: int) -> int:
    if key in data and method != wanted:
        raise InputError(f'{source}: {key} = {format_value(data[key])}: only for sensitivity = "{wanted}" '
                         f'(this sweep uses "{method}")')
    return _integer(data, key, default, source, **limits)


def _choice(data: Mapping[str, Any], key: str, choices: Sequence[str], default: str, source: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise InputError(f"{source}: {key} = {format_value(value)}: must be one of {', '.join(choices)}")
    return value


def _text(data: Mapping[str, Any], key: str, default: str, source: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise InputError(f"{source}: {key} = {format_value(value)}: must be text (a string)")
    return value


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _suggest(key: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def format_value(value: Any) -> str:
    """A value as it is written in TOML (what the user typed)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {format_value(v)}" for k, v in value.items()) + "}"
    return str(value)


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
        out[metric] = {"n": sum(v is not None for v in values), **percentiles(values),
                       **{f"p_{b}": shares[b] for b in BANDS}}
    overall = band_probabilities([r.overall for r in results])
    out["overall"] = {"n": sum(r.overall is not None for r in results), "p10": None, "p50": None, "p90": None,
                      "mean": None, **{f"p_{b}": overall[b] for b in BANDS},
                      "unstable_share": sum(r.backlog.unstable for r in results) / len(results) if results else 0.0}
    for metric in METRIC_KEYS:
        out[metric]["unstable_share"] = out["overall"]["unstable_share"]
    return out


def point_stable(stats: PointStats) -> bool:
    """A point is stable unless more than half its replications' backlogs ran away."""
    return (stats["overall"].get("unstable_share") or 0.0) <= 0.5


def completed_points(spec: SweepSpec, out: str | Path) -> int:
    """How many of the sweep's points ``out`` already holds (what a resumed run skips)."""
    return len(read_done(check_out_path(out), spec.fingerprint(), spec.keys, spec.plan()))


def run_sweep(spec: SweepSpec, *, executor: str = "local", scheduler: str | None = None,
              workers: int | None = None, out: str | Path | None = None,
              callback: Callable[[int, int], Any] | None = None, progress: str | None = None) -> SweepResult:
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

    results = execute(run_point, tasks, executor=executor, scheduler=scheduler, workers=workers,
                      sink=save if out_path else None, progress=progress, callback=callback)
    fill(list(enumerate(results)))
    if out_path is not None:
        write_table(out_path, table_frame(fingerprint, spec.keys, points, stats))
    return summarize_sweep(spec, points, stats)


def summarize_sweep(spec: SweepSpec, points: Sequence[Point], stats: Mapping[int, PointStats]) -> SweepResult:
    tornado_stats = [stats[p.id] for p in points if p.part == "tornado"]
    global_points = [p for p in points if p.part == spec.sensitivity]
    sensitivity, warnings = sensitivity_indices(spec, spec.global_sample(), [stats[p.id] for p in global_points])
    parts = {part: sum(p.part == part for p in points) for part in ("design", "tornado", spec.sensitivity)
             if part != "none"}
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


def tornado_table(levers: Sequence[Lever], tornado_stats: Sequence[PointStats]) -> dict[str, list[TornadoRow]]:
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
            unstable_at = [name for name, end in zip(("low", "high"), ends, strict=True) if not point_stable(end)]
            rows.append({"key": lever.key, "low": low, "high": high, "swing": swing,
                         "low_value": lever.ends[0], "high_value": lever.ends[1],
                         "unstable": bool(unstable_at), "unstable_at": unstable_at})
        rows.sort(key=lambda row: (row["swing"] is None, -(row["swing"] or 0.0)))
        out[metric] = rows
    return out


def sensitivity_indices(spec: SweepSpec, unit: np.ndarray, global_stats: Sequence[PointStats],
                        ) -> tuple[dict[str, dict[str, dict[str, float | None]]], list[str]]:
    """SALib's indices of each metric's p50 over the global sample; levers sorted by ``total``."""
    if spec.sensitivity == "none":
        return {}, []
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    warnings: list[str] = []
    for metric in METRIC_KEYS:
        y = np.array([np.nan if s[metric]["p50"] is None else s[metric]["p50"] for s in global_stats], dtype=float)
        analyse = _morris if spec.sensitivity == "morris" else _sobol
        indices = analyse(spec, unit, y)
        if indices is None:
            warnings.append(f"{metric}: no value at too many points of the {spec.sensitivity} sample "
                            "(nothing deployed or no incident); no global indices")
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
    result = morris.analyze(spec.problem(), x, y, num_levels=spec.levels, num_resamples=200, seed=spec._rng(2))
    mu_star, sigma = np.asarray(result["mu_star"], float), np.nan_to_num(np.asarray(result["sigma"], float))
    scale = mu_star.sum()
    out = {}
    for i, key in enumerate(spec.keys):
        total = mu_star[i] / scale if scale > 0 else 0.0
        spread = mu_star[i] ** 2 + sigma[i] ** 2
        out[key] = {"first_order": _num(total * mu_star[i] ** 2 / spread if spread > 0 else 0.0),
                    "total": _num(total), "mu_star": _num(mu_star[i]), "sigma": _num(sigma[i]),
                    "mu_star_conf": _num(result["mu_star_conf"][i])}
    return out


def _sobol(spec: SweepSpec, unit: np.ndarray, y: np.ndarray) -> dict[str, dict[str, float | None]] | None:
    from SALib.analyze import sobol

    if np.isnan(y).any():
        return None
    zero = {"first_order": 0.0, "total": 0.0, "first_order_conf": 0.0, "total_conf": 0.0}
    if np.ptp(y) == 0:  # the metric does not move anywhere in the sample
        return {key: dict(zero) for key in spec.keys}
    seed = int(np.random.SeedSequence(spec.seed, spawn_key=(_SWEEP_KEY, 2)).generate_state(1)[0]) or 1
    with np.errstate(divide="ignore", invalid="ignore"):
        result = sobol.analyze(spec.problem(), y, calc_second_order=False, num_resamples=200, seed=seed)
    return {key: {"first_order": _num(max(0.0, result["S1"][i])), "total": _num(max(0.0, result["ST"][i])),
                  "first_order_conf": _num(result["S1_conf"][i]), "total_conf": _num(result["ST_conf"][i])}
            for i, key in enumerate(spec.keys)}


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# ----------------------------------------------------------------------------------------------
# A quick tornado for the app


def tornado(base_scenario: Scenario, levers: Mapping[str, tuple[Any, Any]], reps: int = 10,
            seed: int | None = None, workers: int | None = None,
            callback: Callable[[int, int], Any] | None = None, benchmark: str = "2023") -> dict[str, Any]:
    """One-at-a-time tornado around ``base_scenario`` on local processes (2 x levers + 1 points).

    ``levers`` maps dotted keys to ``(low, high)`` settings (numbers, switches or choices). Returns
    ``{"base", "reps", "seed", "benchmark", "base_p50": {metric: p50}, "tornado": {metric: rows}}``
    with the rows of :func:`tornado_table`.
    """
    seed = base_scenario.seed if seed is None else seed
    benchmark = check_benchmark(benchmark)
    if not levers:
        raise InputError("tornado: no levers given")
    built = tuple(_lever(base_scenario, key, list(pair), "tornado", "grid")
                  for key, pair in _known(levers).items())
    values = [v for _, v in tornado_points(base_scenario, built)]
    unique = list(dict.fromkeys(values))
    keys = [lever.key for lever in built]
    tasks = [(base_scenario.with_values(dict(zip(keys, v)), source="tornado"), seed, reps, benchmark)
             for v in unique]
    results = dict(zip(unique, execute(run_point, tasks, workers=workers, callback=callback)))
    stats = [results[v] for v in values]
    return {"base": base_scenario.name, "reps": reps, "seed": seed, "benchmark": benchmark,
            "base_p50": {metric: stats[0][metric]["p50"] for metric in METRIC_KEYS},
            "tornado": tornado_table(built, stats)}


def _known(levers: Mapping[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]]:
    params = parameter_keys()
    for key, pair in levers.items():
        if key not in params:
            raise InputError(f"tornado: unknown key {key!r}{_suggest(key, params)}")
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InputError(f"tornado: {key} = {pair!r}: must be a (low, high) pair")
    return dict(levers)
