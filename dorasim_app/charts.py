"""Altair charts. Pure functions from plain data to charts, so they can be tested without a server.

Band regions and thresholds come from :data:`sim.metrics.bands.CUTOFFS`; band colours from :mod:`dorasim_app.style`,
and every coloured region also carries its band word. Axes follow one rule: shares are written as
percentages, durations on a log axis carry named round ticks (``1 h``, ``1 day``, ``1 week``), counts have
whole-number ticks, and no log axis draws a dense grid.
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
    SCENARIO_COLOURS,
    WAITING_COLOUR,
    WORKING_COLOUR,
    band_word,
    stage_label,
)
from sim.metrics.bands import BANDS, CUTOFFS
from sim.metrics.registry import BY_KEY, format_duration, format_metric
from sim.model.stages import ACTIVE_STAGES
from sim.report.specs import LOG_FLOOR, PLAN_COLOURS, axis_title, log_axis, metric_domain

# Streamlit sizes a chart element by its own height argument, not the Vega-Lite one: the room
# around the plot (title, axis, a legend below) is added here.
CHART_CHROME_PX = 125
DEFAULT_HEIGHT_PX = 300
CHART_PADDING = {"left": 4, "top": 4, "right": 24, "bottom": 4}
PLAN_PALETTE = PLAN_COLOURS


def display_height(chart: alt.TopLevelMixin) -> int:
    """Pixels the whole chart needs: the plot heights set with ``properties`` plus title, axis and legend."""
    if isinstance(chart, alt.VConcatChart):
        return sum(display_height(part) for part in chart.vconcat) - CHART_CHROME_PX // 3
    if isinstance(chart, alt.HConcatChart):
        return max(display_height(part) for part in chart.hconcat) + CHART_CHROME_PX // 3
    height = getattr(chart, "height", alt.Undefined)
    return (height if isinstance(height, int) else DEFAULT_HEIGHT_PX) + CHART_CHROME_PX


def show(chart: alt.TopLevelMixin, height: int | None = None) -> None:
    """Draw a chart across its column at the height it asks for (or ``height`` pixels, title and axes included).

    The Vega-Lite spec is built without Altair's JSON-schema validation, which costs more than the rest of a
    rerun together (the charts here are fixed in code; ``tests/app`` validates every one of them).
    """
    import streamlit as st

    spec = chart.to_dict(validate=False)
    spec.setdefault("padding", CHART_PADDING)  # room for a date or tick label at the plot's right edge
    st.vega_lite_chart(spec, width="stretch", height=height or display_height(chart))


def share_axis(title: str) -> alt.Axis:
    return alt.Axis(title=title, format=".0%")


def metric_axis(key: str, log: bool, lo: float = 0.0, hi: float = 0.0, title: str | None = None) -> alt.Axis:
    """The axis of one metric's values: named log ticks, or percentages for shares."""
    text = axis_title(key, log) if title is None else title
    if log:
        return alt.Axis(title=text, **log_axis(key, lo, hi))
    if BY_KEY[key].kind == "share":
        return alt.Axis(title=text, format=".0%")
    return alt.Axis(title=text)


MIN_LABELLED_SHARE = 0.11  # a band region narrower than this share of the axis is not labelled (no overlaps)
BAND_SCALE = alt.Scale(domain=[band_word(b) for b in BANDS], range=[BAND_COLOURS[b] for b in BANDS])


def band_regions(key: str, lo: float, hi: float, benchmark: str = "2023") -> list[dict[str, Any]]:
    """Contiguous band intervals of a key metric clipped to [lo, hi] (empty for rework rate)."""
    band_key = METRIC_BAND_KEY.get(key)
    if band_key is None:
        return []
    cut = CUTOFFS[benchmark][band_key]
    if key in HIGHER_IS_BETTER:
        edges = [
            (cut.elite, math.inf),
            (cut.high, cut.elite),
            (cut.medium, cut.high),
            (-math.inf, cut.medium),
        ]
    else:
        edges = [
            (-math.inf, cut.elite),
            (cut.elite, cut.high),
            (cut.high, cut.medium),
            (cut.medium, math.inf),
        ]
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
    return [
        {
            "value": value,
            "band": band_word(band),
            "label": f"{band_word(band)}: {op} {format_metric(key, value)}",
        }
        for band, value in zip(BANDS[:3], (cut.elite, cut.high, cut.medium))
    ]


def _band_layers(key: str, lo: float, hi: float, benchmark: str, x_scale: alt.Scale) -> list[alt.Chart]:
    regions = pd.DataFrame(band_regions(key, lo, hi, benchmark))
    if regions.empty:
        return []
    log = x_scale.type == "log"
    span = math.log(hi / lo) if log else hi - lo
    regions["wide"] = [
        ((math.log(b / a) if log else b - a) / span) >= MIN_LABELLED_SHARE
        for a, b in zip(regions.start, regions.end)
    ]
    base = alt.Chart(regions)
    rect = base.mark_rect(opacity=0.13).encode(
        x=alt.X("start:Q", scale=x_scale),
        x2="end:Q",
        color=alt.Color("band:N", scale=BAND_SCALE, legend=None),
        tooltip=[alt.Tooltip("band:N", title="band")],
    )
    words = (
        alt.Chart(regions[regions.wide])
        .mark_text(baseline="top", align="left", dx=3, dy=2, fontWeight="bold", fontSize=11)
        .encode(
            x=alt.X("start:Q", scale=x_scale),
            y=alt.value(0),
            text="band:N",
            color=alt.Color("band:N", scale=BAND_SCALE, legend=None),
        )
    )
    return [rect, words]


def distribution_chart(
    key: str, values: Mapping[str, Sequence[float | None]], benchmark: str = "2023"
) -> alt.LayerChart:
    """Each replication's value of one metric, one row per scenario in its own colour, over the band regions.

    The band regions and the scenario ticks use separate colour scales (``resolve_scale``), so a tick is
    drawn in its scenario's colour whatever band it falls in.
    """
    log = key in LOG_SCALE_METRICS
    rows = []
    for name, series in values.items():
        for v in series:
            if v is None or (isinstance(v, float) and math.isnan(v)):
                continue
            shown = max(v, LOG_FLOOR.get(key, 0.0)) if log else v
            rows.append({"scenario": name, "value": v, "shown": shown, "text": format_metric(key, v)})
    data = pd.DataFrame(rows, columns=["scenario", "value", "shown", "text"])
    lo, hi = metric_domain(key, data["shown"].tolist(), benchmark, log)
    x_scale = alt.Scale(type="log", domain=[lo, hi]) if log else alt.Scale(domain=[lo, hi])
    names = list(values)
    colour = alt.Color(
        "scenario:N", scale=alt.Scale(domain=names, range=list(SCENARIO_COLOURS)[: len(names)]), legend=None
    )  # the rows are labelled with the scenario names
    y = alt.Y("scenario:N", sort=names, title=None, axis=alt.Axis(labelLimit=140, labelOverlap=False))
    points = (
        alt.Chart(data)
        .mark_tick(thickness=2, size=20, opacity=0.8)
        .encode(
            x=alt.X("shown:Q", scale=x_scale, axis=metric_axis(key, log, lo, hi)),
            y=y,
            color=colour,
            tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("text:N", title="value")],
        )
    )
    medians = data.groupby("scenario", as_index=False)["shown"].median()
    medians["text"] = [format_metric(key, v) for v in medians["shown"]]
    median_marks = (
        alt.Chart(medians)
        .mark_point(shape="diamond", size=130, filled=True, color="black")
        .encode(
            x=alt.X("shown:Q", scale=x_scale),
            y=y,
            tooltip=[alt.Tooltip("scenario:N"), alt.Tooltip("text:N", title="median")],
        )
    )
    layers = [*_band_layers(key, lo, hi, benchmark, x_scale), points, median_marks]
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(height=30 + 34 * len(names), title=f"{METRIC_LABELS[key]} — each replication (◆ median)")
    )


def waterfall_chart(
    breakdown: Mapping[str, float], title: str, axis_hours: float | None = None
) -> alt.TopLevelMixin:
    """Where a change's lead time goes, stage after stage (a waterfall of mean hours per change).

    ``axis_hours``: the longest lead time of the charts drawn side by side, so they share one unit and one
    axis (a bar of the same length is the same time)."""
    total = sum(breakdown.values())
    longest = max(total, axis_hours or 0.0)
    in_days = longest >= 72
    scale = 24.0 if in_days else 1.0
    unit = "days" if in_days else "hours"
    rows, t = [], 0.0
    for stage, hours in breakdown.items():
        rows.append(
            {
                "stage": stage_label(stage),
                "start": t / scale,
                "end": (t + hours) / scale,
                "kind": "working on it" if stage in ACTIVE_STAGES else "waiting",
                "text": format_duration(hours) if hours > 0 else "—",
                "share": hours / total if total > 0 else 0.0,
            }
        )
        t += hours
    rows.append(
        {
            "stage": "mean lead time",
            "start": 0.0,
            "end": total / scale,
            "kind": "total",
            "text": format_duration(total),
            "share": 1.0,
        }
    )
    data = pd.DataFrame(rows)
    order = data["stage"].tolist()
    colour = alt.Color(
        "kind:N",
        scale=alt.Scale(
            domain=["waiting", "working on it", "total"], range=[WAITING_COLOUR, WORKING_COLOUR, "#444"]
        ),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    base = alt.Chart(data).encode(
        y=alt.Y("stage:N", sort=order, title=None, axis=alt.Axis(labelLimit=220, labelOverlap=False))
    )
    bars = base.mark_bar(height=14).encode(
        x=alt.X(
            "start:Q",
            title=f"{unit} since the change was finished",
            scale=alt.Scale(nice=True, domain=[0, longest / scale * 1.25]),
        ),
        x2="end:Q",
        color=colour,
        tooltip=[
            alt.Tooltip("stage:N"),
            alt.Tooltip("text:N", title="time"),
            alt.Tooltip("share:Q", title="share of lead time", format=".0%"),
        ],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=11).encode(x="end:Q", text="text:N")
    return alt.layer(bars, labels).properties(title=title, height=24 * len(rows))


def fan_chart(
    series: Mapping[str, Sequence[Mapping[str, Any]]],
    key: str,
    benchmark: str = "2023",
    elite_line: bool = True,
    phases: Sequence[Mapping[str, Any]] = (),
) -> alt.TopLevelMixin:
    """Week-by-week p10–p90 band and median of one metric, one colour per plan; the Elite threshold drawn.

    ``series`` maps a plan name to rows ``{"week", "p10", "p50", "p90"}`` (rows without p10/p90, e.g. a
    week's pooled rate, draw the line only); ``phases`` are markers ``{"week", "label", "name"}`` drawn
    where each phase starts.
    """
    rows = [
        {"plan": name, **{k: row.get(k) for k in ("week", "p10", "p50", "p90")}}
        for name, weekly in series.items()
        for row in weekly
    ]
    data = pd.DataFrame(rows, columns=["plan", "week", "p10", "p50", "p90"]).dropna(subset=["p50"])
    banded = data.dropna(subset=["p10", "p90"])
    log = (
        key in LOG_SCALE_METRICS and not banded.empty and float(banded[["p10", "p50", "p90"]].min().min()) > 0
    )
    cuts = thresholds(key, benchmark)
    values = [
        *banded["p10"].tolist(),
        *banded["p90"].tolist(),
        *data["p50"].tolist(),
        *([cuts[0]["value"]] if cuts and elite_line else []),
    ]
    if log:
        lo, hi = min(values) / 1.5, max(values) * 1.5
        y_scale = alt.Scale(type="log", domain=[lo, hi])
    else:
        lo, hi = 0.0, max([*values, 1e-9]) * 1.1
        y_scale = alt.Scale(domain=[lo, hi])
    data["text"] = [
        f"median {format_metric(key, b)}"
        + ("" if pd.isna(a) else f" (p10–p90 {format_metric(key, a)} – {format_metric(key, c)})")
        for a, b, c in zip(data.p10, data.p50, data.p90)
    ]
    names = list(series)
    colour = alt.Color(
        "plan:N",
        scale=alt.Scale(domain=names, range=list(PLAN_PALETTE[: len(names)])),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    x = alt.X(
        "week:Q",
        title="week",
        axis=alt.Axis(tickMinStep=1, format="d"),
        scale=alt.Scale(domain=[0.8, max([*data["week"].tolist(), 1]) + 0.2], nice=False),
    )
    y_axis = metric_axis(key, log, lo, hi)
    layers: list[alt.Chart] = []
    if (
        not banded.empty
    ):  # the band takes its colour but not the legend: every legend shows a line with points
        area_colour = alt.Color(
            "plan:N", scale=alt.Scale(domain=names, range=list(PLAN_PALETTE[: len(names)])), legend=None
        )
        layers.append(
            alt.Chart(data.dropna(subset=["p10", "p90"]))
            .mark_area(opacity=0.2)
            .encode(x=x, y=alt.Y("p10:Q", scale=y_scale, axis=y_axis), y2="p90:Q", color=area_colour)
        )
    layers.append(
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y("p50:Q", scale=y_scale, axis=y_axis),
            color=colour,
            tooltip=[alt.Tooltip("plan:N"), alt.Tooltip("week:Q"), alt.Tooltip("text:N", title="this week")],
        )
    )
    if cuts and elite_line:
        elite = pd.DataFrame([cuts[0]])
        layers.append(
            alt.Chart(elite)
            .mark_rule(strokeDash=[5, 3], color=BAND_COLOURS["elite"], size=2)
            .encode(y=alt.Y("value:Q", scale=y_scale), tooltip=[alt.Tooltip("label:N", title="threshold")])
        )
        layers.append(
            alt.Chart(elite)
            .mark_text(align="right", dx=-4, dy=-7, color=BAND_COLOURS["elite"], fontWeight="bold")
            .encode(x=alt.value("width"), y=alt.Y("value:Q", scale=y_scale), text="label:N")
        )
    layers += phase_marks(phases, label_tooltip=True)
    return alt.layer(*layers).properties(title=METRIC_LABELS[key], height=210)


def phase_marks(phases: Sequence[Mapping[str, Any]], label_tooltip: bool = False) -> list[alt.Chart]:
    """A dashed rule and a numbered label where each plan phase starts (none without phases)."""
    if not phases:
        return []
    marks = pd.DataFrame(list(phases))
    tooltip = [alt.Tooltip("name:N", title="phase starts")]
    rule = (
        alt.Chart(marks)
        .mark_rule(color="#333", strokeDash=[5, 3], size=1.5)
        .encode(x="week:Q", tooltip=tooltip)
    )
    text = alt.Chart(marks).mark_text(
        color="#111", align="left", dx=3, baseline="top", fontSize=12, fontWeight="bold"
    )
    if label_tooltip:
        return [rule, text.encode(x="week:Q", y=alt.value(2), text="label:N", tooltip=tooltip)]
    return [rule, text.encode(x="week:Q", y=alt.value(2), text="label:N")]


def probability_chart(
    series: Mapping[str, Sequence[Mapping[str, Any]]],
    band: str = "elite",
    phases: Sequence[Mapping[str, Any]] = (),
) -> alt.TopLevelMixin:
    """P(overall band = ``band``) per week, one line per plan; phase starts marked."""
    rows = [
        {"plan": name, "week": row["week"], "p": row["band_probabilities"].get(band, 0.0)}
        for name, weekly in series.items()
        for row in weekly
    ]
    data = pd.DataFrame(rows, columns=["plan", "week", "p"])
    names = list(series)
    x = alt.X(
        "week:Q",
        title="week",
        axis=alt.Axis(tickMinStep=1, format="d"),
        scale=alt.Scale(domain=[0.8, max([*data["week"].tolist(), 1]) + 0.2], nice=False),
    )
    line = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(
                "p:Q",
                title=f"chance of {band_word(band)}",
                scale=alt.Scale(domain=[-0.03, 1.03], nice=False),
                axis=alt.Axis(format="%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0]),
            ),  # 0 % points sit on the axis
            color=alt.Color(
                "plan:N",
                scale=alt.Scale(domain=names, range=list(PLAN_PALETTE[: len(names)])),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("plan:N"),
                alt.Tooltip("week:Q"),
                alt.Tooltip("p:Q", title="probability", format=".0%"),
            ],
        )
    )
    layers: list[alt.Chart] = [line]
    layers += phase_marks(phases)
    return alt.layer(*layers).properties(
        title=f"Probability of being {band_word(band)} on all four keys, week by week", height=200
    )


def timeline_charts(
    changes: pd.DataFrame,
    deployments: pd.DataFrame,
    incidents: pd.DataFrame,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> list[alt.Chart | alt.LayerChart]:
    """One replication on one time axis, in three panels drawn one under the other: changes finished per day;
    deployments placed and sized by the changes they ship (a fix is an orange triangle, never smaller than a
    readable mark); incidents as bars from when they began to hurt users to their restore. The panels share
    the x domain, one date format and the width of their y axes, so their plot areas line up."""
    domain = [start.isoformat(), end.isoformat()]
    x_scale = alt.Scale(domain=domain)
    # the first and last date labels sit inside the plot instead of being cut at its edges
    axis = alt.Axis(
        format="%a %d %b", labelAngle=0, title=None, labelOverlap=True, grid=False, labelFlush=True
    )
    # only what happens in the shown span: a mark outside the axis's domain would widen the panel and its
    # dates would no longer line up with the panels above and below
    deployments = deployments[(deployments["time_created"] >= start) & (deployments["time_created"] < end)]
    incidents = incidents[(incidents["time_created"] >= start) & (incidents["time_created"] < end)]
    x = alt.X("time:T", scale=x_scale, axis=axis)
    y_width = 70  # every panel's y axis takes the same room, so the plot areas start at the same x
    in_window = changes[(changes["time_created"] >= start) & (changes["time_created"] < end)]
    per_day = (
        in_window.assign(time=in_window["time_created"].dt.floor("D"))
        .groupby("time", as_index=False)
        .size()
        .rename(columns={"size": "changes"})
    )
    work = (
        alt.Chart(per_day)
        .mark_bar(color="#9aa5b1")
        .encode(
            x=x,
            y=alt.Y(
                "changes:Q",
                title="changes",
                axis=alt.Axis(minExtent=y_width, maxExtent=y_width, tickMinStep=1, format="d"),
            ),
            tooltip=[alt.Tooltip("time:T", title="day", format="%a %d %b"), alt.Tooltip("changes:Q")],
        )
        .properties(height=70, title="Changes finished per day")
    )
    deps = deployments.assign(
        time=deployments["time_created"],
        kind=deployments["unplanned"].map({True: "fix (unplanned)", False: "planned"}),
        batch=deployments.get("batch_size", 1),
    )
    deps = deps[["time", "kind", "batch", "deploy_id"]]
    largest = max(int(deps["batch"].max()) if len(deps) else 1, 1)
    kinds = alt.Scale(domain=["planned", "fix (unplanned)"], range=["#2b6cb0", "#c05621"])
    deploy_marks = (
        alt.Chart(deps)
        .mark_point(filled=True, opacity=0.7)
        .encode(
            x=x,
            y=alt.Y(
                "batch:Q",
                title="changes shipped",
                scale=alt.Scale(type="symlog", domain=[0, largest * 1.6]),
                axis=alt.Axis(minExtent=y_width, maxExtent=y_width, tickMinStep=1, format="d", grid=False),
            ),
            size=alt.Size("batch:Q", legend=None, scale=alt.Scale(range=[50, 500], domain=[0, largest])),
            shape=alt.Shape(
                "kind:N",
                scale=alt.Scale(domain=["planned", "fix (unplanned)"], range=["circle", "triangle-up"]),
                legend=None,
            ),
            color=alt.Color(
                "kind:N", scale=kinds, legend=None
            ),  # the caption says it: a legend would shift the plot
            tooltip=[
                alt.Tooltip("deploy_id:N", title="deployment"),
                alt.Tooltip("time:T", format="%a %d %b %H:%M"),
                alt.Tooltip("batch:Q", title="changes"),
                alt.Tooltip("kind:N"),
            ],
        )
        .properties(
            height=130, title="Deployments (height and size: changes shipped; ▲ orange: an unplanned fix)"
        )
    )
    hours = (incidents["time_resolved"] - incidents["time_created"]).dt.total_seconds() / 3600
    inc = incidents.assign(
        time=incidents["time_created"],
        stop=incidents["time_resolved"].fillna(end).clip(upper=end),
        restore=[format_duration(h) if pd.notna(h) else "still open" for h in hours],
    )
    inc = inc[["time", "stop", "restore", "incident_id", "deploy_id"]]
    tips = [
        alt.Tooltip("incident_id:N", title="incident"),
        alt.Tooltip("deploy_id:N", title="caused by"),
        alt.Tooltip("time:T", title="began", format="%a %d %b %H:%M"),
        alt.Tooltip("restore:N", title="time to restore"),
    ]
    lane = alt.Y(
        "lane:N",
        title="incidents",
        axis=alt.Axis(labels=False, ticks=False, domain=False, minExtent=y_width, maxExtent=y_width),
    )
    inc = inc.assign(lane="incidents")
    bars = (
        alt.Chart(inc)
        .mark_bar(height=14, color="#d7301f", opacity=0.75)
        .encode(x=x, x2="stop:T", y=lane, tooltip=tips)
    )
    starts = alt.Chart(inc).mark_tick(color="#7f0000", thickness=2, size=20).encode(x=x, y=lane, tooltip=tips)
    incident_marks = alt.layer(bars, starts).properties(
        height=34, title="Incidents (from hurting users to restored; hover for the restore time)"
    )
    return [work, deploy_marks, incident_marks]


def line_chart(
    data: pd.DataFrame,
    x: str,
    y: str,
    colour: str | None,
    *,
    x_title: str,
    y_title: str,
    title: str,
    y_format: str | None = None,
    log_y: bool = False,
    tooltip_text: str | None = None,
    points: bool = True,
    integer_x: bool = False,
    y_ticks: Sequence[tuple[float, str]] = (),
    height: int = 240,
) -> alt.Chart:
    """A plain multi-line chart (the workshop): whole-number x ticks on request, named ticks on a log y."""
    x_axis = alt.Axis(title=x_title, tickMinStep=1, format="d") if integer_x else alt.Axis(title=x_title)
    if log_y and y_ticks:
        expr = repr(y_ticks[-1][1])
        for (value, label), (upper, _) in zip(reversed(y_ticks[:-1]), reversed(y_ticks[1:])):
            expr = f"datum.value < {math.sqrt(value * upper):.6g} ? {label!r} : {expr}"
        y_axis = alt.Axis(title=y_title, values=[v for v, _ in y_ticks], labelExpr=expr, grid=False)
    elif y_format:
        y_axis = alt.Axis(title=y_title, format=y_format)
    else:
        y_axis = alt.Axis(title=y_title)
    enc: dict[str, Any] = {
        "x": alt.X(f"{x}:Q", axis=x_axis),
        "y": alt.Y(f"{y}:Q", axis=y_axis, scale=alt.Scale(type="log") if log_y else alt.Scale(zero=False)),
    }
    tips = [alt.Tooltip(f"{x}:Q", title=x_title)]
    if tooltip_text:
        tips.append(alt.Tooltip(f"{tooltip_text}:N", title=y_title))
    if colour:
        enc["color"] = alt.Color(f"{colour}:N", legend=alt.Legend(title=None, orient="bottom"))
        tips.insert(0, alt.Tooltip(f"{colour}:N"))
    return (
        alt.Chart(data)
        .mark_line(point=points)
        .encode(**enc, tooltip=tips)
        .properties(title=title, height=height)
    )


def tornado_chart(
    rows: Sequence[Mapping[str, Any]], key: str, base: float | None = None
) -> alt.TopLevelMixin:
    """Swing of one metric's median when each lever goes from its low to its high setting.

    A row with ``"runaway"`` true (the end whose backlog grows without bound) is drawn hatched-grey with a
    warning sign in its label: its number grows with the horizon and is not a level to compare.
    """
    data = pd.DataFrame(
        [
            {
                "lever": r["key"] + (" ⚠ runaway" if r.get("runaway") else ""),
                "low": r["low"],
                "high": r["high"],
                "swing": r["swing"],
                "runaway": bool(r.get("runaway")),
            }
            for r in rows
            if r.get("low") is not None and r.get("high") is not None
        ],
        columns=["lever", "low", "high", "swing", "runaway"],
    )
    order = data.sort_values("swing", ascending=False)["lever"].tolist()
    data["left"] = data[["low", "high"]].min(axis=1)
    data["right"] = data[["low", "high"]].max(axis=1)
    data["text"] = [f"{format_metric(key, a)} → {format_metric(key, b)}" for a, b in zip(data.low, data.high)]
    y = alt.Y("lever:N", sort=order, title=None, axis=alt.Axis(labelLimit=300, labelOverlap=False))
    log = key in LOG_SCALE_METRICS and not data.empty and float(data[["low", "high"]].min().min()) > 0
    values = [*data["low"].tolist(), *data["high"].tolist(), *([base] if base else [])]
    lo, hi = (min(values) / 1.5, max(values) * 1.5) if log and values else (0.0, 0.0)
    x_scale = alt.Scale(type="log", domain=[lo, hi]) if log else alt.Scale(zero=False)
    # the chart's title names the metric: the axis says only what a half-width column has room for
    title = (
        "median" + (" per day" if BY_KEY[key].kind == "frequency" else "") + (", log scale" if log else "")
    )
    axis = metric_axis(key, log, lo, hi, title=title)
    bars = (
        alt.Chart(data)
        .mark_bar(height=14)
        .encode(
            x=alt.X("left:Q", scale=x_scale, axis=axis),
            x2="right:Q",
            y=y,
            color=alt.condition("datum.runaway", alt.value("#e5e7eb"), alt.value("#9aa5b1")),
            tooltip=[alt.Tooltip("lever:N"), alt.Tooltip("text:N", title="low → high setting")],
        )
    )
    ends = data.melt(id_vars=["lever"], value_vars=["low", "high"], var_name="setting", value_name="value")
    points = (
        alt.Chart(ends)
        .mark_point(filled=True, size=90)
        .encode(
            x=alt.X("value:Q", scale=x_scale),
            y=y,
            color=alt.Color(
                "setting:N",
                scale=alt.Scale(domain=["low", "high"], range=["#c05621", "#2b6cb0"]),
                legend=alt.Legend(title="lever at its", orient="bottom"),
            ),
        )
    )
    layers = [bars, points]
    if base is not None:
        mark = pd.DataFrame([{"base": base, "text": f"base: {format_metric(key, base)}"}])
        layers.append(
            alt.Chart(mark)
            .mark_rule(color="#333", strokeDash=[4, 3])
            .encode(
                x=alt.X("base:Q", scale=x_scale), tooltip=[alt.Tooltip("text:N", title="median at the base")]
            )
        )
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(title=METRIC_LABELS[key], height=max(120, 30 * len(data)))
    )


BACKTEST_METHODS = {"model": "dorasim (calibrated model)", "throughput": "throughput Monte Carlo"}
MONTE_CARLO_COLOUR = "#2f855a"  # the throughput Monte Carlo wherever it is drawn (green: no scenario uses it)
BACKTEST_COLOURS = ("#2b6cb0", MONTE_CARLO_COLOUR)  # the calibrated model in the app's blue
ACTUAL_COLOUR = "#111111"


def backtest_rows(cases: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per judged (case, method): the p5–p95 days, p50 and the actual day, whether it fell inside."""
    rows = []
    for case in cases:
        if "not_judged" in case:
            continue
        label = f"{case['cut']} · {case['n']} changes"
        for method, name in BACKTEST_METHODS.items():
            scored = case.get(method)
            if not scored:
                continue
            rows.append(
                {
                    "case": label,
                    "method": name,
                    "p5": scored["p5"],
                    "p50": scored["p50"],
                    "p95": scored["p95"],
                    "actual": case["actual_days"],
                    "inside": "inside p5–p95" if scored["in_p5_p95"] else "missed",
                }
            )
    return pd.DataFrame(rows, columns=["case", "method", "p5", "p50", "p95", "actual", "inside"])


def backtest_chart(cases: Sequence[Mapping[str, Any]]) -> alt.TopLevelMixin:
    """Each judged case: both methods' p5–p95 range of days after the cut (p50 ticked) and the day the work was
    really live (black dot) — the hits and the misses at a glance."""
    data = backtest_rows(cases)
    order = list(dict.fromkeys(data["case"]))
    names = list(BACKTEST_METHODS.values())
    y = alt.Y(
        "case:N",
        sort=order,
        title=None,
        axis=alt.Axis(labelLimit=220),
        scale=alt.Scale(paddingInner=0.3, paddingOuter=0.15),
    )
    offset = alt.YOffset("method:N", sort=names, scale=alt.Scale(domain=names, paddingInner=0.25))
    colour = alt.Color(
        "method:N",
        scale=alt.Scale(domain=names, range=list(BACKTEST_COLOURS)),
        legend=alt.Legend(title=None, orient="bottom"),
    )
    x = alt.X(
        "p5:Q",
        title="days after the cut until the work was live (bar: p5–p95, tick: p50; dot: actual)",
        scale=alt.Scale(zero=True),
    )
    tips = [
        alt.Tooltip("case:N"),
        alt.Tooltip("method:N"),
        alt.Tooltip("p5:Q", title="p5 (days)"),
        alt.Tooltip("p50:Q", title="p50 (days)"),
        alt.Tooltip("p95:Q", title="p95 (days)"),
        alt.Tooltip("actual:Q", title="actual (days)"),
        alt.Tooltip("inside:N", title="actual"),
    ]
    base = alt.Chart(data)
    bars = base.mark_bar(height={"band": 1}, opacity=0.55).encode(
        x=x, x2="p95:Q", y=y, yOffset=offset, color=colour, tooltip=tips
    )
    median = base.mark_tick(thickness=2, color="#111", opacity=0.7).encode(
        x="p50:Q", y=y, yOffset=offset, tooltip=tips
    )
    actual = base.mark_point(filled=True, size=60, color=ACTUAL_COLOUR, opacity=1).encode(
        x="actual:Q", y=y, tooltip=tips
    )
    height = max(120, 44 * len(order))
    return alt.layer(bars, median, actual).properties(
        title="Each forecast's range against the day the work was really live",
        height=height,
        padding=CHART_PADDING,
    )


def with_monte_carlo_colour(spec: dict[str, Any], name: str) -> dict[str, Any]:
    """A ship-curve spec (:func:`sim.report.specs.ship_curve`) whose ``name`` series is drawn in the Monte Carlo's
    colour, the other series keeping theirs."""
    for layer in spec.get("layer", []):
        scale = layer.get("encoding", {}).get("color", {}).get("scale")
        if scale and name in scale.get("domain", []):
            scale["range"] = [
                MONTE_CARLO_COLOUR if series == name else colour
                for series, colour in zip(scale["domain"], scale["range"])
            ]
    return spec
