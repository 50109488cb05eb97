"""Scenario files (docs/scenarios.md): TOML, validated on load, with ``extends`` and ``--set`` overrides.

One pipeline, as in Ciw: read TOML → resolve ``extends`` → apply overrides → validate with pydantic
(unknown keys, wrong types and out-of-range values are errors) → an immutable :class:`Scenario`.
Every error is one line naming the file, the dotted key, the value and the rule.

The parameters themselves — label, unit, source, range, and what a plan may do with each — are
declared once, on their fields, in :mod:`sim.model.sections`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import functools
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from sim.errors import InputError
from sim.files import TOML, LocalFiles, Resolver, read_text
from sim.metrics import timerange
from sim.model.sections import (
    CI,
    STAGES,
    Branching,
    Operations,
    Org,
    Quality,
    Release,
    Simulation,
    Team,
)


class Calibration(BaseModel):
    """What ``calibrate`` saw and how well the written scenario reproduces it (not a model parameter)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    window: str = Field(default="", description="the logs' window, start to end (end exclusive)")
    deployments: int = Field(default=0, ge=0, description="deployments in the window")
    changes: int = Field(default=0, ge=0, description="changes created in the window")
    incidents: int = Field(default=0, ge=0, description="incidents in the window")
    within_bar: str = Field(
        default="", description="metrics whose simulated p50 is within the calibration bar"
    )
    outside_bar: str = Field(
        default="", description="metrics whose simulated p50 is outside the calibration bar"
    )
    not_fitted: str = Field(default="", description="what the logs could not show, left at the base's values")


class Scenario(BaseModel):
    """A validated, immutable scenario. Build with :func:`load_scenario` or :func:`scenario_from_dict`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = "scenario"
    description: str = ""
    start: dt.date = Field(
        default=dt.date(2026, 1, 5), description="first day of the window (default a Monday)"
    )
    days: int = Field(default=90, ge=1, le=3650, description="horizon in days")
    seed: int = Field(default=1, ge=0, description="default root seed")
    team: Team = Team()
    org: Org = Org()
    branching: Branching = Branching()
    ci: CI = CI()
    quality: Quality = Quality()
    release: Release = Release()
    operations: Operations = Operations()
    simulation: Simulation = Simulation()
    calibration: Calibration | None = None  # written by ``calibrate``: its diagnostics travel with the file

    @model_validator(mode="after")
    def _teams_have_people(self) -> Scenario:
        if self.org.teams > self.team.engineers:
            raise ValueError(
                f"org.teams = {self.org.teams} is more teams than team.engineers = "
                f"{self.team.engineers}: every team needs at least one engineer"
            )
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="python")

    def with_values(self, values: Mapping[str, Any], *, source: str = "--set") -> Scenario:
        """A copy with dotted keys replaced (validated like a file)."""
        data = self.to_dict()
        for key, value in values.items():
            _set_dotted(data, key, value, source)
        return scenario_from_dict(data, source=source)


SECTIONS = ("team", "org", "branching", "ci", "quality", "release", "operations", "simulation")
IDENTITY_KEYS = ("name", "description", "start", "days", "seed")


def section_model(section: str) -> type[BaseModel]:
    """The model of one section of :data:`SECTIONS` (``"team"`` → :class:`Team`)."""
    model = Scenario.model_fields[section].annotation
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise KeyError(f"{section!r} is not a section of a scenario")
    return model


def parameter_keys() -> list[str]:
    """Every dotted model parameter key, in section order."""
    keys: list[str] = []
    for section in SECTIONS:
        keys.extend(f"{section}.{field}" for field in section_model(section).model_fields)
    return keys


def all_keys() -> list[str]:
    return list(IDENTITY_KEYS) + parameter_keys()


def parameter_info(key: str) -> dict[str, Any]:
    """Unit, source label, citation, help text, default and limits of one dotted key."""
    section, field = key.split(".", 1)
    info = section_model(section).model_fields[field]
    extra = dict(info.json_schema_extra) if isinstance(info.json_schema_extra, dict) else {}
    limits = {}
    for meta in info.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if getattr(meta, attr, None) is not None:
                limits[attr] = getattr(meta, attr)
    return {"key": key, "default": info.default, "help": info.description or "", "limits": limits, **extra}


@functools.cache
def keys_deciding(stage: str) -> frozenset[str]:
    """The keys a stage works settings out from once per run while none of them changes (their
    ``decides`` on the field): when a plan changes one, the stage looks the settings up at every use."""
    if stage not in STAGES:
        raise KeyError(f"{stage!r} is not one of the stages {STAGES}")
    return frozenset(key for key in parameter_keys() if stage in parameter_info(key).get("decides", ()))


@functools.cache
def fixed_keys() -> dict[str, str]:
    """The keys a plan phase cannot change, each with why (their ``fixed`` on the field)."""
    return {key: info["fixed"] for key in parameter_keys() if (info := parameter_info(key)).get("fixed")}


def get_value(scenario: Scenario, key: str) -> Any:
    obj: Any = scenario
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def parameter_table(scenario: Scenario) -> list[dict[str, Any]]:
    """Rows for the assumptions table: every parameter's value, unit, source and citation."""
    rows = []
    for key in parameter_keys():
        info = parameter_info(key)
        rows.append(
            {
                "key": key,
                "value": get_value(scenario, key),
                "unit": info["unit"],
                "source": info["source"],
                "cite": info["cite"],
                "meaning": info["help"],
            }
        )
    return rows


# ----------------------------------------------------------------------------------------------
# Loading


def read_text_file(path: Path, kind: str = "scenario file") -> str:
    """A user's TOML file (regular, within the size cap of :mod:`sim.files`), or a one-line :class:`InputError`."""
    return read_text(path, TOML, what=kind)


def _read_toml(path: Path) -> dict[str, Any]:
    return parse_toml_text(read_text_file(path), str(path))


def parse_toml_text(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{source}: invalid TOML: arrays or tables nested too deeply") from None


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


MAX_EXTENDS_DEPTH = 32  # files in one ``extends`` chain


def resolve_extends(
    data: dict[str, Any],
    path: Path | str,
    _seen: tuple[str, ...] = (),
    *,
    resolver: Resolver | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Merge a file's ``extends`` chain: the parent first, then this file's keys on top.

    ``path`` identifies the file (for :class:`~sim.files.LocalFiles`, its path), ``source`` names it in
    messages (default: ``path``); ``resolver`` finds parents (default: files relative to this one).
    """
    resolver = LocalFiles() if resolver is None else resolver
    key = str(path)
    source = key if source is None else source
    data = dict(data)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError(f"{source}: extends = {parent!r}: must be a file path (a string)")
    seen = (*_seen, key)
    if len(seen) > MAX_EXTENDS_DEPTH:
        raise InputError(
            f"{source}: extends = {parent!r}: more than {MAX_EXTENDS_DEPTH} files in the extends chain"
        )
    found = resolver(parent, key, source)
    if found.key in seen:
        raise InputError(f"{source}: extends = {parent!r}: circular extends chain")
    parent_data = parse_toml_text(found.text, found.source)
    merged = resolve_extends(parent_data, found.key, seen, resolver=resolver, source=found.source)
    return _deep_merge(merged, data)


def _suggest(key: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _set_dotted(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    if key not in all_keys():
        raise InputError(
            f"{source}: unknown key {key!r} = {value!r}: not a scenario key{_suggest(key, all_keys())}"
        )
    parts = key.split(".")
    target = data
    for part in parts[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise InputError(f"{source}: {key}: {part!r} is not a table")
    target[parts[-1]] = value


def parse_override(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with VALUE read as a TOML value (``10``, ``true``, ``"daily"``); bare words are strings."""
    if "=" not in text:
        raise InputError(f"--set {text!r}: expected KEY=VALUE, e.g. --set ci.runners=8")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not key:
        raise InputError(f"--set {text!r}: missing key before '='")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def _coerce(data: dict[str, Any]) -> dict[str, Any]:
    """TOML integers are accepted where a float is expected (``days = 90``, ``defect_rate = 0``)."""
    out = dict(data)
    for section in SECTIONS:
        table = out.get(section)
        if not isinstance(table, dict):
            continue
        model = section_model(section)
        fixed = dict(table)
        for field, value in table.items():
            info = model.model_fields.get(field)
            if (
                info is not None
                and info.annotation is float
                and isinstance(value, int)
                and not isinstance(value, bool)
            ):
                fixed[field] = float(value)
        out[section] = fixed
    if isinstance(out.get("start"), str):
        with contextlib.suppress(ValueError):  # pydantic reports it with the key
            out["start"] = dt.date.fromisoformat(out["start"])
    if isinstance(out.get("start"), dt.datetime):
        out["start"] = out["start"].date()
    return out


def _describe_error(err: ErrorDetails, source: str) -> str:
    loc = [str(part) for part in err["loc"]]
    key = ".".join(loc)
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        if loc == ["phase"]:  # e.g. a calibrated organisation, whose teams' own values are day-0 phases
            return f"{source}: is a plan (it has [[phase]] tables): run it with `plan` or `forecast`"
        if len(loc) == 1:
            choices = [*IDENTITY_KEYS, *SECTIONS]
        else:
            fields = section_model(loc[0]).model_fields if loc[0] in SECTIONS else {}
            choices = [f"{loc[0]}.{f}" for f in fields]
        return f"{source}: unknown key {key!r} = {value!r}: not a scenario key{_suggest(key, choices)}"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{source}: {key} = {value!r}: must be one of {expected}"
    if not loc:  # a rule across keys: its message names them
        return f"{source}: {err['msg'].removeprefix('Value error, ')}"
    if kind == "model_type":
        return f"{source}: {key} = {value!r}: must be a table ([{key}])"
    return f"{source}: {key} = {value!r}: {err['msg'].lower()}"


def scenario_from_dict(data: Mapping[str, Any], *, source: str = "scenario") -> Scenario:
    """Validate a plain dict (already merged) into a :class:`Scenario`; raise one-line :class:`InputError`."""
    try:
        scenario = Scenario.model_validate(_coerce(dict(data)))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(_describe_error(first, source)) from None
    _check_dates(scenario, source)
    return scenario


def _check_dates(scenario: Scenario, source: str) -> None:
    """The simulated span — warm-up before ``start`` to the end of the horizon — lies in the accepted dates."""
    start, warmup, days = scenario.start, scenario.simulation.warmup_days, scenario.days
    if not timerange.date_in_range(start):
        raise InputError(f"{source}: start = {start.isoformat()}: {timerange.OUTSIDE}")
    first = start.toordinal() - warmup
    if first < timerange.FIRST_DATE.toordinal():
        raise InputError(
            f"{source}: start = {start.isoformat()}: the simulation begins simulation.warmup_days = "
            f"{warmup} days earlier, on {dt.date.fromordinal(first).isoformat()}, which "
            f"{timerange.OUTSIDE}"
        )
    last = start.toordinal() + days
    if last > timerange.END_DATE.toordinal():
        raise InputError(
            f"{source}: start = {start.isoformat()} with days = {days}: the horizon ends on "
            f"{dt.date.fromordinal(min(last, dt.date.max.toordinal())).isoformat()}, which "
            f"{timerange.OUTSIDE}"
        )


def load_scenario(path: str | Path, overrides: Iterable[str] | Mapping[str, Any] = ()) -> Scenario:
    """Load, resolve ``extends``, apply ``--set`` overrides and validate a scenario file."""
    path = Path(path)
    data = resolve_extends(_read_toml(path), path.resolve(), source=str(path))
    # a file can be validated on its own first so that its errors name the file, not --set
    scenario = scenario_from_dict(data, source=str(path))
    items = overrides.items() if isinstance(overrides, Mapping) else (parse_override(o) for o in overrides)
    for key, value in items:
        _set_dotted(data, key, value, f"--set {key}")
        scenario = scenario_from_dict(data, source=f"--set {key}")
    return scenario


def load_scenario_text(
    text: str, source: str, base_dir: Path | None = None, *, resolver: Resolver | None = None
) -> Scenario:
    """Validate TOML text (an upload in the app).

    ``extends`` is found by ``resolver`` — in the hosted app a :class:`~sim.files.NamedFiles` that knows
    only shipped and uploaded names — else as a file relative to ``base_dir`` (default: the current folder).
    """
    data = parse_toml_text(text, source)
    if "extends" in data:
        resolver = LocalFiles(base_dir) if resolver is None else resolver
        data = resolve_extends(data, resolver.root_key(source), resolver=resolver, source=source)
    return scenario_from_dict(data, source=source)


def toml_value(value: Any) -> str:
    """One value as TOML writes it (floats to six decimals, dates as ISO dates)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def scenario_to_toml(scenario: Scenario, comments: Mapping[str, str] | None = None) -> str:
    """A complete, commented TOML file for a scenario (every key written out)."""
    comments = dict(comments or {})

    lines = []
    for key in IDENTITY_KEYS:
        note = f"  # {comments[key]}" if key in comments else ""
        lines.append(f"{key} = {toml_value(get_value(scenario, key))}{note}")
    for section in SECTIONS:
        lines += ["", f"[{section}]"]
        for field in section_model(section).model_fields:
            key = f"{section}.{field}"
            info = parameter_info(key)
            note = comments.get(key) or f"{info['unit']}; {info['source']}"
            lines.append(f"{field} = {toml_value(get_value(scenario, key))}  # {note}")
    if scenario.calibration is not None:
        lines += ["", "[calibration]  # what calibrate saw and how well this file reproduces it"]
        for field, value in scenario.calibration.model_dump().items():
            lines.append(f"{field} = {toml_value(value)}")
    return "\n".join(lines) + "\n"
