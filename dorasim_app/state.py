"""Where the app keeps what the user chose, and how a link (the URL query string) reproduces it.

Canonical choices live in ``st.session_state`` under plain keys (``choice.*``, ``overrides``,
``settings``); widgets are views of them, so switching views never loses a choice. The query string
carries the view, the chosen scenarios, the run settings and every tuned parameter as
``dotted.key=value`` — readable, and round-tripped by :func:`query_from_state` /
:func:`state_from_query`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streamlit as st

from dorasim_app import limits
from sim.errors import InputError
from sim.metrics.bands import BENCHMARKS
from sim.model.catalog import scenario_dir
from sim.model.scenario import Scenario, all_keys, get_value, load_scenario, parameter_keys, parse_override
from sim.report.story import same_value

SCENARIO_DIR = scenario_dir()
VIEWS = {
    "compare": "Compare",
    "forecast": "Forecast: when will it ship?",
    "plan": "Plan 90 days",
    "learn": "Workshop: process vs heroics",
    "levers": "Levers",
    "events": "Events",
    "data": "Your data",
    "share": "Share",
}
RESULT_VIEWS = ("compare", "forecast", "plan", "learn", "levers", "events")
DEFAULT_VIEW = "compare"
DEFAULT_REPS = 20
MAX_REPS = limits.MAX_REPS
CUSTOM_MARK = "★ "  # prefix of scenarios that came from an upload or a calibration (not files)
PREFERRED = {"baseline": "baseline", "scenario": "elite"}
RUN_SETTINGS = ("reps", "seed", "days")
# inputs of one view that a link carries besides the scenarios and settings (Forecast's piece of work)
VIEW_INPUTS = ("forecast.changes", "forecast.start", "forecast.target", "forecast.reps", "forecast.plan")


def scenario_files(directory: Path = SCENARIO_DIR) -> dict[str, Path]:
    """Shipped scenarios by name (plan and sweep files excluded)."""
    files = sorted(directory.glob("*.toml"))
    return {p.stem: p for p in files if not p.stem.startswith(("plan_", "sweep_"))}


def plan_files(directory: Path = SCENARIO_DIR) -> dict[str, Path]:
    return {p.stem: p for p in sorted(directory.glob("plan_*.toml"))}


@st.cache_data(show_spinner=False)
def _load_file(path: str, mtime: float) -> Scenario:
    return load_scenario(path)


def load_file_scenario(name: str) -> Scenario:
    path = scenario_files()[name]
    return _load_file(str(path), path.stat().st_mtime)


def custom_scenarios() -> dict[str, Scenario]:
    return st.session_state.setdefault("custom_scenarios", {})


def add_custom_scenario(label: str, scenario: Scenario) -> str:
    """Register an uploaded or calibrated scenario; returns the name it is listed under."""
    name = label if label.startswith(CUSTOM_MARK) else CUSTOM_MARK + label
    custom_scenarios()[name] = scenario
    return name


def remember_calibration_logs(name: str, logs: Any, window: tuple[str, str]) -> None:
    """Keep the logs a calibrated scenario came from and its window (ISO start, end exclusive): Forecast
    resamples them (the throughput Monte Carlo). Session only: a link cannot carry them."""
    st.session_state.setdefault("calibration.logs", {})[name] = {"logs": logs, "window": window}


def calibration_logs(name: str) -> dict[str, Any] | None:
    """``{"logs", "window"}`` of a scenario calibrated in this session, else None."""
    return st.session_state.get("calibration.logs", {}).get(name)


def scenario_names() -> list[str]:
    return list(scenario_files()) + list(custom_scenarios())


def resolve(name: str) -> Scenario:
    """A scenario by the name shown in the pickers (a shipped file or a custom one)."""
    custom = custom_scenarios()
    if name in custom:
        return custom[name]
    if name in scenario_files():
        return load_file_scenario(name)
    raise InputError(f"scenario {name!r}: not found in {SCENARIO_DIR.name}/")


def default_choice(role: str) -> str:
    names = scenario_names()
    preferred = PREFERRED[role]
    if preferred in names:
        return preferred
    return names[0] if role == "baseline" or len(names) < 2 else names[1]


# ----------------------------------------------------------------------------------------------
# Query string codec (pure functions)


@dataclass
class LinkState:
    """Everything a shared link reproduces."""

    view: str = DEFAULT_VIEW
    baseline: str | None = None
    scenario: str | None = None
    plan: str | None = None
    benchmark: str = "2023"
    reps: int | None = None
    seed: int | None = None
    days: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    view_inputs: dict[str, str] = field(
        default_factory=dict
    )  # a view's own inputs (Forecast's work and dates)


def encode_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _int_param(name: str, raw: str, low: int, high: int, problems: list[str]) -> int | None:
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name}={raw!r}: not a whole number")
        return None
    if not low <= value <= high:
        problems.append(f"{name}={raw!r}: must be between {low} and {high}")
        return None
    return value


def state_from_query(params: Mapping[str, Any]) -> tuple[LinkState, list[str]]:
    """Read a link; returns the state and one line per ignored parameter."""
    state = LinkState()
    problems: list[str] = []
    flat = {k: (v[-1] if isinstance(v, list) else v) for k, v in params.items()}
    for name, raw in flat.items():
        raw = str(raw)
        if name == "view":
            if raw in VIEWS:
                state.view = raw
            else:
                problems.append(f"view={raw!r}: not a view")
        elif name in ("baseline", "scenario", "plan"):
            setattr(state, name, raw)
        elif name == "benchmark":
            if raw in BENCHMARKS:
                state.benchmark = raw
            else:
                problems.append(f"benchmark={raw!r}: choose 2023 or 2021")
        elif name == "reps":
            state.reps = _int_param(name, raw, 1, MAX_REPS, problems)
        elif name == "seed":
            state.seed = _int_param(name, raw, 0, 2**63 - 1, problems)
        elif name == "days":
            state.days = _int_param(name, raw, 1, limits.MAX_DAYS, problems)
        elif name in VIEW_INPUTS:
            state.view_inputs[name] = raw  # checked by the view that reads it
        elif name in parameter_keys():
            value = parse_override(f"{name}={raw}")[1]
            try:
                limits.check_value(name, value, "link")
            except InputError as exc:
                problems.append(str(exc))
                continue
            state.overrides[name] = value
        elif name not in all_keys():
            problems.append(f"{name}: not a setting or scenario key")
    return state, problems


def query_from_state(state: LinkState) -> dict[str, str]:
    out = {"view": state.view}
    for name in ("baseline", "scenario", "plan"):
        value = getattr(state, name)
        if value is not None and not value.startswith(CUSTOM_MARK):
            out[name] = value
    if state.benchmark != "2023":
        out["benchmark"] = state.benchmark
    for name in RUN_SETTINGS:
        value = getattr(state, name)
        if value is not None:
            out[name] = str(value)
    for key in parameter_keys():
        if key in state.overrides:
            out[key] = encode_value(state.overrides[key])
    out.update({k: v for k, v in state.view_inputs.items() if k in VIEW_INPUTS})
    return out


def diff_values(scenario: Scenario, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that differ from the scenario (the overrides a link must carry)."""
    return {k: v for k, v in values.items() if not same_value(get_value(scenario, k), v)}


# ----------------------------------------------------------------------------------------------
# Session state


def init_session() -> list[str]:
    """Fill the canonical state once per session, from the URL when it has one."""
    ss = st.session_state
    if ss.get("initialised"):
        return link_problems()
    link, problems = state_from_query(st.query_params.to_dict())
    names = scenario_names()
    for role in ("baseline", "scenario"):
        chosen = getattr(link, role)
        if chosen is not None and chosen not in names:
            problems.append(f"{role}={chosen!r}: no such scenario in {SCENARIO_DIR.name}/")
            chosen = None
        ss[f"choice.{role}"] = chosen or default_choice(role)
    if link.plan is not None and link.plan not in plan_files():
        problems.append(f"plan={link.plan!r}: no such plan in {SCENARIO_DIR.name}/")
        link.plan = None
    ss["choice.plan"] = link.plan
    ss["view"] = link.view
    ss["benchmark"] = link.benchmark
    scenario = resolve(ss["choice.scenario"])
    ss["settings"] = {
        "reps": link.reps or DEFAULT_REPS,
        "seed": scenario.seed if link.seed is None else link.seed,
        "days": scenario.days if link.days is None else link.days,
    }
    overrides = dict(link.overrides)
    try:
        scenario.with_values(overrides, source="link")
    except InputError as exc:
        problems.append(str(exc))
        overrides = {}
    ss["overrides"] = diff_values(scenario, overrides)
    ss["link.inputs"] = dict(link.view_inputs)
    ss["initialised"] = True
    ss["link.problems"] = problems
    ss["link.as_opened"] = query_from_state(current_link())
    return problems


def link_problems() -> list[str]:
    """What the opening link asked for and did not get — shown on every rerun (a rerun must not hide
    it) until the user changes a choice the link made."""
    ss = st.session_state
    problems = ss.get("link.problems") or []
    if problems and query_from_state(current_link()) != ss.get("link.as_opened"):
        ss["link.problems"] = problems = []
    return list(problems)


def current_link() -> LinkState:
    ss = st.session_state
    settings = ss["settings"]
    return LinkState(
        view=ss["view"],
        baseline=ss["choice.baseline"],
        scenario=ss["choice.scenario"],
        plan=ss.get("choice.plan"),
        benchmark=ss["benchmark"],
        reps=settings["reps"],
        seed=settings["seed"],
        days=settings["days"],
        overrides=dict(ss["overrides"]),
        view_inputs=dict(ss.get("link.inputs", {})),
    )


def sync_query_params() -> None:
    """Write the current choices into the URL (only when they changed, to keep history quiet)."""
    wanted = query_from_state(current_link())
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def remember_view() -> None:
    """The last view that showed results: what a shared link opens (not the Share page itself)."""
    if st.session_state["view"] in RESULT_VIEWS:
        st.session_state["results_view"] = st.session_state["view"]


def run_settings() -> dict[str, int]:
    return dict(st.session_state["settings"])


def benchmark() -> str:
    return st.session_state["benchmark"]


def with_run_settings(scenario: Scenario) -> Scenario:
    """The scenario on the shared horizon and seed (common random numbers across scenarios)."""
    settings = run_settings()
    limits.check_reps(settings["reps"])
    scenario = scenario.with_values(
        {"days": settings["days"], "seed": settings["seed"]}, source="run settings"
    )
    limits.check_scenario(scenario, scenario.name)
    return scenario


def baseline_scenario() -> Scenario:
    return with_run_settings(resolve(st.session_state["choice.baseline"]))


def tuned_scenario() -> Scenario:
    """The chosen scenario with the user's tuned values, on the shared horizon and seed."""
    base = resolve(st.session_state["choice.scenario"])
    return with_run_settings(base.with_values(st.session_state["overrides"], source="tuned values"))
