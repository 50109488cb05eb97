"""Altair charts. Pure functions from plain data to charts, so they can be tested without a server.

Band regions and thresholds come from :data:`sim.metrics.bands.CUTOFFS`; band colours from :mod:`dorasim_app.style`,
and every coloured region also carries its band word.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd

from dorasim_app.style import (
    BAND_COLOURS,
    HIGHER_IS_BETTER,
    LOG_SCALE_METRICS,
    METRIC_BAND_KEY,
    METRIC_LABELS,
    METRIC_UNITS,
    SCENARIO_COLOURS,
    WAITING_COLOUR,
    WORKING_COLOUR,
    band_word,
    stage_label,
)
from sim.metrics.bands import BANDS, CUTOFFS
from sim.metrics.registry import format_duration, format_metric
from sim.model.stages import ACTIVE_STAGES

# Streamlit sizes a chart element by its own height argument, not the Vega-Lite one: the room
# around the plot (title, axis, a legend below) is added here.
CHART_CHROME_PX = 130
DEFAULT_HEIGHT_PX = 300


def display_height(chart: alt.TopLevelMixin) -> int:
    """Pixels the whole chart needs: the plot heights set with ``properties`` plus title, axis and legend."""
    if isinstance(chart, alt.VConcatChart):
        return sum(display_height(part) for part in chart.vconcat) - CHART_CHROME_PX // 3
    height = getattr(chart, "height", alt.Undefined)
    return (height if isinstance(height, int) else DEFAULT_HEIGHT_PX) + CHART_CHROME_PX


def show(chart: alt.TopLevelMixin) -> None:
    """Draw a chart across its column at the height it asks for.

    The Vega-Lite spec is built without Altair's JSON-schema validation, which costs more than the rest of a
    rerun together (the charts here are fixed in code; ``tests/app`` validates every one of them).
    """
    import streamlit as st

    st.vega_lite_chart(chart.to_dict(validate=False), width="stretch", height=display_height(chart))


MAX_LABELLED_INCIDENTS = 30

BAND_SCALE = alt.Scale(domain=[band_word(b) for b in BANDS], range=[BAND_COLOURS[b] for b in BANDS])
_FLOOR = {"deployment_frequency_per_day": 1e-3, "lead_time_hours": 0.05, "time_to_restore_hours": 0.01}


def _axis_title(key: str, log: bool) -> str:
    unit = {"deployment_frequency_per_day": "deployments per day", "lead_time_hours": "hours",
            "time_to_restore_hours": "hours"}.get(key, "share")
    return f"{unit} (log scale)" if log else unit


def band_regions(key: str, lo: float, hi: float, benchmark: str = "2023") -> list[dict[str, Any]]:
    """Contiguous band intervals of a key metric clipped to [lo, hi] (empty for rework rate)."""
    band_key = METRIC_BAND_KEY.get(key)
    if band_key is None:
        return []
    cut = CUTOFFS[benchmark][band_key]
    if key in HIGHER_IS_BETTER:
        edges = [(cut.elite, math.inf), (cut.high, cut.elite), (cut.medium, cut.high), (-math.inf, cut.medium)]
    else:
        edges = [(-math.inf, cut.elite), (cut.elite, cut.high), (cut.high, cut.medium), (cut.medium, math.inf)]
    rows = []
    for band, (start, end) in zip(BANDS, edges):
        start, end = max(start, lo), min(end, hi)
        if start < end:
            rows.append({"band": band_word(band), "start": start, "end": end})
    return rows


def thresholds(key: str, benchmark: str = "2023") -> list[dict[str, Any]]:
    """The three cut-offs of a key metric with a readable label each."""
    band_key = METRIC_BAND_KEY.get(key)
    if band_key is None:
        return []
    cut = CUTOFFS[benchmark][band_key]
    if key in HIGHER_IS_BETTER:
        op = "≥"
    else:
        op = "≤" if cut.inclusive else "<"
    return [{"value": value, "band": band_word(band), "label": f"{band_word(band)}: {op} {format_metric(key, value)}"}
            for band, value in zip(BANDS[:3], (cut.elite, cut.high, cut.medium))]


def _domain(key: str, values: Sequence[float], benchmark: str, log: bool) -> tuple[float, float]:
    cuts = [t["value"] for t in thresholds(key, benchmark)]
    pool = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if log:
        floor = _FLOOR.get(key, 1e-3)
        pool = [max(v, floor) for v in pool]
        lo, hi = min([*pool, *cuts]), max([*pool, *cuts])
        return lo / 2, hi * 2
    hi = max([*pool, *cuts, 0.05])
    return 0.0, min(1.0, hi * 1.15) if key.endswith("_rate") else hi * 1.15


def _band_layers(key: str, lo: float, hi: float, benchmark: str, x_scale: alt.Scale,
                 height_labels: bool = True) -> list[alt.Chart]:
    regions = pd.DataFrame(band_regions(key, lo, hi, benchmark))
    if regions.empty:
        return []
    log = x_scale.type == "log"
    regions["middle"] = [math.sqrt(a * b) if log else (a + b) / 2 for a, b in zip(regions.start, regions.end)]
    base = alt.Chart(regions)
    rect = base.mark_rect(opacity=0.13).encode(
        x=alt.X("start:Q", scale=x_scale), x2="end:Q",
        color=alt.Color("band:N", scale=BAND_SCALE, legend=None),
        tooltip=[alt.Tooltip("band:N", title="band")],
    )
    layers = [rect]
    if height_labels:
        layers.append(base.mark_text(baseline="top", dy=2, fontWeight="bold", fontSize=11).encode(
            x=alt.X("middle:Q", scale=x_scale), y=alt.value(0), text="band:N",
            color=alt.Color("band:N", scale=BAND_SCALE, legend=None)))
    cuts = pd.DataFrame(thresholds(key, benchmark))
    cuts = cuts[(cuts.value > lo) & (cuts.value < hi)]
    if not cuts.empty:
        layers.append(alt.Chart(cuts).mark_rule(strokeDash=[4, 3], color="#555").encode(
            x=alt.X("value:Q", scale=x_scale), tooltip=[alt.Tooltip("label:N", title="threshold")]))
    return layers


def distribution_chart(key: str, values: Mapping[str, Sequence[float | None]], benchmark: str = "2023"
                       ) -> alt.LayerChart:
    """Each replication's value of one metric, one row per scenario, over the band regions."""
    log = key in LOG_SCALE_METRICS
    rows = []
    for name, series in values.items():
        for v in series:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            shown = max(v, _FLOOR.get(key, 0.0)) if log else v
            rows.append({"scenario": name, "value": v, "shown": shown, "text": format_metric(key, v)})
    data = pd.DataFrame(rows, columns=["scenario", "value", "shown", "text"])
    lo, hi = _domain(key, data["shown"].tolist(), benchmark, log)
    x_scale = alt.Scale(type="log", domain=[lo, hi]) if log else alt.Scale(domain=[lo, hi])
    names = list(values)
    colour = alt.Color("scenario:N", scale=alt.Scale(domain=names, range=list(SCENARIO_COLOURS)[: len(names)]),
                       legend=None)  # the rows are labelled with the scenario names
    y = alt.Y("scenario:N", sort=names, title=None)
    points = alt.Chart(data).mark_tick(thickness=2, size=22, opacity=0.75).encode(
        x=alt.X("shown:Q", scale=x_scale, title=_axis_title(key, log)), y=y, color=colour,
        tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("text:N", title="value")])
    medians = data.groupby("scenario", as_index=False)["shown"].median()
    median_marks = alt.Chart(medians).mark_point(shape="diamond", size=140, filled=True, color="black").encode(
        x=alt.X("shown:Q", scale=x_scale), y=y, tooltip=[alt.Tooltip("scenario:N"),
                                                         alt.Tooltip("shown:Q", title="median", format=".3g")])
    layers = [*_band_layers(key, lo, hi, benchmark, x_scale), points, median_marks]
    return alt.layer(*layers).properties(height=60 + 40 * len(names),
                                         title=f"{METRIC_LABELS[key]} — each replication (◆ median)")


def waterfall_chart(breakdown: Mapping[str, float], title: str) -> alt.Chart:
    """Where a change's lead time goes, stage after stage (a waterfall of mean hours per change)."""
    total = sum(breakdown.values())
    in_days = total >= 72
    scale = 24.0 if in_days else 1.0
    unit = "days" if in_days else "hours"
    rows, t = [], 0.0
    for stage, hours in breakdown.items():
        rows.append({"stage": stage_label(stage), "start": t / scale, "end": (t + hours) / scale,
                     "kind": "working on it" if stage in ACTIVE_STAGES else "waiting",
                     "text": format_duration(hours) if hours > 0 else "—",
                     "share": hours / total if total > 0 else 0.0})
        t += hours
    rows.append({"stage": "mean lead time", "start": 0.0, "end": total / scale, "kind": "total",
                 "text": format_duration(total), "share": 1.0})
    data = pd.DataFrame(rows)
    order = data["stage"].tolist()
    colour = alt.Color("kind:N", scale=alt.Scale(domain=["waiting", "working on it", "total"],
                                                 range=[WAITING_COLOUR, WORKING_COLOUR, "#444"]),
                       legend=alt.Legend(title=None, orient="bottom"))
    base = alt.Chart(data).encode(y=alt.Y("stage:N", sort=order, title=None, axis=alt.Axis(labelLimit=220)))
    bars = base.mark_bar(height=16).encode(
        x=alt.X("start:Q", title=f"{unit} since the change was finished"), x2="end:Q", color=colour,
        tooltip=[alt.Tooltip("stage:N"), alt.Tooltip("text:N", title="time"),
                 alt.Tooltip("share:Q", title="share of lead time", format=".0%")])
    labels = base.mark_text(align="left", dx=4, fontSize=11).encode(x="end:Q", text="text:N")
    return alt.layer(bars, labels).properties(title=title, height=230)


def fan_chart(series: Mapping[str, Sequence[Mapping[str, Any]]], key: str, benchmark: str = "2023",
              elite_line: bool = True, phases: Sequence[Mapping[str, Any]] = ()) -> alt.LayerChart:
    """Week-by-week p10–p90 band and median of one metric, one colour per plan; the Elite threshold drawn.

    ``series`` maps a plan name to rows ``{"week", "p10", "p50", "p90"}``; ``phases`` are optional
    markers ``{"week", "label", "name"}`` drawn where each phase starts.
    """
    rows = [{"plan": name, **{k: row.get(k) for k in ("week", "p10", "p50", "p90")}}
            for name, weekly in series.items() for row in weekly]
    data = pd.DataFrame(rows, columns=["plan", "week", "p10", "p50", "p90"]).dropna(subset=["p50"])
    log = key in LOG_SCALE_METRICS and not data.empty and float(data[["p10", "p50", "p90"]].min().min()) > 0
    cuts = thresholds(key, benchmark)
    values = [*data[["p10", "p90"]].stack().tolist(), *([cuts[0]["value"]] if cuts and elite_line else [])]
    if log:
        y_scale = alt.Scale(type="log", domain=[min(values) / 1.5, max(values) * 1.5])
    else:
        y_scale = alt.Scale(domain=[0, max([*values, 1e-9]) * 1.1])
    data["text"] = [f"p10 {format_metric(key, a)} · median {format_metric(key, b)} · p90 {format_metric(key, c)}"
                    for a, b, c in zip(data.p10, data.p50, data.p90)]
    names = list(series)
    palette = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1"]
    colour = alt.Color("plan:N", scale=alt.Scale(domain=names, range=palette[: len(names)]),
                       legend=alt.Legend(title=None, orient="bottom"))
    x = alt.X("week:Q", title="week", axis=alt.Axis(tickMinStep=1))
    area = alt.Chart(data).mark_area(opacity=0.2).encode(
        x=x, y=alt.Y("p10:Q", scale=y_scale, title=_axis_title(key, log)), y2="p90:Q", color=colour)
    line = alt.Chart(data).mark_line(point=True).encode(
        x=x, y=alt.Y("p50:Q", scale=y_scale), color=colour,
        tooltip=[alt.Tooltip("plan:N"), alt.Tooltip("week:Q"), alt.Tooltip("text:N", title="this week")])
    layers = [area, line]
    if cuts and elite_line:
        elite = pd.DataFrame([cuts[0]])
        layers.append(alt.Chart(elite).mark_rule(strokeDash=[5, 3], color=BAND_COLOURS["elite"], size=2).encode(
            y=alt.Y("value:Q", scale=y_scale), tooltip=[alt.Tooltip("label:N", title="threshold")]))
        layers.append(alt.Chart(elite).mark_text(align="left", dx=4, dy=-6, color=BAND_COLOURS["elite"],
                                                 fontWeight="bold").encode(
            x=alt.value(0), y=alt.Y("value:Q", scale=y_scale), text="label:N"))
    if phases:
        marks = pd.DataFrame(list(phases))
        layers.append(alt.Chart(marks).mark_rule(color="#999", strokeDash=[2, 2]).encode(
            x="week:Q", tooltip=[alt.Tooltip("name:N", title="phase starts")]))
        layers.append(alt.Chart(marks).mark_text(color="#777", dy=-4, baseline="bottom", fontSize=10).encode(
            x="week:Q", y=alt.value(10), text="label:N", tooltip=[alt.Tooltip("name:N", title="phase starts")]))
    return alt.layer(*layers).properties(title=METRIC_LABELS[key], height=230)


def probability_chart(series: Mapping[str, Sequence[Mapping[str, Any]]], band: str = "elite") -> alt.Chart:
    """P(overall band = ``band``) per week, one line per plan."""
    rows = [{"plan": name, "week": row["week"], "p": row["band_probabilities"].get(band, 0.0)}
            for name, weekly in series.items() for row in weekly]
    data = pd.DataFrame(rows, columns=["plan", "week", "p"])
    names = list(series)
    palette = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1"]
    return alt.Chart(data).mark_line(point=True, interpolate="monotone").encode(
        x=alt.X("week:Q", title="week", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("p:Q", title=f"P({band_word(band)})", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("plan:N", scale=alt.Scale(domain=names, range=palette[: len(names)]),
                        legend=alt.Legend(title=None, orient="bottom")),
        tooltip=[alt.Tooltip("plan:N"), alt.Tooltip("week:Q"), alt.Tooltip("p:Q", title="probability", format=".0%")],
    ).properties(title=f"Probability of being {band_word(band)} overall, week by week", height=230)


def timeline_charts(changes: pd.DataFrame, deployments: pd.DataFrame, incidents: pd.DataFrame,
                    start: pd.Timestamp, end: pd.Timestamp) -> list[alt.Chart]:
    """One replication on a shared time axis: changes finished per day; deployments placed and sized by the
    changes they ship; incidents as bars from when they began to hurt users to their restore."""
    x = alt.X("time:T", title=None, scale=alt.Scale(domain=[start.isoformat(), end.isoformat()]))
    # the logs also hold changes finished before the window that first shipped inside it
    in_window = changes[(changes["time_created"] >= start) & (changes["time_created"] < end)]
    per_day = (in_window.assign(time=in_window["time_created"].dt.floor("D")).groupby("time", as_index=False)
               .size().rename(columns={"size": "changes"}))
    work = alt.Chart(per_day).mark_bar(color="#9aa5b1", clip=True).encode(
        x=x, y=alt.Y("changes:Q", title="changes / day"),
        tooltip=[alt.Tooltip("time:T", title="day", format="%a %d %b"), alt.Tooltip("changes:Q")],
    ).properties(height=80, title="Changes finished per day")
    deps = deployments.assign(
        time=deployments["time_created"],
        kind=deployments["unplanned"].map({True: "unplanned (fix)", False: "planned"}),
        batch=deployments.get("batch_size", 1))
    deploy_marks = alt.Chart(deps[["time", "kind", "batch", "deploy_id"]]).mark_circle(opacity=0.55, clip=True).encode(
        x=x, y=alt.Y("batch:Q", title="changes shipped", scale=alt.Scale(type="symlog")),
        size=alt.Size("batch:Q", legend=None, scale=alt.Scale(range=[15, 700])),
        color=alt.Color("kind:N", scale=alt.Scale(domain=["planned", "unplanned (fix)"], range=["#2b6cb0", "#c05621"]),
                        legend=alt.Legend(title=None, orient="top")),
        tooltip=[alt.Tooltip("deploy_id:N", title="deployment"), alt.Tooltip("time:T", format="%a %d %b %H:%M"),
                 alt.Tooltip("batch:Q", title="changes"), alt.Tooltip("kind:N")],
    ).properties(height=150, title="Deployments (size and height: changes shipped)")
    hours = (incidents["time_resolved"] - incidents["time_created"]).dt.total_seconds() / 3600
    inc = incidents.assign(time=incidents["time_created"], lane="incidents",
                           stop=incidents["time_resolved"].fillna(end),
                           restore=[format_duration(h) if pd.notna(h) else "still open" for h in hours])
    inc = inc[["time", "stop", "lane", "restore", "incident_id", "deploy_id"]]
    tips = [alt.Tooltip("incident_id:N", title="incident"), alt.Tooltip("deploy_id:N", title="caused by"),
            alt.Tooltip("time:T", title="began", format="%a %d %b %H:%M"),
            alt.Tooltip("restore:N", title="time to restore")]
    bars = alt.Chart(inc).mark_bar(height=16, color="#d7301f", opacity=0.75, clip=True).encode(
        x=x, x2="stop:T", y=alt.Y("lane:N", title=None, axis=None), tooltip=tips)
    starts = alt.Chart(inc).mark_tick(color="#7f0000", thickness=2, size=22).encode(
        x=x, y=alt.Y("lane:N", axis=None), tooltip=tips)
    layers = [bars, starts]
    if len(inc) <= MAX_LABELLED_INCIDENTS:  # few enough to write each restore time above its bar
        layers.append(alt.Chart(inc).mark_text(dy=-16, fontSize=10, color="#7f0000").encode(
            x=x, y=alt.Y("lane:N", axis=None), text="restore:N"))
    incident_marks = alt.layer(*layers).properties(
        height=50, title="Incidents (bar: from first hurting users to restored; label: time to restore)")
    return [work, deploy_marks, incident_marks]


def line_chart(data: pd.DataFrame, x: str, y: str, colour: str | None, *, x_title: str, y_title: str,
               title: str, y_format: str | None = None, log_y: bool = False, tooltip_text: str | None = None,
               points: bool = True) -> alt.Chart:
    """A plain multi-line chart for the Learn view."""
    enc: dict[str, Any] = {
        "x": alt.X(f"{x}:Q", title=x_title),
        "y": alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=y_format) if y_format else alt.Axis(),
                   scale=alt.Scale(type="log") if log_y else alt.Scale()),
    }
    tips = [alt.Tooltip(f"{x}:Q", title=x_title)]
    if tooltip_text:
        tips.append(alt.Tooltip(f"{tooltip_text}:N", title=y_title))
    if colour:
        enc["color"] = alt.Color(f"{colour}:N", legend=alt.Legend(title=None, orient="bottom"))
        tips.insert(0, alt.Tooltip(f"{colour}:N"))
    return alt.Chart(data).mark_line(point=points).encode(**enc, tooltip=tips).properties(title=title, height=260)


def tornado_chart(rows: Sequence[Mapping[str, Any]], key: str, base: float | None = None) -> alt.LayerChart:
    """Swing of one metric's median when each lever goes from its low to its high setting."""
    data = pd.DataFrame([{"lever": r["key"], "low": r["low"], "high": r["high"], "swing": r["swing"]}
                         for r in rows if r.get("low") is not None and r.get("high") is not None],
                        columns=["lever", "low", "high", "swing"])
    order = data.sort_values("swing", ascending=False)["lever"].tolist()
    data["left"] = data[["low", "high"]].min(axis=1)
    data["right"] = data[["low", "high"]].max(axis=1)
    data["text"] = [f"{format_metric(key, a)} → {format_metric(key, b)}" for a, b in zip(data.low, data.high)]
    y = alt.Y("lever:N", sort=order, title=None, axis=alt.Axis(labelLimit=240))
    bars = alt.Chart(data).mark_bar(height=14, color="#9aa5b1").encode(
        x=alt.X("left:Q", title=f"median {METRIC_LABELS[key].lower()} ({METRIC_UNITS[key]})"), x2="right:Q", y=y,
        tooltip=[alt.Tooltip("lever:N"), alt.Tooltip("text:N", title="low → high setting")])
    ends = data.melt(id_vars=["lever"], value_vars=["low", "high"], var_name="setting", value_name="value")
    points = alt.Chart(ends).mark_point(filled=True, size=90).encode(
        x="value:Q", y=y, color=alt.Color("setting:N", scale=alt.Scale(domain=["low", "high"],
                                                                       range=["#c05621", "#2b6cb0"]),
                                          legend=alt.Legend(title="lever at its", orient="bottom")))
    layers = [bars, points]
    if base is not None:
        mark = pd.DataFrame([{"base": base, "text": f"base: {format_metric(key, base)}"}])
        layers.append(alt.Chart(mark).mark_rule(color="#333", strokeDash=[4, 3]).encode(
            x="base:Q", tooltip=[alt.Tooltip("text:N", title="median at the base")]))
    return alt.layer(*layers).properties(title=METRIC_LABELS[key], height=max(120, 28 * len(data)))
