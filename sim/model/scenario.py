"""Scenario files (docs/scenarios.md): TOML, validated on load, with ``extends`` and ``--set`` overrides.

One pipeline, as in Ciw: read TOML → resolve ``extends`` → apply overrides → validate with pydantic
(unknown keys, wrong types and out-of-range values are errors) → an immutable :class:`Scenario`.
Every error is one line naming the file, the dotted key, the value and the rule.

Every parameter carries its unit and a source label — ``published`` (with a citation)
or ``assumed`` — so the README and the app can show where each number comes from.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import difflib
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.config import JsonDict
from pydantic_core import ErrorDetails

from sim.errors import InputError
from sim.files import TOML, LocalFiles, Resolver, read_text
from sim.metrics import timerange

CADENCES = ("continuous", "daily", "weekly", "biweekly", "monthly", "irregular")
STRATEGIES = ("long_lived", "trunk")
DEPLOY_METHODS = ("manual", "automated")

BRINDESCU = "Brindescu et al. 2020, 'An empirical investigation into merge conflicts and their effect on software quality', EMSE"
DIAS = "Dias et al. 2020, 'Understanding predictive factors for merge conflicts', IST"
GOOGLE_FLAKY = "Micco 2016, 'Flaky tests at Google and how we mitigate them' (Google Testing Blog): ~1.5% of test runs flaky"
DORA_2018 = "DORA / Forsgren, Humble, Kim 2018, Accelerate and the 2018 State of DevOps report"


def _p(label: str, default: Any, unit: str, source: str, help: str, cite: str = "", **limits: Any) -> Any:
    """A parameter: a pydantic Field carrying its label in plain words, unit, source label and citation."""
    extra: JsonDict = {"label": label, "unit": unit, "source": source, "cite": cite}
    return Field(default, description=help, json_schema_extra=extra, **limits)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Team(_Section):
    engineers: int = _p("Engineers", 8, "people", "assumed", "people committing changes (split across org.teams)",
                        ge=1, le=10000)
    changes_per_engineer_per_day: float = _p("Changes per engineer per day",
        2.0, "changes / engineer / working day", "assumed",
        "completed changes (commits that will ship) per engineer per working day", gt=0, le=50)
    overtime: float = _p("Working hours (overtime)",
        1.0, "x normal hours", "assumed",
        "heroics: 1.0 = normal 40-hour weeks; 1.5 = 60 hours (long days, then weekends)", ge=1.0, le=2.0)
    working_hours_per_day: float = _p("Hours in a working day", 8.0, "hours", "assumed", "a normal working day (starts 09:00)", ge=1, le=12)
    overtime_productivity: float = _p("Output of a tired extra hour",
        0.5, "share of a normal hour's output", "assumed",
        "output of an extra (tired) hour relative to a normal hour", ge=0, le=1)
    fatigue_defect_factor: float = _p("Extra defects from fatigue",
        1.5, "defect-rate increase per unit of overtime", "assumed",
        "defect rate is multiplied by 1 + factor x (overtime - 1)", ge=0, le=10)
    output_evidence: int = _p("Changes observed", 0, "changes", "assumed",
                              "changes the calibration window showed; each replication scales the output per "
                              "engineer by a draw from its posterior (0 = take it as known)", ge=0, le=100_000_000)
    output_spread: float = _p("Month-to-month spread of output", 0.0, "coefficient of variation", "assumed",
                              "how much the team's output varies from month to month beyond chance; each "
                              "replication scales the output per engineer by a Gamma draw of this spread "
                              "(0 = steady)", ge=0, le=5)


class Org(_Section):
    teams: int = _p(
        "Teams", 1, "teams", "assumed",
        "the engineers are split across this many teams; each team has its own branches (conflicts happen within a "
        "team), release train and deployable service; the CI runner pool and the experts are shared", ge=1, le=500)


class Branching(_Section):
    strategy: Literal["long_lived", "trunk"] = _p("Branching strategy",
        "long_lived", "long_lived | trunk", "assumed",
        "long_lived: an engineer's changes wait on a feature branch until it merges; trunk: each change merges on its own")
    branch_lifetime_days: float = _p("Branch lifetime (trunk: review time)",
        10.0, "days", "assumed", "mean time a branch lives before it merges (trunk: review time of one change)",
        gt=0, le=120)
    branch_lifetime_cv: float = _p(
        "How much branch lifetimes vary", 0.7, "coefficient of variation", "assumed",
        "spread of long-lived branch lifetimes (Gamma; 1 = exponential, 0 = every branch lives exactly the mean)",
        ge=0.05, le=3)
    feature_flags: bool = _p("Feature flags", False, "switch", "assumed", "unfinished or failing work can be switched off without a deploy")
    flag_coverage: float = _p("Share of changes behind a flag",
        0.8, "share of changes", "assumed", "share of changes behind a flag when feature flags are used", ge=0, le=1)
    conflict_rate: float = _p("Merge-conflict hazard",
        0.005, "per branch-day per other open branch", "assumed",
        "merge-conflict hazard: P(conflict) = 1 - exp(-rate x branch age in days x other open branches); "
        "calibrated so ~1 in 5 long-lived merges conflict", cite=f"calibrated to {BRINDESCU}; {DIAS}", ge=0, le=1)
    conflict_resolution_hours: float = _p("Time to resolve a conflict",
        4.0, "hours", "assumed", "mean rework to resolve a conflict on a 5-day-old branch (grows with age)", ge=0, le=200)
    conflict_defect_multiplier: float = _p("Extra defects in conflicting code",
        2.0, "x defect rate", "published", "conflicting code is about twice as likely to carry a defect",
        cite=BRINDESCU, ge=1, le=10)


class CI(_Section):
    test_suite_minutes: float = _p("Test suite duration", 60.0, "minutes", "assumed", "mean duration of the test suite", gt=0, le=1440)
    suite_cv: float = _p("How much suite duration varies",
        0.3, "coefficient of variation", "assumed", "spread of suite durations (1 = exponential)", ge=0, le=3)
    runners: int = _p("CI runners", 2, "runners", "assumed", "parallel CI runners (a queue forms when all are busy)", ge=1, le=1000)
    flaky_rate: float = _p("Flaky test rate",
        0.10, "probability per run", "assumed",
        "probability a run fails for no reason and is re-run (the automated and elite scenarios use Google's ~1.5%; "
        "the baseline's 10% for a neglected suite is assumed)",
        cite=GOOGLE_FLAKY, ge=0, le=0.95)
    skip_threshold_minutes: float = _p("Suite length people start skipping at",
        20.0, "minutes", "assumed", "above this suite duration engineers start skipping tests", gt=0, le=1440)
    max_flaky_reruns: int = _p(
        "Flaky re-runs before overriding", 3, "runs", "assumed",
        "after this many flaky failures in a row the run is overridden as green", ge=0, le=20)
    skip_scale: float = _p(
        "How fast skipping grows with suite length", 3.0, "x the skip threshold", "assumed",
        "slow-suite skip probability = 1 - exp(-(suite - threshold) / (scale x threshold)): with 3, a suite three "
        "times the threshold is skipped ~49% of the time", gt=0, le=100)
    max_skip_share: float = _p(
        "Most runs ever skipped", 0.95, "share of runs", "assumed",
        "however slow or flaky the suite, at most this share of runs is skipped or overridden", ge=0, le=1)
    flaky_distrust: float = _p("Skipping because tests are flaky",
        2.0, "skip probability per unit flaky rate", "assumed",
        "a suite nobody trusts is skipped or overridden more: adds factor x flaky_rate to the skip probability",
        ge=0, le=10)


class Quality(_Section):
    defect_rate: float = _p("Defect rate", 0.08, "probability per change", "assumed",
                            "probability that a change carries a production defect", ge=0, le=1)
    test_detection_rate: float = _p("Share of defects tests catch", 0.6, "probability", "assumed",
                                    "probability the suite catches a defect when it runs", ge=0, le=1)
    fix_hours: float = _p("Time to fix what CI caught", 3.0, "hours", "assumed", "mean time to fix a defect CI caught, before re-testing",
                          ge=0, le=200)


class Release(_Section):
    cadence: Literal["continuous", "daily", "weekly", "biweekly", "monthly", "irregular"] = _p("Release cadence",
        "weekly", "continuous | daily | weekly | biweekly | monthly | irregular", "assumed",
        "when merged changes may ship: continuous = as soon as ready; daily = 15:00 on working days; "
        "weekly = Saturday 09:00 window; biweekly = every other Saturday; monthly = first Saturday of the month; "
        "irregular = when the team judges it ready, gaps drawn from release.gap_days and release.gap_spread")
    max_batch_size: int = _p("Most changes per deployment", 0, "changes", "assumed", "most changes in one deployment; 0 = no cap", ge=0, le=100000)
    deploy: Literal["manual", "automated"] = _p("Deploy method",
        "manual", "manual | automated", "assumed",
        "manual: checklist, hours, error-prone, only in the release window; automated: one click, minutes")
    window_hours: float = _p("Release window length", 8.0, "hours", "assumed",
                             "how long a scheduled release window stays open for further batches", gt=0, le=72)
    manual_deploy_hours: float = _p("Manual deployment duration", 3.0, "hours", "assumed", "mean duration of a manual deployment", gt=0, le=48)
    automated_deploy_minutes: float = _p("Automated deployment duration", 10.0, "minutes", "assumed", "mean duration of an automated deployment",
                                         gt=0, le=600)
    manual_error_rate: float = _p("Manual deployment error rate", 0.05, "probability per deploy", "assumed",
                                  "probability a manual deployment fails by a checklist error", ge=0, le=1)
    gap_days: float = _p("Median gap between irregular releases", 14.0, "days", "assumed",
                         "irregular cadence: median of the log-normal gaps between release windows", gt=0, le=3650)
    gap_spread: float = _p("Spread of gaps between irregular releases", 0.8, "log-scale standard deviation",
                           "assumed", "irregular cadence: standard deviation of the log of a gap (0 = fixed gaps)",
                           ge=0, le=4)
    gap_evidence: int = _p("Release gaps observed", 0, "gaps", "assumed",
                           "irregular cadence: gaps the fit saw; each replication draws its own gap median and "
                           "spread from their posterior (0 = take them as known)", ge=0, le=100000)
    state_day: int = _p("Day the release state holds", -1, "days after start", "assumed",
                        "the day after `start` on which the last release was release.days_since_release days "
                        "earlier (-1 = no recorded state)", ge=-1, le=3650)
    days_since_release: float = _p("Days since the last release", 0.0, "days", "assumed",
                                   "irregular cadence: time since the last release on release.state_day", ge=0,
                                   le=3650)


class Operations(_Section):
    automated_rollback: bool = _p("Automated rollback", False, "switch", "assumed",
                                  "health checks roll a bad deployment back by themselves")
    detect_minutes: float = _p("Time to detect a failure", 120.0, "minutes", "assumed", "mean time from failure to detection", gt=0, le=20160)
    hotfix_hours: float = _p("Time to hotfix by hand", 8.0, "hours", "assumed",
                             "mean time to diagnose and prepare a fix by hand for a one-change deployment",
                             gt=0, le=500)
    diagnosis_growth: float = _p("Extra diagnosis time for big batches", 0.25, "x per doubling of batch size", "assumed",
                                 "hand diagnosis time = hotfix_hours x (1 + growth x log2(batch size))", ge=0, le=5)
    experts: int = _p("Experts on call", 1, "people", "assumed", "people who can restore production by hand (incidents queue for them)",
                      ge=1, le=1000)
    rollback_minutes: float = _p("Automated rollback time", 10.0, "minutes", "assumed", "automated rollback once a failure is detected",
                                 gt=0, le=600)
    flag_flip_minutes: float = _p("Time to switch a flag off", 5.0, "minutes", "assumed", "switching a feature flag off", gt=0, le=600)
    fire_delay_hours: float = _p("Time until a defect hurts users", 2.0, "hours", "assumed", "mean time from a deployment to its defect hurting users",
                                 ge=0, le=720)


class Simulation(_Section):
    warmup_days: int = _p("Warm-up before the window", 28, "days", "assumed",
                          "days simulated before `start` so queues and branches are full when the window opens",
                          ge=0, le=365)


class Calibration(_Section):
    """What ``calibrate`` saw and how well the written scenario reproduces it (not a model parameter)."""

    window: str = Field(default="", description="the logs' window, start to end (end exclusive)")
    deployments: int = Field(default=0, ge=0, description="deployments in the window")
    changes: int = Field(default=0, ge=0, description="changes created in the window")
    incidents: int = Field(default=0, ge=0, description="incidents in the window")
    within_bar: str = Field(default="", description="metrics whose simulated p50 is within the calibration bar")
    outside_bar: str = Field(default="", description="metrics whose simulated p50 is outside the calibration bar")
    not_fitted: str = Field(default="", description="what the logs could not show, left at the base's values")


class Scenario(BaseModel):
    """A validated, immutable scenario. Build with :func:`load_scenario` or :func:`scenario_from_dict`."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = "scenario"
    description: str = ""
    start: dt.date = Field(default=dt.date(2026, 1, 5), description="first day of the window (default a Monday)")
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
            raise ValueError(f"org.teams = {self.org.teams} is more teams than team.engineers = "
                             f"{self.team.engineers}: every team needs at least one engineer")
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
        rows.append({"key": key, "value": get_value(scenario, key), "unit": info["unit"],
                     "source": info["source"], "cite": info["cite"], "meaning": info["help"]})
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


def resolve_extends(data: dict[str, Any], path: Path | str, _seen: tuple[str, ...] = (), *,
                    resolver: Resolver | None = None, source: str | None = None) -> dict[str, Any]:
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
        raise InputError(f"{source}: extends = {parent!r}: more than {MAX_EXTENDS_DEPTH} files in the extends chain")
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
        raise InputError(f"{source}: unknown key {key!r} = {value!r}: not a scenario key{_suggest(key, all_keys())}")
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
            if info is not None and info.annotation is float and isinstance(value, int) and not isinstance(value, bool):
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
        raise InputError(f"{source}: start = {start.isoformat()}: the simulation begins simulation.warmup_days = "
                         f"{warmup} days earlier, on {dt.date.fromordinal(first).isoformat()}, which "
                         f"{timerange.OUTSIDE}")
    last = start.toordinal() + days
    if last > timerange.END_DATE.toordinal():
        raise InputError(f"{source}: start = {start.isoformat()} with days = {days}: the horizon ends on "
                         f"{dt.date.fromordinal(min(last, dt.date.max.toordinal())).isoformat()}, which "
                         f"{timerange.OUTSIDE}")


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


def load_scenario_text(text: str, source: str, base_dir: Path | None = None, *,
                       resolver: Resolver | None = None) -> Scenario:
    """Validate TOML text (an upload in the app).

    ``extends`` is found by ``resolver`` — in the hosted app a :class:`~sim.files.NamedFiles` that knows
    only shipped and uploaded names — else as a file relative to ``base_dir`` (default: the current folder).
    """
    data = parse_toml_text(text, source)
    if "extends" in data:
        resolver = LocalFiles(base_dir) if resolver is None else resolver
        data = resolve_extends(data, resolver.root_key(source), resolver=resolver, source=source)
    return scenario_from_dict(data, source=source)


def scenario_to_toml(scenario: Scenario, comments: Mapping[str, str] | None = None) -> str:
    """A complete, commented TOML file for a scenario (every key written out)."""
    comments = dict(comments or {})

    def fmt(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(value, float):
            return repr(round(value, 6))
        if isinstance(value, dt.date):
            return value.isoformat()
        return str(value)

    lines = []
    for key in IDENTITY_KEYS:
        note = f"  # {comments[key]}" if key in comments else ""
        lines.append(f"{key} = {fmt(get_value(scenario, key))}{note}")
    for section in SECTIONS:
        lines += ["", f"[{section}]"]
        for field in section_model(section).model_fields:
            key = f"{section}.{field}"
            info = parameter_info(key)
            note = comments.get(key) or f"{info['unit']}; {info['source']}"
            lines.append(f"{field} = {fmt(get_value(scenario, key))}  # {note}")
    if scenario.calibration is not None:
        lines += ["", "[calibration]  # what calibrate saw and how well this file reproduces it"]
        for field, value in scenario.calibration.model_dump().items():
            lines.append(f"{field} = {fmt(value)}")
    return "\n".join(lines) + "\n"
