"""Events: one replication of the current scenario as a timeline, as tables, and as downloadable CSVs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dorasim_app import charts, compute, state
from dorasim_app.widgets import score_cards
from sim.metrics.logs import logs_to_csv_bytes
from sim.metrics.scoring import score


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as UTC text so tables read the same everywhere."""
    out = frame.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.DatetimeTZDtype):
            out[column] = out[column].dt.strftime("%a %Y-%m-%d %H:%M").fillna("")
    return out


SPANS = {"2 weeks": 14, "4 weeks": 28, "whole window": None}
DEFAULT_SPAN = "4 weeks"


def render() -> None:
    st.caption(
        "The change, deployment and incident logs one simulated run writes — the same CSVs a real team "
        "would export, scored by the same function."
    )
    ss = st.session_state
    settings = state.run_settings()
    labels = {
        "baseline": f"baseline: {ss['choice.baseline']}",
        "scenario": f"scenario: {ss['choice.scenario']}" + (" (tuned)" if ss["overrides"] else ""),
    }
    left, middle, right = st.columns([2, 1.7, 0.9], gap="medium")
    which = left.radio("Scenario", list(labels), horizontal=True, format_func=labels.get, key="events.which")
    span = (
        middle.segmented_control(
            "Timeline shows",
            list(SPANS),
            default=DEFAULT_SPAN,
            key="events.span",
            help="The first weeks of the window are easier to read; the scores below "
            "always cover the whole window.",
        )
        or DEFAULT_SPAN
    )
    replication = right.number_input(
        "Replication",
        min_value=0,
        max_value=max(settings["reps"] - 1, 0),
        value=0,
        step=1,
        key="events.replication",
        help="Which of the Compare view's replications to show (0 = the first).",
    )
    scenario = state.tuned_scenario() if which == "scenario" else state.baseline_scenario()
    window = compute.one_replication(scenario, settings["seed"], int(replication))
    logs = compute.event_logs(window)
    result = score(
        logs.changes,
        logs.deployments,
        logs.incidents,
        start=window["start"],
        end=window["end"],
        benchmark=state.benchmark(),
    )
    start, end = window["start"], window["end"]
    st.markdown(
        f"**{scenario.name}**, replication {int(replication)}, seed {settings['seed']}: "
        f"{start:%a %d %b %Y} to {end:%a %d %b %Y} (UTC, end exclusive) — "
        f"{len(logs.changes)} changes, {len(logs.deployments)} deployments, {len(logs.incidents)} incidents."
    )
    score_cards(result)
    days = SPANS.get(span)
    shown_end = min(end, start + pd.Timedelta(days=days)) if days else end
    for chart in charts.timeline_charts(logs.changes, logs.deployments, logs.incidents, start, shown_end):
        charts.show(chart)
    st.caption(
        f"{start:%a %d %b} to {shown_end - pd.Timedelta(seconds=1):%a %d %b %Y}. Each circle is a deployment, "
        "placed and sized by the changes it ships; an orange triangle is an unplanned fix (a hotfix or a "
        "rollback). Each red bar is an incident, from when it began to hurt users to when service was "
        "restored. Hover for details."
    )
    files = logs_to_csv_bytes(logs)
    tabs = st.tabs(["Deployments", "Incidents", "Changes"])
    for tab, kind in zip(tabs, ("deployments", "incidents", "changes")):
        frame = getattr(logs, kind)
        with tab:
            st.dataframe(_readable(frame), hide_index=True, width="stretch", height=280)
            st.download_button(
                f"Download {kind}.csv",
                files[f"{kind}.csv"],
                file_name=f"{kind}.csv",
                mime="text/csv",
                key=f"download.{kind}",
                on_click="ignore",
            )
    st.caption(
        f"Score the files with `python -m sim score --changes changes.csv --deployments deployments.csv "
        f"--incidents incidents.csv --start {start:%Y-%m-%d} --end {end:%Y-%m-%d}` — or upload them in "
        f"*Your data*."
    )
