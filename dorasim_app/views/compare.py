"""Compare: a baseline against a tuned scenario — metric cards first, then why, the spread and the stages."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dorasim_app import charts, compute, state, tuning
from dorasim_app.story import effort, explain
from dorasim_app.style import band_badge
from dorasim_app.widgets import metric_cards, stability_warning, teams_table
from sim.metrics.registry import METRIC_KEYS, format_duration, format_metric
from sim.model.scenario import Scenario

REPORT_MIME = "text/html"


def report_button(label: str, build: Any, file_name: str, key: str) -> None:
    """A download that builds its self-contained HTML report only when clicked."""
    st.download_button(
        label,
        data=build,
        file_name=file_name,
        mime=REPORT_MIME,
        key=key,
        on_click="ignore",
        icon=":material/download:",
        help="One HTML file with the settings, the results with their "
        "spread, the charts and the assumptions; it opens offline and prints to PDF.",
    )


def compare_report(
    names: tuple[str, str],
    scenarios: tuple[Scenario, Scenario],
    summaries: tuple[dict[str, Any], dict[str, Any]],
) -> Any:
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
    # a baseline already computed keeps its settled numbers while only the tuned scenario is estimated
    base_reps = reps if compute.is_ready(baseline, reps, seed, bench) else shown_reps
    base_run = compute.run(baseline, base_reps, seed, bench, label="Simulating the baseline")
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


def results(
    base_name: str,
    baseline: Scenario,
    base_run: dict[str, Any],
    shown_name: str,
    scenario: Scenario,
    run: dict[str, Any],
    shown_reps: int,
    reps: int,
) -> None:
    ss = st.session_state
    settings = state.run_settings()
    bench = state.benchmark()
    base_summary = dict(base_run["summary"], shipped_per_week=base_run.get("shipped_per_week"))
    summary = dict(run["summary"], shipped_per_week=run.get("shipped_per_week"))
    how_many = (
        f"{reps} replications × {settings['days']} days"
        if shown_reps == reps
        else f"{reps} replications × {settings['days']} days :orange[(first estimate from {shown_reps} of them; "
        f"refining)]"
    )
    st.markdown(
        f"**Overall: {base_name} {band_badge(base_summary['bands']['overall'])} → "
        f"{shown_name} {band_badge(summary['bands']['overall'])}** · {how_many}, seed {settings['seed']}, "
        f"DORA {bench} bands"
    )
    stability_warning(base_name, base_summary)
    stability_warning(shown_name, summary)
    metric_cards(summary, base_summary, base_name)
    st.markdown(effort(base_name, baseline, base_summary, shown_name, scenario, summary))
    st.info(explain(base_name, baseline, base_summary, shown_name, scenario, summary))
    teams_table(base_name, base_summary)
    teams_table(shown_name, summary)
    if shown_reps == reps:
        report_button(
            "Download the report (HTML)",
            compare_report((base_name, shown_name), (baseline, scenario), (base_summary, summary)),
            f"dorasim-{ss['choice.scenario']}-vs-{ss['choice.baseline']}.html".replace(" ", "_"),
            "compare.report",
        )

    st.subheader("Across replications")
    st.caption(
        "Each tick is one replication, in its scenario's colour; the diamond is the median. Shaded regions "
        "are the DORA bands."
    )
    left, right = st.columns(2)
    for i, key in enumerate(METRIC_KEYS):
        values = {
            base_name: [r.get(key) for r in base_run["replications"]],
            shown_name: [r.get(key) for r in run["replications"]],
        }
        with left if i % 2 == 0 else right:
            charts.show(charts.distribution_chart(key, values, bench))

    st.subheader("Where a change's lead time goes")
    pairs = ((base_name, base_summary), (shown_name, summary))
    means = "; ".join(
        f"*{label}* mean {format_duration(sum(r['lead_time_breakdown'].values()))}, median "
        f"{format_metric('lead_time_hours', r['metrics']['lead_time_hours']['p50'])}"
        for label, r in pairs
    )
    st.caption(
        f"Mean time per deployed change in each stage, in order, on one axis. Amber is waiting, blue is "
        f"someone working on it; flow efficiency is the blue share. The cards show the median change, the "
        f"bars the mean ({means}): a few changes that wait long — a review left over a weekend, a release "
        f"missed — pull the mean above the median."
    )
    longest = max(sum(r["lead_time_breakdown"].values()) for _, r in pairs)
    left, right = st.columns(2)
    for column, (label, result) in zip((left, right), pairs):
        eff = result.get("flow_efficiency")
        title = f"{label}" + (f" — flow efficiency {eff:.0%}" if eff is not None else "")
        with column:
            charts.show(charts.waterfall_chart(result["lead_time_breakdown"], title, axis_hours=longest))
