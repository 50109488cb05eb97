"""Learn — why process beats heroics: short lessons, each with a live chart from the model or its closed form."""

from __future__ import annotations

import math

import altair as alt
import pandas as pd
import streamlit as st

from dorasim_app import charts, compute, state
from dorasim_app.style import METRIC_BAND_KEY, METRIC_LABELS, band_badge
from sim.metrics.registry import METRIC_KEYS, format_duration, format_metric
from sim.model.scenario import Scenario, parameter_table
from sim.model.theory import batch_failure_probability, escape_probability, mmc_mean_wait

LESSON_REPS = 5
EXPERIMENT_BASE = "small_batch"  # deploys daily by hand: incidents are frequent enough to queue
OVERTIME_LEVELS = (1.0, 1.2, 1.4, 1.6)
EXPERT_LEVELS = (1, 2, 3)
TRIO = ("baseline", "heroics", "elite")
MIN_SHOWN_WAIT_MINUTES = 0.01  # below a second the wait is no longer worth a point on a log axis


def _lesson_reps() -> int:
    return min(state.run_settings()["reps"], LESSON_REPS)


def _run(scenario: Scenario, reps: int, label: str) -> dict:
    settings = state.run_settings()
    return compute.run(scenario, reps, settings["seed"], state.benchmark(), label=label)["summary"]


def batch_lesson(baseline: Scenario, scenario: Scenario) -> None:
    st.subheader("1. Big batches fail more often")
    st.markdown("Each change that reaches production carries a defect with some small probability *p*. A "
                "deployment of *n* changes fails if **any** of them does: **1 − (1 − p)ⁿ**. Ten changes at 3 % "
                "each already fail one deployment in four. Smaller batches do not make fewer defects — they "
                "make each failure smaller, easier to find and quicker to undo.")
    rows, points = [], []
    settings = state.run_settings()
    for name, sc in ((st.session_state["choice.baseline"], baseline), (st.session_state["choice.scenario"], scenario)):
        p = escape_probability(sc.quality.defect_rate, sc.quality.test_detection_rate)
        for n in range(1, 151):
            rows.append({"scenario": f"{name} (p = {p:.1%})", "n": n, "risk": batch_failure_probability(p, n),
                         "text": f"{batch_failure_probability(p, n):.0%}"})
        summary = compute.run(sc, settings["reps"], settings["seed"], state.benchmark())["summary"]
        deployments = summary["counts"]["deployments"]
        if deployments and summary["metrics"]["change_failure_rate"]["p50"] is not None:
            points.append({"scenario": f"{name} (p = {p:.1%})", "n": summary["counts"]["changes"] / deployments,
                           "risk": summary["metrics"]["change_failure_rate"]["p50"]})
    chart = charts.line_chart(pd.DataFrame(rows), "n", "risk", "scenario", x_title="changes in one deployment (n)",
                              y_title="chance the deployment fails", y_format="%", tooltip_text="text",
                              title="Risk of a deployment against its size", points=False)
    if points:
        dots = alt.Chart(pd.DataFrame(points)).mark_point(size=160, shape="diamond", filled=True).encode(
            x="n:Q", y="risk:Q", color=alt.Color("scenario:N", legend=None),
            tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("n:Q", title="mean changes per deployment", format=".1f"),
                     alt.Tooltip("risk:Q", title="simulated change failure rate", format=".0%")])
        chart = alt.layer(chart, dots)
    charts.show(chart)
    st.caption("Lines: the closed form with p = defect rate × (1 − test detection rate), as if every suite ran. "
               "Diamonds: the simulated scenarios (mean changes per deployment, median change failure rate) — "
               "skipped suites and checklist errors push them above their line.")


def ci_lesson(scenario: Scenario, summary: dict) -> None:
    st.subheader("2. Waiting for CI: runners and suite time")
    team, ci = scenario.team, scenario.ci
    per_hour = team.engineers * team.changes_per_engineer_per_day / team.working_hours_per_day
    runs_per_hour = per_hour / (1.0 - ci.flaky_rate)
    st.markdown(f"A pool of CI runners is a queue. With {team.engineers} engineers finishing "
                f"{team.changes_per_engineer_per_day:g} changes a day each, about **{runs_per_hour:.1f} runs an "
                f"hour** arrive (counting flaky re-runs). When runners are busy most of the time, waiting grows "
                f"much faster than the load (Erlang C). Fewer, faster suites on more runners keep the queue short "
                f"— working harder does not.")
    suites = sorted({10.0, 30.0, 60.0, float(ci.test_suite_minutes)})
    rows = []
    for minutes in suites:
        for runners in range(1, 17):
            wait = mmc_mean_wait(runs_per_hour, minutes / 60.0, runners)
            if math.isfinite(wait) and wait * 60 >= MIN_SHOWN_WAIT_MINUTES:
                rows.append({"suite": f"{minutes:g}-minute suite", "runners": runners, "wait": wait * 60,
                             "text": format_duration(wait)})
    if rows:
        charts.show(charts.line_chart(pd.DataFrame(rows), "runners", "wait", "suite", x_title="CI runners",
                                          y_title="mean wait for a runner (minutes)", log_y=True,
                                          tooltip_text="text", title="Mean wait for a free runner (M/M/c)"))
    queue = summary["lead_time_breakdown"].get("ci_queue")
    st.caption(f"Closed form if every change ran the suite on its own (trunk-based), with Poisson arrivals in "
               f"working hours. Lines start where the pool can keep up (with fewer runners the queue grows without "
               f"bound) and stop below a second. Long-lived branches run CI once per merge, and skipped suites do "
               f"not queue at all: in the simulated *{scenario.name}* ({ci.runners} runners, "
               f"{ci.test_suite_minutes:g}-minute suite), a change waited "
               f"{format_duration(queue) if queue is not None else '—'} for a runner on average.")


def experiment_base() -> tuple[str, Scenario]:
    name = EXPERIMENT_BASE if EXPERIMENT_BASE in state.scenario_names() else st.session_state["choice.baseline"]
    names = state.scenario_names()
    chosen = st.selectbox("Team for the experiments below", names, index=names.index(name), key="learn.base",
                          help="The daily manual releases of small_batch make incidents frequent enough to queue.")
    return chosen, state.with_run_settings(state.resolve(chosen))


def expert_lesson(name: str, base: Scenario) -> None:
    st.subheader("3. Incidents queue behind a single expert")
    st.markdown("Without automated rollback or feature flags, every failure waits for the one person who can "
                "diagnose it. Two failures in a day and the second waits for the first. Adding heroes shortens "
                "the queue; automation removes it.")
    reps = _lesson_reps()
    rows = []
    variants = [(f"{e} expert{'s' if e > 1 else ''}", {"operations.experts": e}) for e in EXPERT_LEVELS]
    variants.append(("1 expert + automated rollback", {"operations.experts": 1, "operations.automated_rollback": True}))
    for label, values in variants:
        summary = _run(base.with_values(values, source="experiment"), reps, f"Experiment: {label}")
        ttr = summary["metrics"]["time_to_restore_hours"]
        if ttr["p50"] is not None:
            rows.append({"variant": label, "p50": ttr["p50"], "p10": ttr["p10"], "p90": ttr["p90"],
                         "text": f"median {format_duration(ttr['p50'])} (p10–p90 {format_duration(ttr['p10'])} – "
                                 f"{format_duration(ttr['p90'])})"})
    if rows:
        data = pd.DataFrame(rows)
        y = alt.Y("variant:N", sort=None, title=None)
        bars = alt.Chart(data).mark_bar(color="#2b8cbe", height=18).encode(
            x=alt.X("p50:Q", title="time to restore (hours)"), y=y, tooltip=[alt.Tooltip("text:N", title="restore")])
        whiskers = alt.Chart(data).mark_rule(color="#333").encode(x="p10:Q", x2="p90:Q", y=y)
        charts.show(alt.layer(bars, whiskers).properties(
            title=f"Time to restore in {name} ({reps} replications each)", height=180))
    st.caption("Bars: median time to restore; lines: p10–p90 across replications.")


def overtime_lesson(name: str, base: Scenario) -> None:
    st.subheader("4. Overtime buys a little throughput and a lot of defects")
    st.markdown("Longer weeks add output, but tired hours produce less and break more: the defect rate rises "
                "with fatigue, and every extra defect is another failed deployment to restore.")
    reps = _lesson_reps()
    rows = []
    for level in OVERTIME_LEVELS:
        summary = _run(base.with_values({"team.overtime": level}, source="experiment"), reps,
                       f"Experiment: overtime {level:g}x")
        days = summary["days"] * max(summary["reps"], 1)
        cfr = summary["metrics"]["change_failure_rate"]["p50"]
        rows.append({"overtime": level, "measure": "changes finished per day", "value": summary["counts"]["changes"] / days,
                     "text": f"{summary['counts']['changes'] / days:.1f} / day"})
        if cfr is not None:
            rows.append({"overtime": level, "measure": "change failure rate", "value": cfr,
                         "text": format_metric("change_failure_rate", cfr)})
    data = pd.DataFrame(rows)
    left, right = st.columns(2)
    with left:
        charts.show(charts.line_chart(data[data.measure == "changes finished per day"], "overtime", "value", None,
                                          x_title="overtime (× normal hours)", y_title="changes per day",
                                          tooltip_text="text", title="Throughput"))
    with right:
        charts.show(charts.line_chart(data[data.measure == "change failure rate"], "overtime", "value", None,
                                          x_title="overtime (× normal hours)", y_title="change failure rate",
                                          y_format="%", tooltip_text="text", title="Failures"))
    st.caption(f"{name}, {reps} replications at each level of overtime; everything else unchanged.")


def trio_lesson() -> None:
    st.subheader("5. Baseline, heroics and elite side by side")
    st.markdown("Heroics keeps the process and asks people for more; elite changes the process. Same team, same "
                "random numbers.")
    available = [n for n in TRIO if n in state.scenario_names()]
    settings = state.run_settings()
    columns = st.columns(len(available) or 1)
    for column, name in zip(columns, available):
        summary = _run(state.with_run_settings(state.resolve(name)), settings["reps"], f"Simulating {name}")
        with column, st.container(border=True):
            st.markdown(f"**{name}** — overall {band_badge(summary['bands']['overall'])}")
            for key in METRIC_KEYS:
                band_key = METRIC_BAND_KEY.get(key)
                badge = band_badge(summary["bands"].get(band_key)) if band_key else ""
                st.markdown(f"{METRIC_LABELS[key]}: **{format_metric(key, summary['metrics'][key]['p50'])}** {badge}")


def assumptions_table(scenario: Scenario) -> None:
    st.subheader("Assumptions behind the numbers")
    st.markdown(f"Every parameter of *{scenario.name}*, with its unit and where it comes from: **measured**, "
                f"**published** (with a citation) or **assumed** (a judgement you can change in Compare).")
    rows = pd.DataFrame(parameter_table(scenario))
    rows["value"] = rows["value"].map(lambda v: ("on" if v else "off") if isinstance(v, bool) else f"{v:g}"
                                      if isinstance(v, float) else str(v))
    rows = rows.rename(columns={"key": "parameter", "cite": "citation"})
    st.dataframe(rows[["parameter", "value", "unit", "source", "citation", "meaning"]], hide_index=True,
                 width="stretch", height=420)


def render() -> None:
    st.header("Learn: why process beats heroics")
    st.caption("Five short lessons for a workshop. Every chart is computed live from the model or from the "
               "closed form it follows, for the scenarios chosen in Compare.")
    settings = state.run_settings()
    baseline, scenario = state.baseline_scenario(), state.tuned_scenario()
    summary = compute.run(scenario, settings["reps"], settings["seed"], state.benchmark())["summary"]
    batch_lesson(baseline, scenario)
    ci_lesson(scenario, summary)
    name, base = experiment_base()
    expert_lesson(name, base)
    overtime_lesson(name, base)
    trio_lesson()
    assumptions_table(scenario)
