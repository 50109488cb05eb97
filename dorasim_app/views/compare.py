"""Compare: a baseline against a tuned scenario — metric cards, distributions, waterfalls, plain words."""

from __future__ import annotations

import streamlit as st

from dorasim_app import charts, compute, limits, state
from dorasim_app.story import explain
from dorasim_app.style import band_badge
from dorasim_app.widgets import (
    SECTION_TITLES,
    coerce,
    keys_by_section,
    metric_cards,
    render_parameter,
    widget_key,
)
from sim.errors import InputError
from sim.metrics.registry import METRIC_KEYS
from sim.model.scenario import get_value, parameter_keys

FORM_KEY = "compare-form"
SUBMIT_KEY = "compare-run"
SETTING_KEYS = {name: f"run.{name}" for name in state.RUN_SETTINGS}


def _load_widgets(force: bool = False) -> None:
    """Put the chosen scenario's values (file + committed overrides) into the form's widgets."""
    ss = st.session_state
    scenario = state.resolve(ss["choice.scenario"])
    overrides = ss["overrides"]
    for key in parameter_keys():
        wkey = widget_key(key)
        if force or wkey not in ss:
            ss[wkey] = overrides.get(key, get_value(scenario, key))
    for name, wkey in SETTING_KEYS.items():
        if force or wkey not in ss:
            ss[wkey] = ss["settings"][name]


def _on_pick(role: str) -> None:
    ss = st.session_state
    ss[f"choice.{role}"] = ss[f"pick.{role}"]
    if role == "scenario":
        ss["overrides"] = {}
        ss.pop("form_error", None)
        _load_widgets(force=True)


def _on_submit() -> None:
    """Commit the form: keep only values that differ from the scenario file; validate them together."""
    ss = st.session_state
    scenario = state.resolve(ss["choice.scenario"])
    values = {key: coerce(key, ss[widget_key(key)]) for key in parameter_keys()}
    overrides = state.diff_values(scenario, values)
    try:
        scenario.with_values(overrides, source="tuned values")
    except InputError as exc:
        ss["form_error"] = str(exc)
        return
    ss.pop("form_error", None)
    ss["overrides"] = overrides
    ss["settings"] = {name: int(ss[wkey]) for name, wkey in SETTING_KEYS.items()}


def _on_reset() -> None:
    st.session_state["overrides"] = {}
    st.session_state.pop("form_error", None)
    _load_widgets(force=True)


def scenario_pickers() -> None:
    ss = st.session_state
    names = state.scenario_names()
    left, right = st.columns(2)
    for column, role, label in ((left, "baseline", "Baseline (the reference)"),
                                (right, "scenario", "Scenario (what you tune)")):
        if ss.get(f"pick.{role}") not in names:
            ss[f"pick.{role}"] = ss[f"choice.{role}"]
        with column:
            st.selectbox(label, names, key=f"pick.{role}", on_change=_on_pick, args=(role,),
                         help="Shipped scenarios from scenarios/, plus any you uploaded or calibrated (★).")
            desc = state.resolve(ss[f"choice.{role}"]).description
            if desc:
                st.caption(desc)


def tuning_form() -> None:
    _load_widgets()
    overrides = st.session_state["overrides"]
    title = ":material/tune: Tune the scenario — every lever, grouped by area"
    if overrides:
        title += f" ({len(overrides)} changed from the file)"
    with st.expander(title, expanded=False), st.form(FORM_KEY, border=False):
        sections = keys_by_section()
        tabs = st.tabs([SECTION_TITLES[s] for s in sections] + ["Run settings"])
        for tab, keys in zip(tabs, sections.values()):
            with tab:
                columns = st.columns(3)
                for i, key in enumerate(keys):
                    with columns[i % 3]:
                        render_parameter(key)
        with tabs[-1]:
            a, b, c = st.columns(3)
            a.number_input("Replications", min_value=1, max_value=state.MAX_REPS, step=1, key=SETTING_KEYS["reps"],
                           help="Independent runs with different random numbers; cards show their median and spread.")
            b.number_input("Seed", min_value=0, step=1, key=SETTING_KEYS["seed"],
                           help="Root seed shared by both scenarios (same seed ⇒ same numbers).")
            c.number_input("Horizon (days)", min_value=7, max_value=limits.MAX_DAYS, step=1, key=SETTING_KEYS["days"],
                           help="Length of the scored window, for both scenarios.")
        st.form_submit_button("Run the comparison", type="primary", key=SUBMIT_KEY, on_click=_on_submit)
    cols = st.columns([1, 4])
    if overrides:
        cols[0].button("Reset to the file's values", on_click=_on_reset)
    if "form_error" in st.session_state:
        st.error(st.session_state["form_error"])


def render() -> None:
    st.header("Compare a baseline with a scenario")
    st.caption("Pick two scenarios, tune any lever, and see the four DORA keys move — medians over replications, "
               "with their spread.")
    scenario_pickers()
    tuning_form()
    ss = st.session_state
    settings = state.run_settings()
    bench = state.benchmark()
    base_name, name = ss["choice.baseline"], ss["choice.scenario"]
    baseline, scenario = state.baseline_scenario(), state.tuned_scenario()
    shown_name = name + (" (tuned)" if ss["overrides"] else "")
    base_run = compute.run(baseline, settings["reps"], settings["seed"], bench, label="Simulating the baseline")
    run = compute.run(scenario, settings["reps"], settings["seed"], bench, label="Simulating the scenario")
    base_summary, summary = base_run["summary"], run["summary"]

    st.markdown(
        f"#### Overall: {base_name} {band_badge(base_summary['bands']['overall'])} → "
        f"{shown_name} {band_badge(summary['bands']['overall'])}")
    st.caption(f"{settings['reps']} replications of {settings['days']} days each, seed {settings['seed']}, "
               f"DORA {bench} bands. Arrows compare {shown_name} with {base_name}.")
    metric_cards(summary, base_summary, base_name)
    st.info(explain(base_name, baseline, base_summary, shown_name, scenario, summary))

    st.subheader("Across replications")
    st.caption("Each tick is one replication; the diamond is the median. Shaded regions are the DORA bands.")
    left, right = st.columns(2)
    for i, key in enumerate(METRIC_KEYS):
        values = {base_name: [r.get(key) for r in base_run["replications"]],
                  shown_name: [r.get(key) for r in run["replications"]]}
        if base_name == shown_name:
            values = {f"{base_name} (baseline)": values[base_name], shown_name: values[shown_name]}
        with (left if i % 2 == 0 else right):
            charts.show(charts.distribution_chart(key, values, bench))

    st.subheader("Where a change's lead time goes")
    st.caption("Mean hours per deployed change in each stage, in order. Amber is waiting, blue is someone "
               "working on it. A few changes that wait very long pull the mean above the median on the cards.")
    left, right = st.columns(2)
    for column, label, result in ((left, base_name, base_summary), (right, shown_name, summary)):
        eff = result.get("flow_efficiency")
        title = f"{label}" + (f" — flow efficiency {eff:.0%}" if eff is not None else "")
        with column:
            charts.show(charts.waterfall_chart(result["lead_time_breakdown"], title))
