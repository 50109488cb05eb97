"""Reading and validating sweep files (docs/sweeps.md) into a :class:`~sim.analysis.sweep_spec.SweepSpec`.

Every mistake is one line naming the file, the key, the value and the rule.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.analysis.sweep_spec import DESIGNS, MAX_POINTS, MAX_REPS, METHODS, Lever, SweepSpec
from sim.errors import InputError
from sim.files import TOML, check_file
from sim.metrics.bands import check_benchmark
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

_TOP_KEYS = (
    "name",
    "description",
    "base",
    "design",
    "points",
    "reps",
    "seed",
    "days",
    "benchmark",
    "sensitivity",
    "trajectories",
    "levels",
    "samples",
    "vary",
)


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; ``base`` resolves against the file's folder."""
    path = Path(path)
    text = read_text_file(path, "sweep file")
    return load_sweep_text(text, str(path), path.resolve().parent, name=path.stem)


def load_sweep_text(
    text: str, source: str, base_dir: Path | None = None, *, name: str | None = None
) -> SweepSpec:
    """Validate sweep TOML text (an upload in the app); ``base`` resolves against ``base_dir``."""
    data = parse_toml_text(text, source)
    return sweep_from_dict(data, source=source, base_dir=base_dir, name=name)


def sweep_from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "sweep",
    base_dir: Path | None = None,
    name: str | None = None,
    base: Scenario | None = None,
) -> SweepSpec:
    """Validate a parsed sweep; ``base`` (a Scenario) replaces the file's ``base`` key when given."""
    for key in data:
        if key not in _TOP_KEYS:
            raise InputError(f"{source}: unknown key {key!r}{suggest(key, _TOP_KEYS)}")
    if base is None:
        base = _load_base(data, source, base_dir or Path.cwd())
    if "days" in data:
        base = base.with_values({"days": data["days"]}, source=source)
    sensitivity = _choice(data, "sensitivity", METHODS, "morris", source)
    levers_data = _vary(data, source)
    listed = all(isinstance(spec, list) for _, spec in levers_data)
    design = _choice(data, "design", DESIGNS, "grid" if listed else "lhs", source)
    levers = tuple(make_lever(base, key, spec, f"{source} [vary]", design) for key, spec in levers_data)
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
        raise InputError(
            f"{source}: samples = {settings['samples']}: must be a power of 2 (Sobol' base samples)"
        )
    try:
        benchmark = check_benchmark(data.get("benchmark", "2023"))
    except InputError:
        raise InputError(
            f'{source}: benchmark = {format_value(data.get("benchmark"))}: must be "2023" or "2021"'
        ) from None
    return SweepSpec(
        name=_text(data, "name", name or "sweep", source),
        source=source,
        base=base,
        levers=levers,
        design=design,
        benchmark=benchmark,
        sensitivity=sensitivity,
        description=_text(data, "description", "", source),
        **settings,
    )


def _load_base(data: Mapping[str, Any], source: str, base_dir: Path) -> Scenario:
    base = data.get("base")
    if base is None:
        raise InputError(
            f'{source}: base: missing; name the scenario to vary around, e.g. base = "baseline.toml"'
        )
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
        raise InputError(
            f'{source}: [vary]: missing or empty; list the levers, e.g. "ci.runners" = [1, 2, 4]'
        )
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
                raise InputError(
                    f"{source} [vary]: {key}: cannot vary; only model parameters such as "
                    "'ci.runners' can (set days and seed at the top of the sweep file)"
                )
            else:
                raise InputError(f"{source} [vary]: unknown key {key!r}{suggest(key, params)}")

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


def make_lever(base: Scenario, key: str, spec: Any, where: str, design: str) -> Lever:
    kind = _kind(key)
    if isinstance(spec, list):
        if len(spec) < 2:
            raise InputError(
                f"{where}: {key} = {format_value(spec)}: a list needs at least two values to compare"
            )
        values = tuple(_checked(base, key, value, where) for value in spec)
        if len(set(values)) < len(values):
            raise InputError(f"{where}: {key} = {format_value(spec)}: values must all differ")
        return Lever(key, kind, values=values)
    if isinstance(spec, dict):
        if kind in ("bool", "choice"):
            example = "[false, true]" if kind == "bool" else '["weekly", "daily"]'
            raise InputError(
                f"{where}: {key} = {format_value(spec)}: a switch or choice takes a list of values, "
                f"e.g. {example}, not a range"
            )
        if set(spec) != {"low", "high"}:
            raise InputError(f"{where}: {key} = {format_value(spec)}: a range needs exactly low and high")
        if design == "grid":
            raise InputError(
                f"{where}: {key} = {format_value(spec)}: a grid needs a list of values; "
                'ranges are for design = "lhs" or "sobol"'
            )
        low, high = (_checked(base, key, spec[end], where) for end in ("low", "high"))
        if not low < high:
            raise InputError(f"{where}: {key} = {format_value(spec)}: low must be below high")
        return Lever(key, kind, low=low, high=high)
    raise InputError(
        f"{where}: {key} = {format_value(spec)}: must be a list of values or a {{low = .., high = ..}} range"
    )


def _points(data: Mapping[str, Any], design: str, levers: Sequence[Lever], source: str) -> int:
    if design == "grid":
        if "points" in data:
            raise InputError(
                f'{source}: points = {format_value(data["points"])}: only for design = "lhs" or "sobol"; '
                "a grid runs every combination of the listed values"
            )
        count = math.prod(len(lever.values) for lever in levers)
        if count > MAX_POINTS:
            raise InputError(
                f'{source}: design = "grid": {count} combinations, more than {MAX_POINTS}; '
                'use design = "lhs" or "sobol" with points'
            )
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


def _only(
    data: Mapping[str, Any], key: str, method: str, wanted: str, default: int, source: str, **limits: int
) -> int:
    if key in data and method != wanted:
        raise InputError(
            f'{source}: {key} = {format_value(data[key])}: only for sensitivity = "{wanted}" '
            f'(this sweep uses "{method}")'
        )
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


def suggest(key: str, choices: Sequence[str]) -> str:
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
