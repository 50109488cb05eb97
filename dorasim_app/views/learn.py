"""Workshop: a 45-minute sequence a coach can run — predict, run, discuss — from diagnosing the baseline to
process against heroics. One screen per step, made for a 1280×720 projector: one idea, one question to the
room, then (when the room has made its prediction) one chart beside what the numbers say. Every number is
computed live by the model, for the baseline chosen in Compare and the shipped scenarios; the text quotes the
numbers the chart draws.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from dorasim_app import charts, compute, lessons, state
from dorasim_app.story import changed_keys, changes_per_week, hours_per_week, movement
from dorasim_app.style import WAITING_COLOUR, WORKING_COLOUR, band_badge, stage_label
from sim.metrics.registry import format_duration, format_metric
from sim.model.constants import constants_table
from sim.model.scenario import Scenario, parameter_table
from sim.model.stages import ACTIVE_STAGES

LOG_REPS = 8  # replications whose deployment logs the workshop reads (sizes, failures, hotfixes)
EXPERT_BASE = "small_batch"  # daily releases (step 4): incidents come often enough to queue for the expert
OVERTIME_LEVELS = (1.0, 1.25, 1.5)  # 40, 50 and 60 hours a week
FAST_CI: dict[str, Any] = {
    "ci.test_suite_minutes": 10.0,
    "ci.runners": 8,
    "ci.flaky_rate": 0.015,
    "quality.test_detection_rate": 0.85,
}
MINUTES_PER_STEP = 7
# one colour per scenario across the workshop's charts
TRIO_COLOURS = {"baseline": "#6b7280", "small_batch": "#c05621", "heroics": "#c05621", "elite": "#2f855a"}
OTHER_COLOUR = "#2b6cb0"
CURVE_COLOUR = "#374151"
CHART_HEIGHT = 250  # plot height that leaves the step's question, chart and discussion on a 1280×720 screen
HIDE_TOOLBARS = "<style>div[data-testid='stElementToolbar'] { display: none; }</style>"


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    short: str  # the step's name in the navigation
    idea: str
    question: str
    show: Callable[[], str]  # draws the chart, returns what the numbers say (markdown)
    scenario: str | None = (
        None  # the shipped scenario the step simulates; None = the baseline chosen in Compare
    )


def _reps() -> int:
    """Every step runs what Compare runs (the same replications), so a number means the same on both."""
    return int(state.run_settings()["reps"])


def _log_reps() -> int:
    return min(_reps(), LOG_REPS)


def _summary(scenario: Scenario, label: str, reps: int | None = None) -> dict:
    settings = state.run_settings()
    result = compute.run(scenario, reps or _reps(), settings["seed"], state.benchmark(), label=label)
    return dict(result["summary"], shipped_per_week=result.get("shipped_per_week"))


def _shipped(name: str) -> Scenario | None:
    if name not in state.scenario_names():
        return None
    return state.with_run_settings(state.resolve(name))


def _colour(name: str, index: int = 0) -> str:
    return TRIO_COLOURS.get(name, OTHER_COLOUR if index else TRIO_COLOURS["baseline"])


def _lead(summary: dict) -> str:
    return format_metric("lead_time_hours", summary["metrics"]["lead_time_hours"]["p50"])


def _cfr(summary: dict) -> str:
    return format_metric("change_failure_rate", summary["metrics"]["change_failure_rate"]["p50"])


def _mean_lead(summary: dict) -> float:
    return float(sum(summary["lead_time_breakdown"].values()))


def _outcomes(scenario: Scenario) -> pd.DataFrame:
    """Every deployment of the step's replications: size, failed, hotfix (the logs Events shows)."""
    seed = state.run_settings()["seed"]
    frames = []
    for k in range(_log_reps()):
        window = compute.one_replication(scenario, seed, k)
        frames.append(lessons.deployment_outcomes(window["deployments"], window["incidents"]))
    return pd.concat(frames, ignore_index=True)


def _weeks(scenario: Scenario) -> float:
    return scenario.days / 7 * _log_reps()


def stage_bars(summaries: dict[str, dict]) -> alt.TopLevelMixin:
    """Mean time per change in each stage, one stacked bar per scenario (waiting amber, working blue), the
    stages in the flow's order and the mean lead time written at the end of each bar."""
    rows, totals = [], []
    for name, summary in summaries.items():
        stages = list(summary["lead_time_breakdown"].items())
        for index, (stage, hours) in enumerate(stages):
            if hours > 0:
                rows.append(
                    {
                        "scenario": name,
                        "stage": stage_label(stage),
                        "order": index,
                        "days": hours / 24,
                        "kind": "working on it" if stage in ACTIVE_STAGES else "waiting",
                        "text": format_duration(hours),
                    }
                )
        total = sum(h for _, h in stages)
        totals.append({"scenario": name, "days": total / 24, "text": f"mean {format_duration(total)}"})
    data, ends = pd.DataFrame(rows), pd.DataFrame(totals)
    y = alt.Y("scenario:N", sort=list(summaries), title=None, axis=alt.Axis(labelLimit=200))
    top = max(ends["days"].max() * 1.3, 0.1)
    bars = (
        alt.Chart(data)
        .mark_bar(height=30, stroke="white", strokeWidth=1)
        .encode(
            x=alt.X(
                "sum(days):Q", title="days per change (mean)", scale=alt.Scale(domain=[0, top], nice=False)
            ),
            y=y,
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["waiting", "working on it"], range=[WAITING_COLOUR, WORKING_COLOUR]),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            order=alt.Order("order:Q", sort="ascending"),
            tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("stage:N"), alt.Tooltip("text:N", title="time")],
        )
    )
    labels = (
        alt.Chart(ends)
        .mark_text(align="left", dx=5, fontSize=13, fontWeight="bold")
        .encode(x="days:Q", y=y, text="text:N")
    )
    return alt.layer(bars, labels).properties(
        title="Where a change's lead time goes", height=60 * len(summaries) + 30
    )


# ----------------------------------------------------------------------------------------------
# The six steps


def diagnose() -> str:
    base = state.baseline_scenario()
    summary = _summary(base, "Simulating the baseline")
    stages = summary["lead_time_breakdown"]
    chart = charts.waterfall_chart(stages, f"{base.name}: where a change's time goes")
    charts.show(chart.properties(height=CHART_HEIGHT - 50))
    total = sum(stages.values()) or 1.0
    waiting = sum(h for s, h in stages.items() if s not in ACTIVE_STAGES)
    biggest = max(stages, key=lambda s: stages[s])
    eff = summary.get("flow_efficiency")
    return (
        f"On average a finished change reaches users after **{format_duration(total)}** (the dark bar); "
        f"half of them take under {_lead(summary)}, the median DORA scores "
        f"({band_badge(summary['bands']['overall'])} overall). **{waiting / total:.0%}** of that time is "
        f"waiting — most of it *{stage_label(biggest)}* ({format_duration(stages[biggest])}). Flow efficiency "
        f"{'—' if eff is None else f'{eff:.0%}'}: working harder speeds up only the blue part."
    )


def trunk() -> str:
    base, trunk_based = state.baseline_scenario(), _shipped("trunk_based")
    if trunk_based is None:
        return "The trunk_based scenario is not shipped with this installation."
    summaries = {
        base.name: _summary(base, "Simulating the baseline"),
        trunk_based.name: _summary(trunk_based, "Simulating trunk-based development"),
    }
    charts.show(stage_bars(summaries).properties(height=CHART_HEIGHT - 60))
    a, b = summaries.values()
    before, after = (lessons.release_facts(_outcomes(s), _weeks(s)) for s in (base, trunk_based))
    text = (
        f"Mean lead time **{format_duration(_mean_lead(a))} → {format_duration(_mean_lead(b))}** (median "
        f"{_lead(a)} → {_lead(b)}): changes no longer wait on long branches. But the change failure rate "
        f"goes **{_cfr(a)} → {_cfr(b)}**"
    )
    if before["size"] and after["size"] and before["failed"] is not None and after["failed"] is not None:
        text += (
            f": the weekly release still ships one big batch (about {after['size']:.0f} changes; "
            f"{before['failed']:.0%} → {after['failed']:.0%} of releases fail)"
        )
        if (
            b["metrics"]["change_failure_rate"]["p50"]
            and a["metrics"]["change_failure_rate"]["p50"]
            and b["metrics"]["change_failure_rate"]["p50"] > a["metrics"]["change_failure_rate"]["p50"]
            and (after["hotfixes_per_week"] or 0) < (before["hotfixes_per_week"] or 0)
        ):
            text += (
                f", and feature flags switch a failure off without a hotfix deployment — "
                f"{before['hotfixes_per_week']:.1f} → {after['hotfixes_per_week']:.1f} hotfixes a week — so "
                f"fewer small, safe deployments dilute the rate"
            )
    return text + ". One lever moves one part of the flow."


def trusted_ci() -> str:
    base = state.baseline_scenario()
    fast = base.with_values(FAST_CI, source="workshop")
    names = (base.name, f"{base.name} + fast trusted CI")
    a = compute.run(
        base, _reps(), state.run_settings()["seed"], state.benchmark(), label="Simulating the baseline"
    )
    b = compute.run(
        fast, _reps(), state.run_settings()["seed"], state.benchmark(), label="Simulating fast CI"
    )
    values = {
        names[0]: [r.get("change_failure_rate") for r in a["replications"]],
        names[1]: [r.get("change_failure_rate") for r in b["replications"]],
    }
    charts.show(charts.distribution_chart("change_failure_rate", values, state.benchmark()))
    sa, sb = a["summary"], b["summary"]
    return (
        f"A 10-minute suite on 8 runners that fails for no reason 1.5 % of the time (instead of "
        f"{base.ci.test_suite_minutes:g} minutes on {base.ci.runners}, {base.ci.flaky_rate:.0%} flaky) is run "
        f"instead of skipped, and catches defects before users do: change failure rate **{_cfr(sa)} → "
        f"{_cfr(sb)}** (the ◆ medians). The team did not try harder; the suite became worth waiting for."
    )


def _same_process(a: Scenario, b: Scenario) -> bool:
    """Whether two scenarios make and catch defects alike (they differ only in releasing and operating)."""
    return all(k.startswith(("release.", "operations.")) for k in changed_keys(a, b))


def small_batches() -> str:
    names = [
        n
        for n in (st.session_state["choice.baseline"], "small_batch", "elite")
        if n in state.scenario_names()
    ]
    names = list(dict.fromkeys(names))
    scenarios = {name: state.with_run_settings(state.resolve(name)) for name in names}
    outcomes = {name: _outcomes(scenario) for name, scenario in scenarios.items()}
    processes: list[list[str]] = []  # scenarios that share one p: the same defects and tests, other releases
    for name in names:
        group = next((g for g in processes if _same_process(scenarios[g[0]], scenarios[name])), None)
        if group is None:
            processes.append([name])
        else:
            group.append(name)
    risk: dict[str, float | None] = {}
    curves = []
    for group in processes:
        planned = pd.concat([outcomes[n][~outcomes[n]["hotfix"]] for n in group])
        p = lessons.fit_change_risk(planned["size"], planned["failed"])
        for name in group:
            risk[name] = p
        if p is not None and len(planned):
            top = max(float(planned["size"].max()), 2.0) * 1.4
            sizes = sorted({1.0, *[1.12**k for k in range(1, 80) if 1.12**k <= top], top})
            curves += [{"scenario": group[0], "size": n, "risk": 1 - (1 - p) ** n} for n in sizes]
    groups, facts = [], {}
    for name in names:
        planned = outcomes[name][~outcomes[name]["hotfix"]]
        facts[name] = lessons.release_facts(outcomes[name], _weeks(scenarios[name]))
        for row in lessons.size_groups(planned).to_dict("records"):
            groups.append(
                {
                    **row,
                    "scenario": name,
                    "text": f"{row['count']} releases of {row['bin']} changes: {row['failed']:.0%} failed",
                }
            )
    if not groups:
        return "No releases in these runs."
    colour = alt.Color(
        "scenario:N",
        scale=alt.Scale(domain=names, range=[_colour(n, i) for i, n in enumerate(names)]),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    x = alt.X(
        "size:Q",
        scale=alt.Scale(type="log", domain=[1, max(g["size"] for g in groups) * 1.5], nice=False),
        axis=alt.Axis(
            title="changes in one release (log scale)",
            values=[1, 2, 5, 10, 20, 50, 100, 200, 500],
            format="d",
            grid=False,
        ),
    )
    y = alt.Y(
        "risk:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(title="releases that fail", format=".0%")
    )
    lines = (
        alt.Chart(pd.DataFrame(curves))
        .mark_line(strokeDash=[5, 3], strokeWidth=2)
        .encode(x=x, y=y, color=colour)
    )
    dots = (
        alt.Chart(pd.DataFrame(groups))
        .mark_circle(opacity=0.9, stroke="white", strokeWidth=1)
        .encode(
            x="size:Q",
            y=alt.Y("failed:Q"),
            color=colour,
            size=alt.Size("count:Q", scale=alt.Scale(range=[40, 400]), legend=None),
            tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("text:N", title="releases")],
        )
    )
    charts.show(
        alt.layer(lines, dots).properties(
            title=f"Releases by size: ● simulated ({_log_reps()} replications), - - 1 − (1 − p)ⁿ",
            height=CHART_HEIGHT,
        )
    )
    parts = [
        f"*{n}*'s carry about **{f['size']:.0f}** and **{f['failed']:.0%}** fail"
        for n in names
        if (f := facts[n])["size"] is not None and f["failed"] is not None
    ]
    shared = [g for g in processes if len(g) > 1]
    same = ""
    if shared and risk[shared[0][0]] is not None:
        same = (
            f" {' and '.join(shared[0])} make defects alike — one line, p ≈ {risk[shared[0][0]]:.1%} a change "
            f"— so smaller releases make each failure small, easy to find and quick to undo."
        )
    cfr = " → ".join(_cfr(_summary(scenarios[n], f"Simulating {n}")) for n in names)
    return (
        "Dots: simulated releases by size; dashed: 1 − (1 − p)ⁿ fitted to them. Releases: "
        + "; ".join(parts)
        + "."
        + same
        + f" The change failure rate ({cfr}) moves less: every hotfix is a deployment too, and "
        "hotfixes rarely fail."
    )


def deploys_and_rollback() -> str:
    name = EXPERT_BASE if EXPERT_BASE in state.scenario_names() else st.session_state["choice.baseline"]
    base = state.with_run_settings(state.resolve(name))
    variants: list[tuple[str, dict[str, Any]]] = [
        (f"{e} expert{'s' if e > 1 else ''} on call", {"operations.experts": e}) for e in (1, 2, 3)
    ]
    variants.append(
        (
            "1 expert + automated rollback",
            {"operations.experts": 1, "operations.automated_rollback": True, "release.deploy": "automated"},
        )
    )
    rows = []
    for label, values in variants:
        ttr = _summary(base.with_values(values, source="workshop"), f"Simulating {label}")["metrics"][
            "time_to_restore_hours"
        ]
        if ttr["p50"] is not None:
            rows.append(
                {
                    "variant": label,
                    "p50": ttr["p50"],
                    "p10": ttr["p10"],
                    "p90": ttr["p90"],
                    "median": format_duration(ttr["p50"]),
                    "text": f"median {format_duration(ttr['p50'])} (p10–p90 {format_duration(ttr['p10'])} – "
                    f"{format_duration(ttr['p90'])})",
                }
            )
    if not rows:
        return "No failures to restore in these runs."
    data = pd.DataFrame(rows)
    y = alt.Y("variant:N", sort=None, title=None, axis=alt.Axis(labelLimit=220))
    lo, hi = float(data.p10.min()) / 1.5, float(data.p90.max()) * 2.5
    x_scale = alt.Scale(type="log", domain=[lo, hi], nice=False)
    axis = charts.metric_axis(
        "time_to_restore_hours", True, lo, hi, title="time to restore (● median, p10–p90)"
    )
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=120, color=OTHER_COLOUR, opacity=1)
        .encode(
            x=alt.X("p50:Q", scale=x_scale, axis=axis), y=y, tooltip=[alt.Tooltip("text:N", title="restore")]
        )
    )
    whiskers = (
        alt.Chart(data)
        .mark_rule(color=OTHER_COLOUR, strokeWidth=3)
        .encode(x=alt.X("p10:Q", scale=x_scale), x2="p90:Q", y=y)
    )
    labels = (
        alt.Chart(data)
        .mark_text(align="left", dx=8, dy=-12, fontSize=12, fontWeight="bold")
        .encode(x=alt.X("p50:Q", scale=x_scale), y=y, text="median:N")
    )
    charts.show(
        alt.layer(whiskers, dots, labels).properties(
            title=f"Time to restore in {name}, daily releases ({_reps()} replications each)",
            height=CHART_HEIGHT - 40,
        )
    )
    first, last = rows[0], rows[-1]
    heroes = rows[1:-1]
    shorter = all(b["p50"] <= a["p50"] for a, b in itertools.pairwise(rows[:-1]))
    more = ", ".join(f"{r['variant'].removesuffix(' on call')}: {r['median']}" for r in heroes)
    heroes_text = (
        f"More heroes shorten the queue ({more})"
        if shorter and heroes
        else f"More heroes help only so much ({more})"
        if heroes
        else ""
    )
    return (
        f"With daily releases (*{name}*, step 4) failures come often, and with one expert they queue "
        f"behind each other: median restore **{first['median']}**. {heroes_text}; one-click deploys with "
        f"automated rollback remove the queue: **{last['median']}**, and nobody is woken up."
    )


def _trio_chart(summaries: dict[str, dict]) -> alt.TopLevelMixin:
    """Baseline, heroics and elite side by side on what a team ships and the four keys (values written)."""
    measures = [
        ("changes shipped a week", lambda s: changes_per_week(s), lambda v: f"{v:.0f}"),
        (
            "median lead time",
            lambda s: s["metrics"]["lead_time_hours"]["p50"],
            lambda v: format_metric("lead_time_hours", v),
        ),
        (
            "change failure rate",
            lambda s: s["metrics"]["change_failure_rate"]["p50"],
            lambda v: format_metric("change_failure_rate", v),
        ),
        (
            "time to restore",
            lambda s: s["metrics"]["time_to_restore_hours"]["p50"],
            lambda v: format_metric("time_to_restore_hours", v),
        ),
    ]
    names = list(summaries)
    colour = alt.Color(
        "scenario:N",
        scale=alt.Scale(domain=names, range=[_colour(n, i) for i, n in enumerate(names)]),
        legend=None,
    )
    panels = []
    for title, value, text in measures:
        rows = [
            {"scenario": n, "value": float(v), "text": text(v)}
            for n in names
            if (v := value(summaries[n])) is not None
        ]
        if not rows:
            continue
        data = pd.DataFrame(rows)
        top = max(data["value"].max() * 1.45, 1e-9)
        base = alt.Chart(data).encode(
            y=alt.Y(
                "scenario:N", sort=names, title=None, axis=alt.Axis(labelLimit=90, ticks=False, domain=False)
            )
        )
        bars = base.mark_bar(height=16).encode(
            x=alt.X("value:Q", scale=alt.Scale(domain=[0, top], nice=False), axis=None),
            color=colour,
            tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("text:N", title=title)],
        )
        labels = base.mark_text(align="left", dx=4, fontSize=12).encode(x="value:Q", text="text:N")
        panels.append(alt.layer(bars, labels).properties(title=title, width=170, height=24 * len(names)))
    rows_of_two = [alt.hconcat(*panels[i : i + 2], spacing=18) for i in range(0, len(panels), 2)]
    return alt.vconcat(*rows_of_two, spacing=10).properties(title="Heroics or process")


def _overtime_chart(base: Scenario) -> tuple[alt.TopLevelMixin, str]:
    """What longer weeks alone do to the baseline (nothing else changed): output and failure rate by hours."""
    rows = []
    for level in OVERTIME_LEVELS:
        scenario = base.with_values({"team.overtime": level}, source="workshop")
        summary = _summary(scenario, f"Overtime {level:g}x")
        rows.append(
            {
                "hours": hours_per_week(scenario),
                "shipped": changes_per_week(summary) or 0.0,
                "cfr": summary["metrics"]["change_failure_rate"]["p50"] or 0.0,
                "lead": summary["metrics"]["lead_time_hours"]["p50"] or 0.0,
            }
        )
    data = pd.DataFrame(rows)
    first, last = rows[0], rows[-1]
    gain = last["shipped"] / first["shipped"] - 1 if first["shipped"] else 0.0
    x = alt.X(
        "hours:Q",
        title="hours a week per engineer",
        scale=alt.Scale(domain=[data.hours.min() - 2, data.hours.max() + 2]),
        axis=alt.Axis(values=list(data.hours), format="d"),
    )
    panels = []
    for column, title, fmt, top in (
        ("shipped", "changes shipped a week", "d", data.shipped.max() * 1.2),
        ("cfr", "change failure rate", ".0%", min(1.0, data.cfr.max() * 1.25 + 0.02)),
    ):
        panels.append(
            alt.Chart(data)
            .mark_line(point=alt.OverlayMarkDef(color=OTHER_COLOUR, size=60), color=OTHER_COLOUR)
            .encode(
                x=x,
                y=alt.Y(
                    f"{column}:Q", title=title, axis=alt.Axis(format=fmt), scale=alt.Scale(domain=[0, top])
                ),
                tooltip=[alt.Tooltip("hours:Q"), alt.Tooltip(f"{column}:Q", title=title, format=fmt)],
            )
            .properties(width=185, height=140)
        )
    heading = (
        f"{gain:+.0%} changes a week for {last['hours'] - first['hours']:.0f} more hours each — and the change "
        f"failure rate {movement('change_failure_rate', first['cfr'], last['cfr'])}; median lead time "
        f"{movement('lead_time_hours', first['lead'], last['lead'])}."
    )
    return alt.hconcat(*panels, spacing=24).properties(
        title=f"{base.name}, longer weeks only ({_reps()} replications a level)"
    ), heading


def heroics() -> str:
    trio: list[str] = [n for n in ("baseline", "heroics", "elite") if n in state.scenario_names()]
    if st.session_state["choice.baseline"] in state.scenario_names():
        trio = list(dict.fromkeys([st.session_state["choice.baseline"], *trio[1:]]))
    summaries: dict[str, dict] = {
        name: _summary(state.with_run_settings(state.resolve(name)), f"Simulating {name}") for name in trio
    }
    charts.show(_trio_chart(summaries), height=CHART_HEIGHT + 50)
    base_name = trio[0]
    with st.expander(f"What longer weeks alone do to {base_name}"):
        chart, heading = _overtime_chart(state.baseline_scenario())
        st.markdown(f"**{heading}**")
        charts.show(chart, height=260)
    a = summaries[base_name]
    lines = []
    for name in trio[1:]:
        s, scenario = summaries[name], state.with_run_settings(state.resolve(name))
        out_a, out_b = changes_per_week(a), changes_per_week(s)
        shipped = (
            f"ships {abs(out_b / out_a - 1):.0%} {'more' if out_b >= out_a else 'fewer'} changes a week"
            if out_a and out_b
            else "ships"
        )
        lines.append(
            f"*{name}* ({hours_per_week(scenario):.0f}-hour weeks, {band_badge(s['bands']['overall'])}) "
            f"{shipped}; median lead time {movement('lead_time_hours', a['metrics']['lead_time_hours']['p50'] or 0, s['metrics']['lead_time_hours']['p50'] or 0)}"
            f", change failure rate {movement('change_failure_rate', a['metrics']['change_failure_rate']['p50'] or 0, s['metrics']['change_failure_rate']['p50'] or 0)}"
        )
    return (
        f"Against *{base_name}*: " + "; ".join(lines) + ". Heroics keeps the process and asks people for "
        "more; elite changes the process — and ships more with normal weeks."
    )


def _cfr_value(value: float) -> str:
    return format_metric("change_failure_rate", value)


STEPS = (
    Step(
        "diagnose",
        "Diagnose the baseline",
        "1 · Diagnose",
        "Before changing anything, see where a change's time goes between *done* and *in production*.",
        "A change is finished today. How many days until customers have it — and on how many of those days is "
        "anyone working on it?",
        diagnose,
    ),
    Step(
        "trunk",
        "Trunk-based flow",
        "2 · Trunk-based",
        "Merge every change within hours instead of holding it on a long-lived branch.",
        "If changes stop waiting ten days on branches, how much sooner do users get them? Does anything else get "
        "better?",
        trunk,
    ),
    Step(
        "ci",
        "Trusted CI",
        "3 · Trusted CI",
        "A fast, reliable test suite gets run — and a suite that runs catches defects before users do.",
        "Your suite takes an hour and fails one run in ten for no reason. What do people do about it — and what "
        "does that cost in production?",
        trusted_ci,
    ),
    Step(
        "batches",
        "Small batches",
        "4 · Small batches",
        "A release fails if any of its changes does, so its risk grows with every change it carries.",
        "If one change in twelve reaches users with a defect, what share of weekly releases of 75 changes fail? "
        "And of daily releases of 9?",
        small_batches,
    ),
    Step(
        "deploys",
        "One-click deploys with rollback",
        "5 · Rollback",
        "Restoring service should not depend on a hero: health checks roll a bad deployment back in minutes.",
        "With daily releases, two failures land in one afternoon and one person can fix them. How long does the "
        "second wait? What would a second hero change — and automated rollback?",
        deploys_and_rollback,
        scenario=EXPERT_BASE,
    ),
    Step(
        "heroics",
        "Process vs heroics",
        "6 · Heroics",
        "Longer weeks add output, but every change still goes through the same branches, queues and big "
        "batches: the metrics that matter barely move.",
        "Would you rather give the team 60-hour weeks and a second hero on call, or the four practices of this "
        "workshop? Put a number on each.",
        heroics,
    ),
)
STEP_KEYS = tuple(step.key for step in STEPS)


def _go(offset: int) -> None:
    index = STEP_KEYS.index(st.session_state.get("learn.step", STEP_KEYS[0]))
    st.session_state["learn.step"] = STEP_KEYS[max(0, min(len(STEPS) - 1, index + offset))]


def _reveal(key: str) -> None:
    st.session_state.setdefault("learn.revealed", set()).add(key)


def assumptions_table(scenario: Scenario) -> None:
    with st.expander(f"Assumptions behind the numbers ({scenario.name})"):
        st.markdown(
            "Every parameter, its unit and where it comes from: **measured**, **published** (with a "
            "citation) or **assumed** (a judgement you can change in Compare)."
        )
        rows = pd.DataFrame(parameter_table(scenario))
        rows["value"] = rows["value"].map(
            lambda v: (
                ("on" if v else "off")
                if isinstance(v, bool)
                else f"{v:g}"
                if isinstance(v, float)
                else str(v)
            )
        )
        rows = rows.rename(columns={"key": "parameter", "cite": "citation"})
        st.dataframe(
            rows[["parameter", "value", "unit", "source", "citation", "meaning"]],
            hide_index=True,
            width="stretch",
            height=360,
        )
        st.markdown(
            "The model's fixed constants: shapes of distributions and clock times, the same in every "
            "scenario (those a team could question are parameters above)."
        )
        st.dataframe(pd.DataFrame(constants_table()), hide_index=True, width="stretch")


def _step_scenario(step: Step) -> Scenario:
    if step.scenario and step.scenario in state.scenario_names():
        return state.with_run_settings(state.resolve(step.scenario))
    return state.baseline_scenario()


def render() -> None:
    ss = st.session_state
    if ss.get("learn.step") not in STEP_KEYS:
        ss["learn.step"] = STEP_KEYS[0]
    shorts = {step.key: step.short for step in STEPS}
    st.segmented_control(
        "Workshop step",
        STEP_KEYS,
        format_func=lambda k: shorts.get(k, str(k)),
        key="learn.step",
        label_visibility="collapsed",
        required=True,
        default=ss["learn.step"],
    )
    number = STEP_KEYS.index(ss["learn.step"]) + 1
    step = STEPS[number - 1]
    st.markdown(f"#### Step {number} of {len(STEPS)}: {step.title}")
    # on a projector the chart's toolbar would cover the question above it
    st.markdown(f"**The idea.** {step.idea}\n\n{HIDE_TOOLBARS}", unsafe_allow_html=True)
    st.info(
        f"**Ask the room — everyone writes down a guess first.** {step.question}",
        icon=":material/record_voice_over:",
    )
    revealed = step.key in ss.get("learn.revealed", set())
    if not revealed:
        st.button(
            "Run it",
            type="primary",
            key=f"learn.run.{step.key}",
            on_click=_reveal,
            args=(step.key,),
            icon=":material/play_arrow:",
        )
    else:
        chart, talk = st.columns([3, 2], gap="medium")
        with chart:
            said = step.show()
        talk.success(f"**Discuss.** {said}", icon=":material/forum:")
    left, middle, right = st.columns([1, 4, 1])
    left.button(
        "← Previous", key="learn.prev", on_click=_go, args=(-1,), disabled=number == 1, width="stretch"
    )
    middle.caption(
        f"Six steps of about {MINUTES_PER_STEP} minutes: 45 minutes with the introduction and close."
    )
    right.button(
        "Next →", key="learn.next", on_click=_go, args=(1,), disabled=number == len(STEPS), width="stretch"
    )
    assumptions_table(_step_scenario(step))
