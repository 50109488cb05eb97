"""Forecast: the board's question — when will this piece of work be live, and how sure are we?

A piece of work is the first N changes the team creates from a start date on; it ships when the last of
them is live (:mod:`sim.analysis.forecast`). Baseline and tuned scenario (and optionally a plan) get the
same work and the same random numbers; the view shows p50/p85/p95 dates, the chance of making a target
date, and how far apart p50 and p95 are — the spread process shrinks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dorasim_app import charts, compute, state, tuning
from dorasim_app.views.compare import report_button
from sim.analysis.forecast import state_date
from sim.model.advice import fit_caveat
from sim.report.specs import SERIES_COLOURS, ship_curve

DEFAULT_CHANGES = 40
DEFAULT_REPS = 100
DEFAULT_TARGET_DAYS = 28
QUANTILES = (5, 10, 50, 85, 95)
MONTE_CARLO = "throughput Monte Carlo"
NONE = "(no plan)"
NONE_LINK = "none"  # the link's word for "no plan"


def _date(iso: str | None) -> str:
    return "not within two years" if iso is None else f"{dt.date.fromisoformat(iso):%a %d %b %Y}"


def default_start(scenario_start: dt.date, today: dt.date) -> dt.date:
    """The work starts on the coming Monday (today, if it is one) — never before the scenario's own start."""
    monday = today + dt.timedelta(days=-today.weekday() % 7)
    return max(scenario_start, monday)


def _link_inputs(problems: list[str]) -> dict[str, Any]:
    """The Forecast inputs a shared link carries (``forecast.changes=40&forecast.start=…``), checked."""
    raw = st.session_state.get("link.inputs", {})
    out: dict[str, Any] = {}
    for name, low, high in (("forecast.changes", 1, 5000), ("forecast.reps", 5, state.MAX_REPS)):
        if name in raw:
            try:
                value = int(raw[name])
            except ValueError:
                problems.append(f"{name}={raw[name]!r}: not a whole number")
                continue
            if low <= value <= high:
                out[name] = value
            else:
                problems.append(f"{name}={raw[name]!r}: must be between {low} and {high}")
    for name in ("forecast.start", "forecast.target"):
        if name in raw:
            try:
                out[name] = dt.date.fromisoformat(raw[name])
            except ValueError:
                problems.append(f"{name}={raw[name]!r}: not a date (YYYY-MM-DD)")
    if "forecast.plan" in raw:
        if raw["forecast.plan"] in (NONE_LINK, *state.plan_files()):
            out["forecast.plan"] = NONE if raw["forecast.plan"] == NONE_LINK else raw["forecast.plan"]
        else:
            problems.append(f"forecast.plan={raw['forecast.plan']!r}: no such plan")
    return out


def inputs(scenario_start: dt.date, logs_end: dt.date | None = None) -> dict[str, Any]:
    """The piece of work and its dates; a baseline calibrated from logs starts it where the logs end."""
    ss = st.session_state
    if "forecast.changes" not in ss:  # first visit: the link's inputs, else the defaults
        problems: list[str] = []
        linked = _link_inputs(problems)
        for line in problems:
            st.warning(f"Ignored part of the link: {line}")
        start = linked.get(
            "forecast.start", logs_end or default_start(scenario_start, dt.datetime.now(dt.UTC).date())
        )
        ss["forecast.changes"] = linked.get("forecast.changes", DEFAULT_CHANGES)
        ss["forecast.start"] = start
        ss["forecast.target"] = linked.get("forecast.target", start + dt.timedelta(days=DEFAULT_TARGET_DAYS))
        ss["forecast.reps"] = linked.get("forecast.reps", DEFAULT_REPS)
        ss["forecast.plan"] = linked.get("forecast.plan", NONE)
    plans = [NONE, *state.plan_files()]
    if ss.get("forecast.plan") not in plans:
        ss["forecast.plan"] = NONE
    a, b, c, d, e = st.columns([1, 1.2, 1.2, 1, 1.6])
    a.number_input(
        "Changes in the work",
        min_value=1,
        max_value=5000,
        step=5,
        key="forecast.changes",
        help="The piece of work: the first N changes the team creates from the start date on.",
    )
    b.date_input(
        "Work starts",
        key="forecast.start",
        format="YYYY-MM-DD",
        help="The day the team starts on it (UTC). A plan's phases count from the plan's own start.",
    )
    c.date_input(
        "Target date",
        key="forecast.target",
        format="YYYY-MM-DD",
        help="The date the board wants: the chance of being live by the end of that day.",
    )
    d.number_input(
        "Replications",
        min_value=5,
        max_value=state.MAX_REPS,
        step=10,
        key="forecast.reps",
        help="Each replication is one possible future; the dates are percentiles over them.",
    )
    e.selectbox(
        "Also under a plan",
        plans,
        key="forecast.plan",
        help="A 90-day plan from scenarios/plan_*.toml: the work ships while the plan's phases ramp in.",
    )
    choice = {
        "changes": int(ss["forecast.changes"]),
        "start": ss["forecast.start"],
        "target": ss["forecast.target"],
        "reps": int(ss["forecast.reps"]),
        "plan": ss["forecast.plan"],
    }
    # a shared link reopens this forecast with the same work, dates and plan
    ss["link.inputs"] = {
        "forecast.changes": str(choice["changes"]),
        "forecast.start": choice["start"].isoformat(),
        "forecast.target": choice["target"].isoformat(),
        "forecast.reps": str(choice["reps"]),
        "forecast.plan": NONE_LINK if choice["plan"] == NONE else choice["plan"],
    }
    return choice


def spread_sentence(spreads: dict[str, int], reference: str) -> str:
    """The spread between the median and the 95 % date, said as it is: narrower, wider or the same."""
    words = ", ".join(f"*{k}* {v} day{'s' if v != 1 else ''}" for k, v in spreads.items())
    text = (
        f"**The spread** between the median date and the 95 % date: {words}. A narrow spread is a date a team "
        f"can commit to"
    )
    base = spreads.get(reference)
    others = {k: v for k, v in spreads.items() if k != reference}
    if base is None or not others:
        return text + "."
    narrower = [k for k, v in others.items() if v < base]
    wider = [k for k, v in others.items() if v > base]
    if narrower and not wider:
        return text + (
            f"; {' and '.join(f'*{k}*' for k in narrower)} narrow{'s' if len(narrower) == 1 else ''} "
            f"it: smaller batches ship steadily instead of waiting for the next release train."
        )
    if wider:
        return text + (
            f"; here {' and '.join(f'*{k}*' for k in wider)} {'is' if len(wider) == 1 else 'are'} "
            f"less predictable than *{reference}* — look at what was tuned (bigger batches, rarer "
            f"releases, a backlog that grows) before committing to its date."
        )
    return text + "; both are as predictable."


def weekend_note(results: list[dict[str, Any]]) -> str | None:
    """Why a date can be a Saturday or a Sunday: releases that go out in a weekend window."""
    days = {
        r["scenario"]: [dt.date.fromisoformat(r[q]) for q in ("p50", "p85", "p95") if r[q]] for r in results
    }
    weekend = [name for name, dates in days.items() if any(d.weekday() >= 5 for d in dates)]
    if not weekend:
        return None
    return (
        f"Weekend dates ({', '.join(weekend)}): the work goes live with a release, and a weekly manual release "
        f"goes out in a weekend window."
    )


def spread_chart(results: list[dict[str, Any]]) -> alt.TopLevelMixin:
    """p50 → p95 of each scenario as a bar (its spread) with the p85 date marked: what a date to commit to costs."""
    rows = [
        {
            "scenario": r["scenario"],
            "p50": r["p50"],
            "p85": r["p85"],
            "p95": r["p95"],
            "text": f"p50 {_date(r['p50'])} · p85 {_date(r['p85'])} · p95 {_date(r['p95'])}",
        }
        for r in results
        if r["p50"] and r["p95"]
    ]
    data = pd.DataFrame(rows, columns=["scenario", "p50", "p85", "p95", "text"])
    names = [r["scenario"] for r in results]
    colour = alt.Color(
        "scenario:N", scale=alt.Scale(domain=names, range=list(SERIES_COLOURS[: len(names)])), legend=None
    )
    y = alt.Y("scenario:N", sort=names, title=None, axis=alt.Axis(labelLimit=200))
    x = alt.X("p50:T", title="live by (p50 → p95; tick: p85)", axis=alt.Axis(format="%d %b", labelAngle=0))
    bar = (
        alt.Chart(data)
        .mark_bar(height=16, opacity=0.55)
        .encode(x=x, x2="p95:T", y=y, color=colour, tooltip=[alt.Tooltip("text:N", title="dates")])
    )
    tick = (
        alt.Chart(data)
        .mark_tick(thickness=3, size=26, color="#111")
        .encode(x="p85:T", y=y, tooltip=[alt.Tooltip("text:N", title="dates")])
    )
    return alt.layer(bar, tick).properties(
        title="How wide the range of likely dates is", height=40 * len(names) + 20
    )


def result_cards(results: list[dict[str, Any]], target: dt.date) -> None:
    reference = results[0]
    for column, result in zip(st.columns(len(results)), results):
        with column, st.container(border=True):
            delta = None
            if (
                result is not reference
                and result["days_p85"] is not None
                and reference["days_p85"] is not None
            ):
                days = result["days_p85"] - reference["days_p85"]
                delta = "same date" if days == 0 else f"{days:+d} days"
            st.metric(
                f"{result['scenario']}: 85 % sure by",
                _date(result["p85"]),
                delta=delta,
                delta_color="inverse" if delta and delta != "same date" else "off",
                delta_arrow="auto" if delta and delta != "same date" else "off",
                help="The date by which 85 % of the simulated futures had the whole piece of work live.",
            )
            chance = result["probability_by_target"]
            st.markdown(
                f"**{chance:.0%}** chance of being live by {target:%d %b}" if chance is not None else ""
            )
            spread = result["spread_days"]
            st.caption(
                f"p50 {_date(result['p50'])} · p95 {_date(result['p95'])} · spread p50→p95: "
                f"{'—' if spread is None else f'{spread} days'}"
            )
            if result.get("unfinished"):
                st.caption(
                    f":orange[{result['unfinished']} of {result['reps']} futures did not finish within "
                    f"{result['max_horizon_days']} days]"
                )


def forecast_report(results: list[dict[str, Any]], scenarios: dict[str, Any]) -> Any:
    def build() -> str:
        from sim.report import forecast_report as document

        return document(results, {r["scenario"]: r["curve"] for r in results}, scenarios)

    return build


def render() -> None:
    tuning.scenario_pickers()
    ss = st.session_state
    baseline, scenario = state.baseline_scenario(), state.tuned_scenario()
    st.markdown("##### When will it ship, and how sure are we?")
    choice = inputs(scenario.start, logs_end(baseline))
    start, target = choice["start"], choice["target"]
    if target < start:
        st.error(f"Target date {target:%Y-%m-%d}: before the work starts ({start:%Y-%m-%d}).")
        return
    seed = state.run_settings()["seed"]
    base_name = ss["choice.baseline"]
    name = ss["choice.scenario"] + (" (tuned)" if ss["overrides"] else "")
    if name == base_name:
        base_name += " (baseline)"
    subjects: list[tuple[str, Any, tuple[Any, ...]]] = [(base_name, baseline, ()), (name, scenario, ())]
    if choice["plan"] != NONE:
        from sim.analysis.plan import load_plan

        plan = load_plan(state.plan_files()[choice["plan"]])
        if start < plan.scenario.start:
            st.error(
                f"Work starts {start:%Y-%m-%d}: before {plan.name} starts ({plan.scenario.start:%Y-%m-%d}); "
                f"choose a start on or after it."
            )
            return
        subjects.append((plan.name, plan.scenario, plan.phases))
    results = [
        compute.cached_forecast(
            subject.model_dump_json(),
            compute.phases_json(phases),
            choice["changes"],
            start.isoformat(),
            choice["reps"],
            seed,
            target.isoformat(),
            label,
        )
        for label, subject, phases in subjects
    ]
    st.caption(
        f"The work: the first {choice['changes']} changes created from {start:%a %d %b %Y} on; it ships when "
        f"the last of them is live. {choice['reps']} simulated futures per scenario, seed {seed}, the same "
        f"random numbers for each."
    )
    caveat = fit_caveat(baseline)
    if caveat:
        st.warning(f"*{base_name}*: {caveat}.", icon=":material/info:")
    result_cards(results, target)
    spreads = {r["scenario"]: r["spread_days"] for r in results if r["spread_days"] is not None}
    if len(spreads) >= 2:
        st.markdown(spread_sentence(spreads, results[0]["scenario"]))
    note = weekend_note(results)
    if note:
        st.caption(note)
    left, right = st.columns([3, 2])
    with left:
        spec = ship_curve({r["scenario"]: r["curve"] for r in results}, target.isoformat(), width="container")
        st.vega_lite_chart(spec, width="stretch", height=300)
    with right:
        charts.show(spread_chart(results))
    anchor = anchor_section(baseline, results[0], choice, seed)
    tuning.tuning_form()
    shown = results if anchor is None else [*results, anchor]
    report_button(
        "Download the report (HTML)",
        forecast_report(shown, {label: subject for label, subject, _ in subjects}),
        f"dorasim-forecast-{start:%Y-%m-%d}.html",
        "forecast.report",
    )


# ---------------------------------------------------------------------------------------------
# Beside the anchor: the throughput Monte Carlo of the logs the baseline was calibrated from


def width_days(result: dict[str, Any]) -> int | None:
    """Days from the p5 date to the p95 date (None: p95 not within the horizon)."""
    lo, hi = result.get("days_p5"), result.get("days_p95")
    return None if lo is None or hi is None else int(hi) - int(lo)


def wider_sentence(model: dict[str, Any], anchor: dict[str, Any]) -> str:
    """Which range of likely dates is wider, the model's or the Monte Carlo's, and why."""
    model_width, anchor_width = width_days(model), width_days(anchor)
    if model_width is None and anchor_width is None:
        return "Neither range closes within the horizon: at the window's pace the work may not ship at all."
    if anchor_width is None or (model_width is not None and anchor_width > model_width):
        shown = "more than the horizon" if anchor_width is None else f"{anchor_width} days"
        return (
            f"**The Monte Carlo's range is wider** (p5 to p95: {shown} against the model's {model_width}): it "
            f"knows only how many changes went live on each day of the window, so any run of quiet or busy "
            f"days is a possible future; the model also knows how this team releases and what was waiting when "
            f"the logs end."
        )
    if model_width is None or model_width > anchor_width:
        shown = "more than the horizon" if model_width is None else f"{model_width} days"
        return (
            f"**The model's range is wider** (p5 to p95: {shown} against the Monte Carlo's {anchor_width}): "
            f"each of its futures draws its own team and release pace from what calibration left uncertain "
            f"(thin data widen it), and a release can hold the work back; the Monte Carlo assumes the window's "
            f"days simply repeat."
        )
    return (
        f"**Both ranges are as wide** (p5 to p95: {model_width} days), but they need not sit on the same days: "
        f"the model's p50 is {model['days_p50']} days after the start, the Monte Carlo's {anchor['days_p50']} — the "
        f"model waits for this team's releases, the Monte Carlo spreads the window's output over every day."
    )


def quantile_table(results: list[dict[str, Any]], target: dt.date) -> pd.DataFrame:
    rows = []
    for result in results:
        row: dict[str, Any] = {"forecast": result["scenario"]}
        for q in QUANTILES:
            day, days = result[f"p{q}"], result[f"days_p{q}"]
            row[f"p{q}"] = "—" if day is None else f"{dt.date.fromisoformat(day):%d %b %Y} ({days} d)"
        chance = result.get("probability_by_target")
        row[f"live by {target:%d %b}"] = "—" if chance is None else f"{chance:.0%}"
        rows.append(row)
    return pd.DataFrame(rows)


def logs_end(baseline: Any) -> dt.date | None:
    """The day the logs behind a calibrated baseline end (its recorded state's day, else its window's end)."""
    recorded = state_date(baseline)
    if recorded is not None:
        return recorded
    source = state.calibration_logs(st.session_state["choice.baseline"])
    return None if source is None else dt.date.fromisoformat(source["window"][1])


def _start_where_logs_end(day: dt.date) -> None:
    st.session_state["forecast.start"] = day
    st.session_state["forecast.target"] = day + dt.timedelta(days=DEFAULT_TARGET_DAYS)


def anchor_section(
    baseline: Any, model: dict[str, Any], choice: dict[str, Any], seed: int
) -> dict[str, Any] | None:
    """The baseline's forecast beside the throughput Monte Carlo of the logs it was calibrated from (returned,
    for the report; None without logs)."""
    ss = st.session_state
    source = state.calibration_logs(ss["choice.baseline"])
    if source is None:
        st.caption(
            "Beside the throughput Monte Carlo (resampling a team's own days of released changes, the anchor "
            "a forecast is judged by): it needs a team's logs — calibrate a baseline from them in *Your "
            "data* and use it here."
        )
        return None
    start, target = choice["start"], choice["target"]
    anchor = compute.throughput(source["logs"], choice["changes"], start, source["window"], seed, target)
    st.markdown(f"##### {model['scenario']} beside the throughput Monte Carlo")
    window = anchor["window"]
    st.caption(
        f"The Monte Carlo draws each future day from the {window['days']} days your baseline was calibrated "
        f"on ({window['start']} to {window['end']}, end exclusive: {anchor['released_changes_in_window']} "
        f"changes went live on {anchor['release_days_in_window']} of them), {anchor['reps']} futures, "
        f"seed {seed}; the work ships on the day the drawn days add up to {choice['changes']} changes."
    )
    if anchor.get("not_judged"):
        st.info(f"The throughput Monte Carlo has nothing to resample: {anchor['not_judged'].split(': ')[0]}.")
        return None
    end = logs_end(baseline)
    if end is not None and start != end:
        st.button(
            f"Start the work on {end:%a %d %b %Y}, where your logs end",
            on_click=_start_where_logs_end,
            args=(end,),
            key="forecast.from-logs-end",
            help="The model starts from the state the logs end in (changes waiting, the last release) only on "
            "that day; from another day it starts from a warmed-up team.",
        )
    both = [model, anchor]
    st.dataframe(quantile_table(both, target), hide_index=True, width="stretch", key="forecast.anchor-table")
    st.markdown(wider_sentence(model, anchor))
    spec = ship_curve({r["scenario"]: r["curve"] for r in both}, target.isoformat(), width="container")
    st.vega_lite_chart(charts.with_monte_carlo_colour(spec, anchor["scenario"]), width="stretch", height=280)
    return anchor
