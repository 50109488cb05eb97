"""Workshop: a 45-minute sequence a coach can run — predict, run, discuss — from diagnosing the baseline to
process against heroics. One screen per step: one idea, one question to the room, one chart (revealed when
the room has made its prediction), then what the numbers say. Every number is computed live by the model or
its closed form, for the baseline chosen in Compare and the shipped scenarios.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dorasim_app import charts, compute, state
from dorasim_app.story import changes_per_week, hours_per_week
from dorasim_app.style import BAND_COLOURS, band_badge, stage_label
from sim.metrics.registry import format_duration, format_metric
from sim.model.constants import constants_table
from sim.model.scenario import Scenario, parameter_table
from sim.model.stages import ACTIVE_STAGES
from sim.model.theory import batch_failure_probability, escape_probability

LESSON_REPS = 8
EXPERT_BASE = "small_batch"  # daily manual releases: incidents come often enough to queue for the expert
OVERTIME_LEVELS = (1.0, 1.25, 1.5, 1.75)
FAST_CI: dict[str, Any] = {"ci.test_suite_minutes": 10.0, "ci.runners": 8, "ci.flaky_rate": 0.015, "quality.test_detection_rate": 0.85}
MINUTES_PER_STEP = 7


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    idea: str
    question: str
    show: Callable[[], str]  # draws the chart, returns what the numbers say (markdown)


def _reps() -> int:
    return min(state.run_settings()["reps"], LESSON_REPS)


def _summary(scenario: Scenario, label: str, reps: int | None = None) -> dict:
    settings = state.run_settings()
    result = compute.run(scenario, reps or _reps(), settings["seed"], state.benchmark(), label=label)
    return dict(result["summary"], shipped_per_week=result.get("shipped_per_week"))


def _shipped(name: str) -> Scenario | None:
    if name not in state.scenario_names():
        return None
    return state.with_run_settings(state.resolve(name))


def _lead(summary: dict) -> str:
    return format_metric("lead_time_hours", summary["metrics"]["lead_time_hours"]["p50"])


def _cfr(summary: dict) -> str:
    return format_metric("change_failure_rate", summary["metrics"]["change_failure_rate"]["p50"])


def stage_bars(summaries: dict[str, dict]) -> alt.Chart:
    """Mean time per change in each stage, one stacked bar per scenario (waiting amber, working blue)."""
    rows = []
    for name, summary in summaries.items():
        for stage, hours in summary["lead_time_breakdown"].items():
            if hours > 0:
                rows.append({"scenario": name, "stage": stage_label(stage), "days": hours / 24,
                             "kind": "working on it" if stage in ACTIVE_STAGES else "waiting",
                             "text": format_duration(hours)})
    data = pd.DataFrame(rows)
    return alt.Chart(data).mark_bar(height=26, stroke="white", strokeWidth=1).encode(
        x=alt.X("sum(days):Q", title="days per change (mean)"),
        y=alt.Y("scenario:N", sort=list(summaries), title=None),
        color=alt.Color("kind:N", scale=alt.Scale(domain=["waiting", "working on it"],
                                                 range=["#e69f00", "#2b8cbe"]),
                        legend=alt.Legend(title=None, orient="bottom")),
        order=alt.Order("stage:N"),
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("stage:N"), alt.Tooltip("text:N", title="time")],
    ).properties(title="Where a change's lead time goes", height=60 * len(summaries) + 20)


# ----------------------------------------------------------------------------------------------
# The six steps


def diagnose() -> str:
    base = state.baseline_scenario()
    summary = _summary(base, "Simulating the baseline", state.run_settings()["reps"])
    charts.show(charts.waterfall_chart(summary["lead_time_breakdown"], f"{base.name}: where a change's time goes"))
    stages = summary["lead_time_breakdown"]
    total = sum(stages.values()) or 1.0
    waiting = sum(h for s, h in stages.items() if s not in ACTIVE_STAGES)
    biggest = max(stages, key=lambda s: stages[s])
    eff = summary.get("flow_efficiency")
    return (f"Median lead time **{_lead(summary)}**; overall {band_badge(summary['bands']['overall'])}. "
            f"**{waiting / total:.0%}** of a change's time is waiting — most of it *{stage_label(biggest)}* "
            f"({format_duration(stages[biggest])}). Flow efficiency "
            f"{'—' if eff is None else f'{eff:.0%}'}: working harder speeds up only the blue part.")


def trunk() -> str:
    base, trunk_based = state.baseline_scenario(), _shipped("trunk_based")
    if trunk_based is None:
        return "The trunk_based scenario is not shipped with this installation."
    summaries = {base.name: _summary(base, "Simulating the baseline"),
                 trunk_based.name: _summary(trunk_based, "Simulating trunk-based development")}
    charts.show(stage_bars(summaries))
    a, b = summaries.values()
    return (f"Lead time **{_lead(a)} → {_lead(b)}**: changes no longer wait on long branches. But the change "
            f"failure rate is **{_cfr(a)} → {_cfr(b)}** — the weekly release still ships one big batch. One lever "
            f"moves one part of the flow.")


def trusted_ci() -> str:
    base = state.baseline_scenario()
    fast = base.with_values(FAST_CI, source="workshop")
    names = (base.name, f"{base.name} + fast trusted CI")
    a = compute.run(base, _reps(), state.run_settings()["seed"], state.benchmark(), label="Simulating the baseline")
    b = compute.run(fast, _reps(), state.run_settings()["seed"], state.benchmark(), label="Simulating fast CI")
    values = {names[0]: [r.get("change_failure_rate") for r in a["replications"]],
              names[1]: [r.get("change_failure_rate") for r in b["replications"]]}
    charts.show(charts.distribution_chart("change_failure_rate", values, state.benchmark()))
    sa, sb = a["summary"], b["summary"]
    return (f"A 10-minute suite on 8 runners that fails for no reason 1.5 % of the time (instead of "
            f"{base.ci.test_suite_minutes:g} minutes on {base.ci.runners}, {base.ci.flaky_rate:.0%} flaky) is run "
            f"instead of skipped, and catches defects before users do: change failure rate **{_cfr(sa)} → "
            f"{_cfr(sb)}**. The team did not try harder; the suite became worth waiting for.")


def deploys_and_rollback() -> str:
    name = EXPERT_BASE if EXPERT_BASE in state.scenario_names() else st.session_state["choice.baseline"]
    base = state.with_run_settings(state.resolve(name))
    variants: list[tuple[str, dict[str, Any]]] = [(f"{e} expert{'s' if e > 1 else ''} on call",
                                                   {"operations.experts": e}) for e in (1, 2, 3)]
    variants.append(("1 expert + one-click deploys with automated rollback",
                     {"operations.experts": 1, "operations.automated_rollback": True, "release.deploy": "automated"}))
    rows = []
    for label, values in variants:
        ttr = _summary(base.with_values(values, source="workshop"), f"Simulating {label}")["metrics"][
            "time_to_restore_hours"]
        if ttr["p50"] is not None:
            rows.append({"variant": label, "p50": ttr["p50"], "p10": ttr["p10"], "p90": ttr["p90"],
                         "text": f"median {format_duration(ttr['p50'])} (p10–p90 {format_duration(ttr['p10'])} – "
                                 f"{format_duration(ttr['p90'])})"})
    if not rows:
        return "No failures to restore in these runs."
    data = pd.DataFrame(rows)
    y = alt.Y("variant:N", sort=None, title=None, axis=alt.Axis(labelLimit=320))
    x_scale = alt.Scale(type="log")
    axis = charts.metric_axis("time_to_restore_hours", True, float(data.p10.min()) / 1.5, float(data.p90.max()) * 1.5,
                              title="time to restore (median, p10–p90), log scale")
    bars = alt.Chart(data).mark_point(filled=True, size=120, color="#2b8cbe").encode(
        x=alt.X("p50:Q", scale=x_scale, axis=axis), y=y, tooltip=[alt.Tooltip("text:N", title="restore")])
    whiskers = alt.Chart(data).mark_rule(color="#2b8cbe", strokeWidth=3).encode(x=alt.X("p10:Q", scale=x_scale),
                                                                                 x2="p90:Q", y=y)
    charts.show(alt.layer(whiskers, bars).properties(title=f"Time to restore in {name} ({_reps()} replications each)",
                                                     height=170))
    first, last = rows[0], rows[-1]
    return (f"With one expert, failures queue behind each other: median restore **{format_duration(first['p50'])}**. "
            f"More heroes shorten the queue; one-click deploys with automated rollback remove it: "
            f"**{format_duration(last['p50'])}**, and nobody is woken up.")


def small_batches() -> str:
    names = [n for n in (st.session_state["choice.baseline"], "small_batch", "elite") if n in state.scenario_names()]
    names = list(dict.fromkeys(names))
    rows, points = [], []
    for name in names:
        sc = state.with_run_settings(state.resolve(name))
        p = escape_probability(sc.quality.defect_rate, sc.quality.test_detection_rate)
        label = f"{name} (p = {p:.1%})"
        for n in range(1, 81):
            rows.append({"scenario": label, "n": n, "risk": batch_failure_probability(p, n),
                         "text": f"{batch_failure_probability(p, n):.0%}"})
        summary = _summary(sc, f"Simulating {name}")
        deployments = summary["counts"]["deployments"]
        cfr = summary["metrics"]["change_failure_rate"]["p50"]
        if deployments and cfr is not None:
            points.append({"scenario": label, "n": min(summary["counts"]["changes"] / deployments, 80.0), "risk": cfr})
    chart: Any = charts.line_chart(pd.DataFrame(rows), "n", "risk", "scenario",
                                                 x_title="changes in one deployment",
                              y_title="chance the deployment fails", y_format="%", tooltip_text="text",
                              title="Risk of a deployment against its size: 1 − (1 − p)ⁿ", points=False,
                              integer_x=True)
    if points:
        dots = alt.Chart(pd.DataFrame(points)).mark_point(size=160, shape="diamond", filled=True).encode(
            x="n:Q", y="risk:Q", color=alt.Color("scenario:N", legend=None),
            tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("n:Q", title="mean changes per deployment", format=".1f"),
                     alt.Tooltip("risk:Q", title="simulated change failure rate", format=".0%")])
        chart = alt.layer(chart, dots)
    charts.show(chart)
    p = escape_probability(0.08, 0.6)
    return (f"Lines: the closed form, with p = defect rate × (1 − test detection) as if every suite ran; diamonds: "
            f"the simulated scenarios. At p = {p:.1%}, ten changes fail a deployment "
            f"{batch_failure_probability(p, 10):.0%} of the time and forty {batch_failure_probability(p, 40):.0%}. "
            f"Small batches do not make fewer defects — they make each failure small, easy to find and quick to undo.")


def heroics() -> str:
    base = state.baseline_scenario()
    rows = []
    for level in OVERTIME_LEVELS:
        summary = _summary(base.with_values({"team.overtime": level}, source="workshop"), f"Overtime {level:g}x")
        rows.append({"hours": hours_per_week(base.with_values({"team.overtime": level}, source="workshop")),
                     "shipped": changes_per_week(summary) or 0.0,
                     "cfr": summary["metrics"]["change_failure_rate"]["p50"] or 0.0,
                     "lead": summary["metrics"]["lead_time_hours"]["p50"] or 0.0})
    data = pd.DataFrame(rows)
    first, last = rows[0], rows[-1]
    gain = last["shipped"] / first["shipped"] - 1 if first["shipped"] else 0.0
    long = data.melt(id_vars=["hours"], value_vars=["shipped", "cfr"], var_name="measure", value_name="value")
    long["measure"] = long["measure"].map({"shipped": "changes shipped a week", "cfr": "change failure rate"})
    x = alt.X("hours:Q", title="hours a week per engineer", axis=alt.Axis(tickMinStep=5, format="d"))
    panels = []
    for measure, fmt, colour in (("changes shipped a week", "d", "#2b6cb0"), ("change failure rate", ".0%",
                                                                            BAND_COLOURS["low"])):
        panels.append(alt.Chart(long[long.measure == measure]).mark_line(point=True, color=colour).encode(
            x=x, y=alt.Y("value:Q", title=measure, axis=alt.Axis(format=fmt), scale=alt.Scale(zero=measure != "x")),
            tooltip=[alt.Tooltip("hours:Q"), alt.Tooltip("value:Q", title=measure, format=fmt)],
        ).properties(width=300, height=180))
    st.markdown(f"**{gain:+.0%} changes a week for {last['hours'] - first['hours']:.0f} more hours each — and the "
                f"change failure rate goes from {_cfr_value(first['cfr'])} to {_cfr_value(last['cfr'])}.**")
    charts.show(alt.hconcat(*panels).properties(title=f"Overtime in {base.name} ({_reps()} replications at each level)"))
    trio = [n for n in ("baseline", "heroics", "elite") if n in state.scenario_names()]
    lines = []
    for name in trio:
        summary = _summary(state.with_run_settings(state.resolve(name)), f"Simulating {name}")
        lines.append(f"*{name}* {band_badge(summary['bands']['overall'])} lead time {_lead(summary)}, "
                     f"failures {_cfr(summary)}")
    lead_change = (last["lead"] / first["lead"] - 1) if first["lead"] else 0.0
    return (f"Longer weeks ship more, but through the same queues: lead time moves {lead_change:+.0%}. "
            f"Side by side — " + "; ".join(lines) + ". Heroics keeps the process and asks people for more; elite "
            "changes the process.")


def _cfr_value(value: float) -> str:
    return format_metric("change_failure_rate", value)


STEPS = (
    Step("diagnose", "Diagnose the baseline",
         "Before changing anything, see where a change's time goes between *done* and *in production*.",
         "A change is finished today. How many days until customers have it — and on how many of those days is "
         "anyone working on it?", diagnose),
    Step("trunk", "Trunk-based flow",
         "Merge every change within hours instead of holding it on a long-lived branch.",
         "If changes stop waiting ten days on branches, how much sooner do users get them? Does anything else get "
         "better?", trunk),
    Step("ci", "Trusted CI",
         "A fast, reliable test suite gets run — and a suite that runs catches defects before users do.",
         "Your suite takes an hour and fails one run in ten for no reason. What do people do about it — and what "
         "does that cost in production?", trusted_ci),
    Step("deploys", "One-click deploys with rollback",
         "Restoring service should not depend on a hero: health checks roll a bad deployment back in minutes.",
         "Two failures in one afternoon and one person who can fix them. How long does the second one wait? What "
         "would a second hero change — and what would automated rollback change?", deploys_and_rollback),
    Step("batches", "Small batches",
         "A deployment fails if any of its changes does, so risk grows with every change in the batch.",
         "Each change has a 3 % chance of carrying a defect the tests miss. What is the chance a deployment of "
         "forty changes fails?", small_batches),
    Step("heroics", "Process vs heroics",
         "Longer weeks add output, but every change still goes through the same branches, queues and big "
         "batches: the metrics that matter barely move.",
         "Would you rather give the team 60-hour weeks or the four practices of this workshop? Put a number on "
         "each.", heroics),
)
STEP_KEYS = tuple(step.key for step in STEPS)


def _go(offset: int) -> None:
    index = STEP_KEYS.index(st.session_state.get("learn.step", STEP_KEYS[0]))
    st.session_state["learn.step"] = STEP_KEYS[max(0, min(len(STEPS) - 1, index + offset))]


def _reveal(key: str) -> None:
    st.session_state.setdefault("learn.revealed", set()).add(key)


def assumptions_table(scenario: Scenario) -> None:
    with st.expander(f"Assumptions behind the numbers ({scenario.name})"):
        st.markdown("Every parameter, its unit and where it comes from: **measured**, **published** (with a "
                    "citation) or **assumed** (a judgement you can change in Compare).")
        rows = pd.DataFrame(parameter_table(scenario))
        rows["value"] = rows["value"].map(lambda v: ("on" if v else "off") if isinstance(v, bool) else f"{v:g}"
                                          if isinstance(v, float) else str(v))
        rows = rows.rename(columns={"key": "parameter", "cite": "citation"})
        st.dataframe(rows[["parameter", "value", "unit", "source", "citation", "meaning"]], hide_index=True,
                     width="stretch", height=360)
        st.markdown("The model's fixed constants: shapes of distributions and clock times, the same in every "
                    "scenario (those a team could question are parameters above).")
        st.dataframe(pd.DataFrame(constants_table()), hide_index=True, width="stretch")


def render() -> None:
    ss = st.session_state
    if ss.get("learn.step") not in STEP_KEYS:
        ss["learn.step"] = STEP_KEYS[0]
    titles = {step.key: f"{n}. {step.title}" for n, step in enumerate(STEPS, start=1)}
    st.segmented_control("Workshop step", STEP_KEYS, format_func=lambda k: titles.get(k, str(k)), key="learn.step",
                         label_visibility="collapsed", required=True, default=ss["learn.step"])
    number = STEP_KEYS.index(ss["learn.step"]) + 1
    step = STEPS[number - 1]
    st.markdown(f"#### Step {number} of {len(STEPS)}: {step.title}")
    st.caption(f"About {MINUTES_PER_STEP} minutes: predict, run, discuss. Six steps, 45 minutes with the "
               f"introduction and close.")
    st.markdown(f"**The idea.** {step.idea}")
    st.info(f"**Ask the room — and let everyone write down a guess first.** {step.question}",
            icon=":material/record_voice_over:")
    revealed = step.key in ss.get("learn.revealed", set())
    if not revealed:
        st.button("Run it", type="primary", key=f"learn.run.{step.key}", on_click=_reveal, args=(step.key,),
                  icon=":material/play_arrow:")
    else:
        said = step.show()
        st.success(f"**Discuss.** {said}", icon=":material/forum:")
    left, _, right = st.columns([1, 4, 1])
    left.button("← Previous", key="learn.prev", on_click=_go, args=(-1,), disabled=number == 1, width="stretch")
    right.button("Next →", key="learn.next", on_click=_go, args=(1,), disabled=number == len(STEPS),
                 width="stretch")
    assumptions_table(state.baseline_scenario())

