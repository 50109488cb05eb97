"""Choosing and tuning the scenarios: the two pickers and the levers, grouped by area and always at hand.

The levers live in a form in the sidebar (dragging a slider does not re-simulate; *Run* commits them),
grouped by area with the main levers first and the finer assumptions after them. Every label, unit and
help text is the scenario schema's (:func:`sim.model.scenario.parameter_info`); every starting value is
the chosen scenario file's. Groups keep their open or closed state across runs.
"""

from __future__ import annotations

import streamlit as st

from dorasim_app import state
from dorasim_app.widgets import (
    MAIN_LEVERS,
    OPEN_SECTIONS,
    SECTION_TITLES,
    coerce,
    keys_by_section,
    render_parameter,
    widget_key,
)
from sim.errors import InputError
from sim.model.scenario import get_value, parameter_keys

FORM_KEY = "compare-form"
SUBMIT_KEY = "compare-run"
SETTING_KEYS = {name: f"run.{name}" for name in state.RUN_SETTINGS}


def load_widgets(force: bool = False) -> None:
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
        load_widgets(force=True)


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
    load_widgets(force=True)


def scenario_pickers() -> None:
    """Baseline and scenario side by side; their descriptions in the pickers' help."""
    ss = st.session_state
    names = state.scenario_names()
    left, right = st.columns(2)
    for column, role, label in (
        (left, "baseline", "Baseline (the reference)"),
        (right, "scenario", "Scenario (what you tune)"),
    ):
        if ss.get(f"pick.{role}") not in names:
            ss[f"pick.{role}"] = ss[f"choice.{role}"]
        desc = state.resolve(ss[f"choice.{role}"]).description
        with column:
            st.selectbox(
                label,
                names,
                key=f"pick.{role}",
                on_change=_on_pick,
                args=(role,),
                help=(desc + " — " if desc else "") + "Shipped scenarios from scenarios/, plus any you "
                "uploaded or calibrated (★).",
            )


RUN_LABELS = {"forecast": "Run the forecast"}  # the button says what it runs; Compare's is the default


def tuning_form() -> None:
    """The levers in the sidebar, grouped and open, with *Run* at the top and the bottom of the form."""
    load_widgets()
    ss = st.session_state
    overrides = ss["overrides"]
    run_label = RUN_LABELS.get(ss.get("view", ""), "Run the comparison")
    with st.sidebar:
        st.subheader(f"Tune {ss['choice.scenario']}")
        changed = (
            f"{len(overrides)} lever{'s' if len(overrides) != 1 else ''} changed from the file"
            if overrides
            else "as in its file"
        )
        st.caption(
            f"{changed}. Move any lever, then *{run_label}*: until you do, the results show the last "
            f"run. Hover the (?) beside a lever for what it means and where its number comes from."
        )
        if overrides:
            st.button("Reset to the file's values", on_click=_on_reset, key="tune.reset", width="stretch")
        if "form_error" in ss:
            st.error(ss["form_error"])
        with st.form(FORM_KEY, border=False):
            st.form_submit_button(
                run_label, type="primary", key=SUBMIT_KEY, on_click=_on_submit, width="stretch"
            )
            for section, keys in keys_by_section().items():
                with st.expander(
                    SECTION_TITLES.get(section, section.title()),
                    expanded=section in OPEN_SECTIONS,
                    key=f"tune.group.{section}",
                ):
                    finer = False
                    for key in keys:
                        if key not in MAIN_LEVERS and not finer:
                            st.caption("Finer assumptions")
                            finer = True
                        render_parameter(key)
            with st.expander("Run settings", expanded=False, key="tune.group.run"):
                st.number_input(
                    "Replications",
                    min_value=1,
                    max_value=state.MAX_REPS,
                    step=1,
                    key=SETTING_KEYS["reps"],
                    help="Independent runs with different random numbers; cards show their median and "
                    "spread.",
                )
                st.number_input(
                    "Seed",
                    min_value=0,
                    step=1,
                    key=SETTING_KEYS["seed"],
                    help="Root seed shared by both scenarios (same seed ⇒ same numbers).",
                )
                st.number_input(
                    "Horizon (days)",
                    min_value=7,
                    max_value=3650,
                    step=1,
                    key=SETTING_KEYS["days"],
                    help="Length of the scored window, for both scenarios.",
                )
            st.form_submit_button(
                run_label, type="primary", key=SUBMIT_KEY + "-bottom", on_click=_on_submit, width="stretch"
            )
