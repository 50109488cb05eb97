"""Compare: a baseline against a tuned scenario — metric cards first, then why, the spread and the stages."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dorasim_app import charts, compute, state, tuning
from dorasim_app.story import effort, explain
from dorasim_app.style import band_badge
from dorasim_app.widgets import metric_cards, stability_warning, teams_table
from sim.metrics.registry import METRIC_KEYS
from sim.model.scenario import Scenario

REPORT_MIME = "text/html"


def report_button(label: str, build: Any, file_name: str, key: str) -> None:
    """A download that builds its self-contained HTML report only when clicked."""
    st.download_button(label, data=build, file_name=file_name, mime=REPORT_MIME, key=key, on_click="ignore",
                       icon=":material/download:", help="One HTML file with the settings, the results with their "
                       "spread, the charts and the assumptions; it opens offline and prints to PDF.")


def compare_report(names: tuple[str, str], scenarios: tuple[Scenario, Scenario],
                   summaries: tuple[dict[str, Any], dict[str, Any]]) -> Any:
    def build() -> str:
        from sim.report import compare_report as document

        named = [dict(s, scenario=n) for n, s in zip(names, summaries)]
        return document(named, dict(zip(names, scenarios)), title=f"{names[0]} against {names[1]}")
    return build


def render() -> None:
    tuning.scenario_pickers()
    ss = st.session_state
    settings = state.run_settings()
    bench = state.benchmark()
    base_name, name = ss["choice.baseline"], ss["choice.scenario"]
    baseline, scenario = state.baseline_scenario(), state.tuned_scenario()
    shown_name = name + (" (tuned)" if ss["overrides"] else "")
    if base_name == shown_name:
        base_name = f"{base_name} (baseline)"
    reps, seed = settings["reps"], settings["seed"]
    # A run not computed yet shows a first estimate from its first replications at once, then refines.
    ready = all(compute.is_ready(sc, reps, seed, bench) for sc in (baseline, scenario))
    shown_reps = reps if ready or reps <= 2 * compute.ESTIMATE_REPS else compute.ESTIMATE_REPS
    base_run = compute.run(baseline, shown_reps, seed, bench, label="Simulating the baseline")
    run = compute.run(scenario, shown_reps, seed, bench, label="Simulating the scenario")
    results(base_name, baseline, base_run, shown_name, scenario, run, shown_reps, reps)
    tuning.tuning_form()
    if shown_reps != reps:
        compute.run(baseline, reps, seed, bench, label="Refining the baseline")
        compute.run(scenario, reps, seed, bench, label="Refining the scenario")
    for sc in (baseline, scenario):
        compute.mark_ready(sc, reps, seed, bench)
    if shown_reps != reps:
        st.rerun()


def results(base_name: str, baseline: Scenario, base_run: dict[str, Any], shown_name: str, scenario: Scenario,
            run: dict[str, Any], shown_reps: int, reps: int) -> None:
    ss = st.session_state
    settings = state.run_settings()
    bench = state.benchmark()
    base_summary = dict(base_run["summary"], shipped_per_week=base_run.get("shipped_per_week"))
    summary = dict(run["summary"], shipped_per_week=run.get("shipped_per_week"))
    how_many = (f"{reps} replications" if shown_reps == reps else
                f":orange[first estimate from {shown_reps} of {reps} replications — refining…]")
    st.markdown(
        f"**Overall: {base_name} {band_badge(base_summary['bands']['overall'])} → "
        f"{shown_name} {band_badge(summary['bands']['overall'])}** · {how_many} × "
        f"{settings['days']} days, seed {settings['seed']}, DORA {bench} bands")
    stability_warning(base_name, base_summary)
    stability_warning(shown_name, summary)
    metric_cards(summary, base_summary, base_name)
    st.markdown(effort(base_name, baseline, base_summary, shown_name, scenario, summary))
    st.info(explain(base_name, baseline, base_summary, shown_name, scenario, summary))
    teams_table(base_name, base_summary)
    teams_table(shown_name, summary)
    if shown_reps == reps:
        report_button("Download the report (HTML)",
                      compare_report((base_name, shown_name), (baseline, scenario), (base_summary, summary)),
                      f"dorasim-{ss['choice.scenario']}-vs-{ss['choice.baseline']}.html".replace(" ", "_"),
                      "compare.report")

    st.subheader("Across replications")
    st.caption("Each tick is one replication, in its scenario's colour; the diamond is the median. Shaded regions "
               "are the DORA bands.")
    left, right = st.columns(2)
    for i, key in enumerate(METRIC_KEYS):
        values = {base_name: [r.get(key) for r in base_run["replications"]],
                  shown_name: [r.get(key) for r in run["replications"]]}
        with (left if i % 2 == 0 else right):
            charts.show(charts.distribution_chart(key, values, bench))

    st.subheader("Where a change's lead time goes")
    st.caption("Mean time per deployed change in each stage, in order. Amber is waiting, blue is someone working "
               "on it. A few changes that wait very long pull the mean above the median on the cards.")
    left, right = st.columns(2)
    for column, label, result in ((left, base_name, base_summary), (right, shown_name, summary)):
        eff = result.get("flow_efficiency")
        title = f"{label}" + (f" — flow efficiency {eff:.0%}" if eff is not None else "")
        with column:
            charts.show(charts.waterfall_chart(result["lead_time_breakdown"], title))
