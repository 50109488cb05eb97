"""Levers: which lever moves which metric — a one-at-a-time tornado around a scenario."""

from __future__ import annotations

import importlib.util
from typing import Any

import streamlit as st

from dorasim_app import charts, compute, state
from dorasim_app.style import pretty_key
from sim.errors import InputError
from sim.metrics.registry import METRIC_KEYS, format_metric
from sim.model.scenario import Scenario

LEVERS_FILE = "sweep_levers.toml"
TORNADO_REPS = 3


def available() -> bool:
    return importlib.util.find_spec("sim.analysis.sweep") is not None


def lever_ranges() -> dict[str, tuple[Any, Any]]:
    """The levers and their low/high settings from the shipped sweep file (``[vary]``)."""
    from sim.analysis.sweep import load_sweep

    path = state.SCENARIO_DIR / LEVERS_FILE
    if not path.exists():
        return {}
    return {lever.key: tuple(lever.ends) for lever in load_sweep(path).levers}


@st.cache_data(show_spinner=False, max_entries=32)
def _cached_tornado(scenario_json: str, levers: tuple[tuple[str, Any, Any], ...], reps: int, seed: int,
                    benchmark: str) -> dict[str, Any]:
    from sim.analysis.sweep import tornado

    scenario = Scenario.model_validate_json(scenario_json)
    progress = compute._LazyProgress(f"Tornado around {scenario.name}")
    try:
        return tornado(scenario, {key: (low, high) for key, low, high in levers}, reps=reps, seed=seed,
                       workers=compute.workers_for(reps * (2 * len(levers) + 1)), callback=progress,
                       benchmark=benchmark)
    finally:
        progress.close()


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render() -> None:
    st.header("Levers: which one moves which metric")
    st.caption("Each lever goes from its low to its high setting while every other stays put; the longer the "
               "bar, the more that lever moves the metric. Same random numbers at every point.")
    if not available():
        st.info("Lever sweeps are not available in this version of dorasim.")
        return
    try:
        ranges = lever_ranges()
    except InputError as exc:
        st.error(str(exc))
        return
    if not ranges:
        st.info(f"No lever file ({LEVERS_FILE}) found in scenarios/.")
        return
    ss = st.session_state
    settings = state.run_settings()
    a, b = st.columns([3, 1])
    labels = {"baseline": f"the baseline ({ss['choice.baseline']})",
              "scenario": f"the tuned scenario ({ss['choice.scenario']})"}
    around = a.radio("Around", list(labels), horizontal=True, key="levers.around", format_func=labels.get)
    if "levers.reps" not in ss:
        ss["levers.reps"] = min(settings["reps"], TORNADO_REPS)
    b.number_input("Replications per point", min_value=1, max_value=50, step=1, key="levers.reps")
    chosen = st.multiselect("Levers (low → high)", list(ranges), default=list(ranges), key="levers.keys",
                            format_func={k: f"{pretty_key(k)} ({_show(lo)} → {_show(hi)})"
                                         for k, (lo, hi) in ranges.items()}.get)
    base = state.baseline_scenario() if around == "baseline" else state.tuned_scenario()
    reps = int(ss["levers.reps"])
    points = 2 * len(chosen) + 1
    st.caption(f"{points} points × {reps} replications of {settings['days']} days around {base.name}.")
    if not chosen:
        st.info("Choose at least one lever.")
        return
    levers = tuple((key, *ranges[key]) for key in chosen)
    try:
        result = _cached_tornado(base.model_dump_json(), levers, reps, settings["seed"], state.benchmark())
    except InputError as exc:
        st.error(str(exc))
        return
    left, right = st.columns(2)
    for i, key in enumerate(METRIC_KEYS):
        rows = [row | {"key": f"{pretty_key(row['key'])} ({_show(row['low_value'])} → {_show(row['high_value'])})"}
                for row in result["tornado"][key]]
        with (left if i % 2 == 0 else right):
            charts.show(charts.tornado_chart(rows, key, base=result["base_p50"].get(key)))
    top = {key: result["tornado"][key][0] for key in METRIC_KEYS if result["tornado"][key]}
    lines = [f"- **{charts.METRIC_LABELS[k]}**: {pretty_key(r['key'])} moves it most "
             f"({format_metric(k, r['low'])} → {format_metric(k, r['high'])})" for k, r in top.items()
             if r.get("swing")]
    if lines:
        st.markdown("\n".join(lines))
