"""Plan: forecast a 90-day transformation week by week — fan charts, the probability of Elite, the J-curve."""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Any

import pandas as pd
import streamlit as st

from dorasim_app import charts, compute, state, uploads
from dorasim_app.story import show_value
from dorasim_app.style import band_badge, band_word, pretty_key
from dorasim_app.views.compare import report_button
from dorasim_app.widgets import metric_cards, stability_warning
from sim.errors import InputError
from sim.metrics.registry import METRIC_KEYS

DEFAULT_PLAN = "plan_90_days"
HEROICS_PLAN = "plan_heroics_90_days"
PLAN_REPS = 10  # a forecast replicates every week of 90 days: fewer replications keep it interactive
NONE = "(none)"


def available() -> bool:
    return importlib.util.find_spec("sim.analysis.plan") is not None


def run(plan, reps: int, seed: int) -> dict[str, Any]:
    from sim.analysis.plan import plan_to_toml

    return compute.cached_plan(
        plan_to_toml(plan),
        f"{plan.name}.toml",
        str(state.SCENARIO_DIR),
        int(reps),
        int(seed),
        state.benchmark(),
        plan.name,
    )


def load(name: str):
    """A plan by name: the edited text when the user changed it, else the shipped file."""
    from sim.analysis.plan import load_plan

    edited = st.session_state.get("plan.edited", {}).get(name)
    if edited is not None:  # extends by name only: shipped scenarios and this session's uploads
        return uploads.read_plan_text(edited, f"{name}.toml", state.SCENARIO_DIR)
    return load_plan(state.plan_files()[name])


def prepared(plan, start_from_baseline: bool):
    """The plan on its own horizon, optionally starting from Compare's baseline (e.g. a calibrated team)."""
    if not start_from_baseline:
        return plan
    scenario = state.baseline_scenario().with_values({"days": plan.scenario.days}, source=plan.name)
    return dataclasses.replace(plan, scenario=scenario)


def phases_table(plan) -> pd.DataFrame:
    rows = []
    for number, phase in enumerate(plan.phases, start=1):
        values = "; ".join(f"{pretty_key(k)} → {show_value(k, v)}" for k, v in phase.values.items()) or "—"
        rows.append(
            {
                "#": number,
                "from day": phase.day,
                "phase": phase.name,
                "ramp (days)": phase.ramp_days,
                "settings": values,
                "capacity cost": f"{phase.capacity_cost:.0%}",
                "defect cost": f"+{phase.defect_cost:.0%}",
            }
        )
    return pd.DataFrame(rows)


def _commit_edit(name: str) -> None:
    text = st.session_state[f"plan.text.{name}"]
    try:
        uploads.read_plan_text(text, f"{name}.toml", state.SCENARIO_DIR)
    except InputError as exc:
        st.session_state["plan.error"] = str(exc)
        return
    st.session_state.pop("plan.error", None)
    st.session_state.setdefault("plan.edited", {})[name] = text


def _revert(name: str) -> None:
    st.session_state.get("plan.edited", {}).pop(name, None)
    st.session_state.pop(f"plan.text.{name}", None)
    st.session_state.pop("plan.error", None)


def editor(name: str) -> None:
    key = f"plan.text.{name}"
    edited = st.session_state.get("plan.edited", {}).get(name)
    if key not in st.session_state:
        st.session_state[key] = edited if edited is not None else state.plan_files()[name].read_text("utf-8")
    with st.expander("Edit the plan (phases with day, name, settings and ramp)"):
        st.text_area(
            "Plan file (TOML)",
            key=key,
            height=360,
            help="Each [[phase]] has day, name, ramp_days, optional capacity_cost and defect_cost, and "
            'set = { "dotted.key" = value }. Checked like `python -m sim plan` checks it.',
        )
        left, right = st.columns(2)
        left.button(
            "Check and use this plan", type="primary", on_click=_commit_edit, args=(name,), key="plan.apply"
        )
        if edited is not None:
            right.button("Back to the shipped file", on_click=_revert, args=(name,), key="plan.revert")
    if "plan.error" in st.session_state:
        st.error(st.session_state["plan.error"])
    elif edited is not None:
        st.caption("Using your edited version of this plan.")


def _on_pick_plan() -> None:
    st.session_state["choice.plan"] = st.session_state["pick.plan"]
    st.session_state.pop("plan.error", None)


def _phase_marks(plan) -> list[dict[str, Any]]:
    return [
        {
            "week": phase.day / 7 + 1,
            "label": str(number),
            "name": f"{number}. {phase.name} (day {phase.day:g})",
        }
        for number, phase in enumerate(plan.phases, start=1)
        if phase.values
    ]


def phase_legend(plan) -> str:
    """``1 fast trusted CI (day 14) · 2 …``: what the numbered dashed lines on the charts are."""
    return " · ".join(
        f"**{number}** {phase.name} (day {phase.day:g}, week {phase.day / 7 + 1:.0f})"
        for number, phase in enumerate(plan.phases, start=1)
        if phase.values
    )


def weekly_rows(key: str, weeks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows for a weekly chart: p10/p50/p90 across replications; for change failure and rework rate each
    week's pooled rate (all replications' deployments together), which is not drowned in noise."""
    rows = []
    for w in weeks:
        pooled = w.get("pooled") or {}
        if key in pooled:
            rows.append({"week": w["week"], "p10": None, "p50": pooled[key], "p90": None})
        else:
            rows.append({"week": w["week"], **w["metrics"][key]})
    return rows


def headline(name: str, result: dict[str, Any]) -> None:
    first = result.get("first_elite_week")
    final = result["final"]
    st.markdown(
        f"**{name}** — after {result['days']} days: overall {band_badge(final['bands']['overall'])}; "
        f"probability of Elite in the last two weeks **{result['probability_elite_at_end']:.0%}**; "
        + (f"median first Elite in week **{first}**." if first else "the median never reaches Elite.")
    )


def plan_report(runs: dict[str, tuple[Any, dict[str, Any]]]) -> Any:
    def build() -> str:
        from sim.report import plan_report as document

        return document(
            [result for _, result in runs.values()],
            {label: plan.scenario for label, (plan, _) in runs.items()},
        )

    return build


def render() -> None:
    if not available():
        st.info("Plans are not available in this version of dorasim.")
        return
    plans = state.plan_files()
    if not plans:
        st.info("No plan files (scenarios/plan_*.toml) found.")
        return
    ss = st.session_state
    names = list(plans)
    if ss.get("choice.plan") not in names:
        ss["choice.plan"] = DEFAULT_PLAN if DEFAULT_PLAN in names else names[0]
    if ss.get("pick.plan") not in names:
        ss["pick.plan"] = ss["choice.plan"]
    others = [NONE] + [n for n in names if n != ss["choice.plan"]]
    if ss.get("plan.other") not in others:
        ss["plan.other"] = HEROICS_PLAN if HEROICS_PLAN in others else NONE
    a, b, c, d = st.columns([2, 2, 1, 2])
    a.selectbox(
        "Plan",
        names,
        key="pick.plan",
        on_change=_on_pick_plan,
        help="Shipped plans from scenarios/plan_*.toml.",
    )
    b.selectbox(
        "Side by side with",
        others,
        key="plan.other",
        help="“Change the process” against “work harder”: the heroics plan adds overtime and heroes.",
    )
    settings = state.run_settings()
    if "plan.reps" not in ss:
        ss["plan.reps"] = min(settings["reps"], PLAN_REPS)
    c.number_input(
        "Replications",
        min_value=1,
        max_value=state.MAX_REPS,
        step=1,
        key="plan.reps",
        help="Every replication simulates the whole plan; the forecast shows their spread.",
    )
    base_name = ss["choice.baseline"]
    with d:
        start_here = st.toggle(
            "From Compare's baseline",
            key="plan.from-baseline",
            help=f"Start each plan from Compare's baseline ({base_name}) instead of the plan's own "
            f"start: use this with a baseline calibrated from your logs (Your data).",
        )
    name = ss["choice.plan"]
    try:
        main = prepared(load(name), start_here)
    except InputError as exc:
        st.error(str(exc))
        editor(name)
        return
    runs = {name: (main, run(main, ss["plan.reps"], settings["seed"]))}
    other = ss["plan.other"]
    if other != NONE:
        plan_b = prepared(load(other), start_here)
        runs[other] = (plan_b, run(plan_b, ss["plan.reps"], settings["seed"]))

    for label, (_, result) in runs.items():
        headline(label, result)
        stability_warning(f"{label} (last two weeks)", result["final"])
    marks = _phase_marks(main)
    st.caption(
        f"Dashed lines: phases of {name} — {phase_legend(main)}. Shaded: p10–p90 across replications; line: "
        f"the median (change failure and rework rate: each week's pooled rate over all replications); dashed "
        f"green: the Elite threshold. A metric getting worse for a week or two after a phase starts (failure "
        f"rate up, deployments or the chance of Elite down) is the J-curve: the cost of learning."
    )
    charts.show(
        charts.probability_chart(
            {label: result["weeks"] for label, (_, result) in runs.items()}, phases=marks
        )
    )
    left, right = st.columns(2)
    for i, key in enumerate(METRIC_KEYS):
        series = {label: weekly_rows(key, result["weeks"]) for label, (_, result) in runs.items()}
        with left if i % 2 == 0 else right:
            charts.show(charts.fan_chart(series, key, state.benchmark(), phases=marks))
    report_button("Download the report (HTML)", plan_report(runs), f"dorasim-{name}.html", "plan.report")

    st.subheader(f"The phases of {name}")
    st.dataframe(phases_table(main), hide_index=True, width="stretch")
    if other != NONE:
        with st.expander(f"Phases of {other}"):
            st.dataframe(phases_table(runs[other][0]), hide_index=True, width="stretch")
    editor(name)

    main_result = runs[name][1]
    st.subheader(f"Where {name} ends (last two weeks) against its first week")
    first_week = main_result["weeks"][0] if main_result["weeks"] else None
    metric_cards(main_result["final"], first_week, "week 1")
    bands = pd.DataFrame(
        [
            {
                "week": w["week"],
                **{
                    label: band_word(r["weeks"][i]["bands"]["overall"])
                    for label, (_, r) in runs.items()
                    if i < len(r["weeks"])
                },
            }
            for i, w in enumerate(main_result["weeks"])
        ]
    )
    with st.expander("Overall band of the median, week by week"):
        st.dataframe(bands, hide_index=True, width="stretch")
