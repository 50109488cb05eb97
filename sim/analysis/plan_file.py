"""Plan files (docs/plans.md): reading and validating a starting scenario plus phases that ramp in, and writing one.

A plan file is a scenario file (``extends`` and any scenario keys at the top level) with three
more things: optional ``reps`` (default replications), and ``[[phase]]`` tables::

    extends = "baseline.toml"
    name = "my plan"
    reps = 30

    [[phase]]
    day = 14                  # days after the scenario's start (0 = the first day)
    name = "fast trusted CI"
    ramp_days = 14            # takes full effect 14 days later
    capacity_cost = 0.2       # assumed: share of output lost at the start of the ramp (default 0.2)
    defect_cost = 1.0         # assumed: relative defect-rate rise at the start of the ramp (default 1.0)
    set = { "ci.test_suite_minutes" = 10, "ci.flaky_rate" = 0.015 }

How a ramp works (see :mod:`sim.model.params`): numeric values move linearly from the value in force
before the phase to the new one over ``ramp_days``; switches (strategy, cadence, deploy method,
rollback, flags) are adopted by a growing share of the work — halfway through the ramp about half
of it follows the new way. While a phase ramps, output drops by ``capacity_cost``, human work
(branch work, reviews, conflict resolution, fixes, manual deploys, hotfix diagnosis) takes
1 / (1 − cost) as long, and the defect rate (of changes and hotfixes) and the manual checklist
error rate rise by ``defect_cost`` (relative); both costs fade linearly to nothing at the end of
the ramp (the J-curve of the DORA 2018 report). ``0`` means no adoption cost. Phases are applied in file
order and must not go back in time; a phase must start inside the horizon, but its ramp may run
past the end (it then never fully lands). Keys the model sizes once per run (:data:`STATIC_KEYS`,
e.g. ``ci.runners``) can be set at the top level but not in a phase.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from sim.analysis.runner import DEFAULT_REPS
from sim.errors import InputError
from sim.files import LocalFiles, Resolver
from sim.model.params import Phase
from sim.model.scenario import (
    IDENTITY_KEYS,
    SECTIONS,
    Scenario,
    fixed_keys,
    get_value,
    parameter_keys,
    parse_override,
    parse_toml_text,
    read_text_file,
    resolve_extends,
    scenario_from_dict,
    scenario_to_toml,
)

PLAN_KEYS = ("extends", "reps", "phase")
PHASE_KEYS = ("day", "name", "ramp_days", "capacity_cost", "defect_cost", "teams", "set")
# a phase for some teams only cannot change what belongs to the whole organisation
ORG_KEYS = {"team.engineers": "the headcount is the organisation's, split across its teams"}

# Adoption costs when a phase does not name them (assumed; DORA 2018's J-curve gives the shape,
# not the size). A phase that ramps loses this share of output and raises its defect rate by
# this much at the start of the ramp, fading to nothing at its end.
DEFAULT_CAPACITY_COST = 0.2
DEFAULT_DEFECT_COST = 1.0
MAX_DEFECT_COST = 10.0

# The model sizes these once per run (the CI runner pool, the experts' pool, the calendar and
# the warm-up), so a phase cannot change them; a plan sets them at the top level instead. Each says
# why on its field (``fixed``, sim/model/sections/).
STATIC_KEYS = fixed_keys()


@dataclass(frozen=True)
class Plan:
    """A validated plan: the starting scenario and its phases, in the order they apply."""

    name: str
    scenario: Scenario
    phases: tuple[Phase, ...]
    reps: int = DEFAULT_REPS
    seed: int = 1
    path: Path | None = None
    description: str = ""


# ----------------------------------------------------------------------------------------------
# Loading


def load_plan(path: str | Path, overrides: Iterable[str] = (), days: int | None = None) -> Plan:
    """Read and validate a plan file; ``extends`` resolves relative to it.

    ``overrides`` (``KEY=VALUE`` as ``--set`` takes them) and ``days`` (``--days``) change the starting
    scenario after the file is read; a shorter horizon keeps the phases that start inside it.
    """
    path = Path(path)
    text = read_text_file(path, "plan file")
    changes = [(f"--set {key}", key, value) for key, value in map(parse_override, overrides)]
    if days is not None:
        changes.append(("--days", "days", days))
    return _build(
        parse_toml_text(text, str(path)), str(path), str(path.resolve()), path, LocalFiles(), changes
    )


def load_plan_text(
    text: str, source: str, base_dir: Path | None = None, *, resolver: Resolver | None = None
) -> Plan:
    """Validate plan TOML text (an upload or an edit in the app).

    ``extends`` is found by ``resolver`` (in the hosted app: shipped and uploaded names only), else as a
    file relative to ``base_dir`` (default: the current folder).
    """
    data = parse_toml_text(text, source)
    resolver = LocalFiles(base_dir) if resolver is None else resolver
    return _build(data, source, resolver.root_key(source), None, resolver, [])


def _suggest(key: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(key, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _build(
    data: dict[str, Any],
    source: str,
    anchor: str,
    path: Path | None,
    resolver: Resolver,
    changes: list[tuple[str, str, Any]],
) -> Plan:
    allowed = [
        *PLAN_KEYS,
        *IDENTITY_KEYS,
        *SECTIONS,
        "calibration",
    ]  # a calibrated baseline's record may come along
    for key in data:
        if key not in allowed:
            raise InputError(f"{source}: unknown top-level key {key!r}{_suggest(key, allowed)}")
    data = dict(data)
    raw_phases = data.pop("phase", [])
    reps = _reps(data.pop("reps", DEFAULT_REPS), source)
    merged = resolve_extends(data, anchor, resolver=resolver, source=source)
    # a plan may extend a plan (a calibrated organisation's day-0 team phases): its phases come first
    inherited = merged.pop("phase", [])
    merged.pop("reps", None)
    raw_phases = (
        [*inherited, *raw_phases]
        if isinstance(inherited, list) and isinstance(raw_phases, list)
        else raw_phases
    )
    # the plan's own identity, not the starting scenario's
    merged["name"] = data.get("name", Path(source).stem)
    merged["description"] = data.get("description", "")
    scenario = scenario_from_dict(merged, source=source)
    phases = _phases(raw_phases, scenario, source)
    for where, key, value in changes:
        scenario = scenario.with_values({key: value}, source=where)
    phases = tuple(phase for phase in phases if phase.day < scenario.days)  # --days may cut the horizon
    return Plan(
        name=scenario.name,
        scenario=scenario,
        phases=phases,
        reps=reps,
        seed=scenario.seed,
        path=path,
        description=scenario.description,
    )


def _reps(value: Any, source: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InputError(f"{source}: reps = {value!r}: must be a whole number >= 1")
    return value


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"ci": {"runners": 8}}`` (TOML dotted keys without quotes) as ``{"ci.runners": 8}``."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _phases(raw: Any, scenario: Scenario, source: str) -> tuple[Phase, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InputError(f"{source}: phase: must be a list of [[phase]] tables")
    phases: list[Phase] = []
    current = scenario
    for number, table in enumerate(raw, start=1):
        phase, current = _phase(table, number, scenario, current, source)
        if phases and phase.day < phases[-1].day:
            raise InputError(
                f"{source}: phase {number} ({phase.name!r}): day = {_num(phase.day)} comes before "
                f"phase {number - 1} ({phases[-1].name!r}, day {_num(phases[-1].day)}); "
                f"list phases in the order they start"
            )
        phases.append(phase)
    return tuple(phases)


def _num(value: float) -> str:
    return f"{value:g}"


def _phase(
    table: dict[str, Any], number: int, start: Scenario, current: Scenario, source: str
) -> tuple[Phase, Scenario]:
    """Validate one ``[[phase]]`` table; return it and the scenario in force once it has ramped in."""
    name = table.get("name", f"phase {number}")
    where = f"{source}: phase {number}" + (f" ({name!r})" if isinstance(name, str) else "")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: name = {name!r}: must be a non-empty string")
    for key in table:
        if key not in PHASE_KEYS:
            raise InputError(f"{where}: unknown key {key!r}{_suggest(key, list(PHASE_KEYS))}")
    if "day" not in table:
        raise InputError(f"{where}: missing 'day' (days after the start when the phase begins)")
    day = _number(table, "day", where, "a number of days", lambda v: True)
    if not 0 <= day < start.days:
        raise InputError(f"{where}: day = {day!r}: outside the horizon (0 <= day < {start.days})")
    ramp = _number(table, "ramp_days", where, "a number >= 0", lambda v: v >= 0, default=0)
    capacity_cost = _number(
        table,
        "capacity_cost",
        where,
        "a share >= 0 and < 1",
        lambda v: 0 <= v < 1,
        default=DEFAULT_CAPACITY_COST,
    )
    defect_cost = _number(
        table,
        "defect_cost",
        where,
        f"a number >= 0 and <= {MAX_DEFECT_COST:g}",
        lambda v: 0 <= v <= MAX_DEFECT_COST,
        default=DEFAULT_DEFECT_COST,
    )
    values = _phase_values(table.get("set", {}), where)
    teams = _phase_teams(table.get("teams", "all"), start.org.teams, where)
    if teams is not None:
        for key in values:
            if key in ORG_KEYS:
                raise InputError(
                    f"{where}: set: {key} cannot change for some teams only ({ORG_KEYS[key]}); "
                    f'use teams = "all"'
                )
    after = current.with_values(values, source=f"{where}: set") if values else current
    canonical = {key: get_value(after, key) for key in values}  # validated types (10 -> 10.0 for floats)
    phase = Phase(
        name=name,
        day=day,
        ramp_days=ramp,
        values=canonical,
        capacity_cost=float(capacity_cost),
        defect_cost=float(defect_cost),
        teams=teams,
    )
    return phase, after


def _phase_teams(raw: Any, org_teams: int, where: str) -> frozenset[int] | None:
    """``"all"`` (None) or the 0-based teams of a list of team numbers (1 .. org.teams)."""
    if raw == "all":
        return None
    rule = f'must be "all" or a list of team numbers from 1 to {org_teams}, e.g. teams = [1, 2]'
    if not isinstance(raw, list) or not raw:
        raise InputError(f"{where}: teams = {raw!r}: {rule}")
    for number in raw:
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= org_teams:
            raise InputError(f"{where}: teams = {raw!r}: {number!r} is not a team ({rule})")
    if len(set(raw)) != len(raw):
        raise InputError(f"{where}: teams = {raw!r}: a team is listed twice")
    return frozenset(number - 1 for number in raw)


def _number(
    table: dict[str, Any],
    key: str,
    where: str,
    rule: str,
    ok: Callable[[float], bool],
    default: float | None = None,
) -> float:
    value = table.get(key, default)
    if not _is_number(value) or not ok(value):
        raise InputError(f"{where}: {key} = {value!r}: must be {rule}")
    return value


def _phase_values(raw_set: Any, where: str) -> dict[str, Any]:
    """A phase's ``set`` as dotted keys the model can change during a run."""
    if not isinstance(raw_set, dict):
        raise InputError(
            f"{where}: set = {raw_set!r}: must be a table of dotted keys, e.g. "
            f'set = {{ "ci.test_suite_minutes" = 10 }}'
        )
    values = _flatten(raw_set)
    keys = parameter_keys()
    for key in values:
        if key not in keys:
            raise InputError(f"{where}: set: unknown key {key!r}{_suggest(key, keys)}")
        if key in STATIC_KEYS:
            raise InputError(
                f"{where}: set: {key} cannot change during a run ({STATIC_KEYS[key]}); "
                f"set it at the top level of the plan instead"
            )
    return values


# ----------------------------------------------------------------------------------------------
# Writing


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def plan_to_toml(plan: Plan) -> str:
    """A self-contained plan file: the whole starting scenario, ``reps`` and every phase."""
    lines = [f"reps = {plan.reps}", scenario_to_toml(plan.scenario).rstrip("\n")]
    for phase in plan.phases:
        pairs = ", ".join(f"{json.dumps(key)} = {_toml_value(value)}" for key, value in phase.values.items())
        lines += [
            "",
            "[[phase]]",
            f"day = {_toml_value(float(phase.day))}",
            f"name = {_toml_value(phase.name)}",
            f"ramp_days = {_toml_value(float(phase.ramp_days))}",
            f"capacity_cost = {_toml_value(float(phase.capacity_cost))}  # share of output lost; assumed",
            f"defect_cost = {_toml_value(float(phase.defect_cost))}  # relative defect-rate rise; assumed",
            *([] if phase.teams is None else [f"teams = {sorted(k + 1 for k in phase.teams)}"]),
            f"set = {{ {pairs} }}" if pairs else "set = {}",
        ]
    return "\n".join(lines) + "\n"
