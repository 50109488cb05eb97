"""Levers: which lever moves which metric — a one-at-a-time tornado around a scenario."""

from __future__ import annotations

import importlib.util
from typing import Any

import streamlit as st

from dorasim_app import charts, compute, state
from dorasim_app.story import show_value
from dorasim_app.style import METRIC_LABELS, pretty_key
from sim.errors import InputError
from sim.metrics.registry import METRIC_KEYS, format_metric
from sim.model.scenario import Scenario

LEVERS_FILE = "sweep_levers.toml"
TORNADO_REPS = 5  # as the shipped sweep: fewer makes a rate over a few monthly releases mostly noise
# why a lever moves a metric when the obvious reading is wrong (the model's mechanism, docs/model.md)
WHY = {
    (
        "operations.automated_rollback",
        "change_failure_rate",
    ): "not because fewer releases fail: a rollback is a deployment that never fails, the rolled-back "
    "batch's good changes ship again in a later release, and hand hotfixes — which skip CI and can fail "
    "again — are gone, so the same failures are shared by more deployments",
    (
        "operations.automated_rollback",
        "rework_rate",
    ): "a rolled-back batch's good changes ship again in later planned releases, and no hand hotfix fails and "
    "needs another",
    (
        "release.cadence",
        "change_failure_rate",
    ): "the cadence sets how many changes a release carries, and a release fails if any of them does",
    (
        "release.max_batch_size",
        "change_failure_rate",
    ): "the cap sets how many changes a release carries, and a release fails if any of them does",
}


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
def _cached_tornado(
    scenario_json: str, levers: tuple[tuple[str, Any, Any], ...], reps: int, seed: int, benchmark: str
) -> dict[str, Any]:
    from sim.analysis.sweep import tornado

    scenario = Scenario.model_validate_json(scenario_json)
    progress = compute.Progress(f"Tornado around {scenario.name}")
    try:
        return tornado(
            scenario,
            {key: (low, high) for key, low, high in levers},
            reps=reps,
            seed=seed,
            workers=compute.workers_for(reps * (2 * len(levers) + 1)),
            callback=progress,
            benchmark=benchmark,
        )
    finally:
        progress.close()


def lever_text(key: str, low: Any, high: Any) -> str:
    """``Most changes per deployment (no cap → 5)``: the lever in plain words with its two settings."""
    return f"{pretty_key(key)} ({show_value(key, low)} → {show_value(key, high)})"


def runaway_ends(result: dict[str, Any]) -> dict[str, list[str]]:
    """Which end (``low``/``high``) of each lever makes the backlog run away (the model's stability verdict)."""
    rows: list[dict[str, Any]] = next(iter(result["tornado"].values()), [])
    return {row["key"]: list(row.get("unstable_at", [])) for row in rows}


def render() -> None:
    st.subheader("Which lever moves which metric most?")
    st.caption(
        "Each lever goes from its low to its high setting while every other stays put; the longer the bar, "
        "the more that lever moves the metric. Same random numbers at every point."
    )
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
    labels = {
        "baseline": f"the baseline ({ss['choice.baseline']})",
        "scenario": f"the tuned scenario ({ss['choice.scenario']})",
    }
    around = a.radio("Around", list(labels), horizontal=True, key="levers.around", format_func=labels.get)
    if "levers.reps" not in ss:
        ss["levers.reps"] = min(settings["reps"], TORNADO_REPS)
    b.number_input("Replications per point", min_value=1, max_value=50, step=1, key="levers.reps")
    texts = {k: lever_text(k, lo, hi) for k, (lo, hi) in ranges.items()}
    chosen = st.multiselect(
        "Levers (low → high)",
        list(ranges),
        default=list(ranges),
        key="levers.keys",
        format_func=lambda k: texts.get(k, str(k)),
    )
    base = state.baseline_scenario() if around == "baseline" else state.tuned_scenario()
    reps = int(ss["levers.reps"])
    points = 2 * len(chosen) + 1
    st.caption(
        f"{points} points × {reps} replications of {settings['days']} days around {base.name}. A rate over "
        f"few deployments (monthly releases) moves a lot between replications: read short bars of failure "
        f"and rework rate with more replications."
    )
    if not chosen:
        st.info("Choose at least one lever.")
        return
    levers = tuple((key, *ranges[key]) for key in chosen)
    try:
        result = _cached_tornado(base.model_dump_json(), levers, reps, settings["seed"], state.benchmark())
    except InputError as exc:
        st.error(str(exc))
        return
    runaway = runaway_ends(result)
    flagged = [
        lever_text(k, *ranges[k]) + f" at its {' and '.join(ends)} setting"
        for k, ends in runaway.items()
        if ends
    ]
    if flagged:
        st.warning(
            "**Runaway backlog** (⚠ on the charts): "
            + "; ".join(flagged)
            + ". There work arrives faster than "
            "it ships, so lead time and backlog keep growing with the horizon: that bar measures how long you "
            "simulated, not what the lever does to a working team.",
            icon=":material/warning:",
        )
    left, right = st.columns(2)
    for i, key in enumerate(METRIC_KEYS):
        rows = []
        for row in result["tornado"][key]:
            ends = runaway.get(row["key"], [])
            rows.append(
                row
                | {
                    "key": lever_text(row["key"], row["low_value"], row["high_value"]),
                    "runaway": bool(ends) or bool(row.get("unstable")),
                }
            )
        with left if i % 2 == 0 else right:
            charts.show(charts.tornado_chart(rows, key, base=result["base_p50"].get(key)))
    from sim.analysis.sweep import ranked_levers

    lines = []
    for k in METRIC_KEYS:
        ranked = ranked_levers(result["tornado"][k])
        if not ranked or ranked[0].get("unstable") or runaway.get(ranked[0]["key"]):
            continue
        top = ranked[0]
        largest = max((r for r in result["tornado"][k] if r.get("swing")), key=lambda r: r["swing"])
        note = " (levers with a runaway end set aside)" if largest is not top else ""
        why = WHY.get((top["key"], k))
        lines.append(
            f"- **{METRIC_LABELS[k]}**: {pretty_key(top['key'])} moves it most "
            f"({show_value(top['key'], top['low_value'])}: {format_metric(k, top['low'])} → "
            f"{show_value(top['key'], top['high_value'])}: {format_metric(k, top['high'])}){note}"
            + (f" — {why}." if why else ".")
        )
    if lines:
        st.markdown("\n".join(lines))
