"""Vega-Lite specifications (plain dicts) for the HTML report and the app's forecast chart.

No plotting library is imported here: a spec is data, drawn offline to SVG by :mod:`sim.report.html`
or handed to a browser as it is. Colours of bands and scenarios are fixed here once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sim.metrics.bands import BANDS, CUTOFFS
from sim.metrics.registry import BY_KEY, format_metric

BAND_COLOURS = {"elite": "#1a9850", "high": "#2b8cbe", "medium": "#e69f00", "low": "#d7301f"}
SERIES_COLOURS = ("#6b7280", "#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280")
PLAN_COLOURS = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1")
WIDTH = 520
FONT = "Helvetica, Arial, sans-serif"
# the smallest value a log axis draws (a zero sits on it): the app and the report share these
LOG_FLOOR = {"deployment_frequency_per_day": 1e-3, "lead_time_hours": 0.05, "time_to_restore_hours": 0.01}
# readable round ticks on a log axis of hours or deployments a day
LOG_TICKS: dict[str, tuple[tuple[float, str], ...]] = {
    "lead_time_hours": (
        (1 / 6, "10 min"),
        (1, "1 h"),
        (6, "6 h"),
        (24, "1 day"),
        (168, "1 week"),
        (730, "1 month"),
        (4380, "6 months"),
    ),
    "time_to_restore_hours": (
        (1 / 6, "10 min"),
        (1, "1 h"),
        (6, "6 h"),
        (24, "1 day"),
        (168, "1 week"),
        (730, "1 month"),
    ),
    "deployment_frequency_per_day": (
        (1 / 90, "1 a quarter"),
        (1 / 30, "1 a month"),
        (1 / 7, "1 a week"),
        (1, "1 a day"),
        (10, "10 a day"),
        (100, "100 a day"),
    ),
}
AXIS_UNITS = {
    "deployment_frequency_per_day": "deployments per day",
    "lead_time_hours": "hours",
    "time_to_restore_hours": "hours",
    "change_failure_rate": "% of deployments",
    "rework_rate": "% of deployments",
}


def colours(names: Sequence[str], palette: Sequence[str] = SERIES_COLOURS) -> dict[str, Any]:
    return {"domain": list(names), "range": [palette[i % len(palette)] for i in range(len(names))]}


def _config() -> dict[str, Any]:
    return {
        "font": FONT,
        "view": {"stroke": None},
        "axis": {"labelFontSize": 11, "titleFontSize": 11},
        "title": {"fontSize": 13, "anchor": "start"},
        "legend": {"labelFontSize": 11, "orient": "bottom"},
    }


def _is_share(key: str) -> bool:
    return key in BY_KEY and BY_KEY[key].kind == "share"


def axis_title(key: str, log: bool = False) -> str:
    unit = AXIS_UNITS.get(key, BY_KEY[key].unit if key in BY_KEY else "")
    if log and key in BY_KEY and BY_KEY[key].kind == "duration":
        return "log scale"  # the ticks name their unit (1 h, 1 day, 1 week)
    if log and key in BY_KEY and BY_KEY[key].kind == "frequency":
        return "per day, log scale"
    return f"{unit}, log scale" if log else unit


def log_axis(key: str, lo: float, hi: float) -> dict[str, Any]:
    """Round, named ticks on a log axis (``1 h``, ``1 day``, ``1 a week``) and no grid."""
    ticks = [(v, label) for v, label in LOG_TICKS.get(key, ()) if lo <= v <= hi]
    if not ticks:
        return {"format": "~g", "grid": False}
    expr = repr(ticks[-1][1])
    for (value, label), (upper, _) in zip(reversed(ticks[:-1]), reversed(ticks[1:])):
        expr = f"datum.value < {math.sqrt(value * upper):.6g} ? {label!r} : {expr}"
    return {"values": [v for v, _ in ticks], "labelExpr": expr, "grid": False}


def band_edges(key: str, benchmark: str) -> list[tuple[str, float, float]]:
    """(band, from, to) intervals of a key metric's value, best band first (empty without a band)."""
    metric = BY_KEY[key]
    if metric.band_key is None:
        return []
    cut = CUTOFFS[benchmark][metric.band_key]
    if metric.higher_is_better:
        return [
            ("elite", cut.elite, math.inf),
            ("high", cut.high, cut.elite),
            ("medium", cut.medium, cut.high),
            ("low", -math.inf, cut.medium),
        ]
    return [
        ("elite", -math.inf, cut.elite),
        ("high", cut.elite, cut.high),
        ("medium", cut.high, cut.medium),
        ("low", cut.medium, math.inf),
    ]


def metric_domain(key: str, values: Sequence[float], benchmark: str, log: bool) -> tuple[float, float]:
    """The axis range of one metric: its values (floored on a log axis) and its band cut-offs, with a margin."""
    cuts = [a for _, a, b in band_edges(key, benchmark) if math.isfinite(a)]
    pool = [v for v in values if v is not None and math.isfinite(v)]
    if log:
        floor = LOG_FLOOR.get(key, 1e-3)
        pool = [max(v, floor) for v in pool] + [c for c in cuts if c > 0]
        return min(pool) / 2, max(pool) * 2
    hi = max([*pool, *cuts, 0.05]) * 1.15
    return 0.0, min(1.0, hi) if _is_share(key) else hi


def metric_ranges(key: str, rows: Sequence[Mapping[str, Any]], benchmark: str = "2023") -> dict[str, Any]:
    """p10–p90 range and median of one metric for each scenario, over the band regions.

    ``rows``: ``{"scenario", "p10", "p50", "p90"}`` in display order.
    """
    log = BY_KEY[key].log_scale
    names = [r["scenario"] for r in rows]
    shown = [
        {
            **r,
            "text": f"median {format_metric(key, r['p50'])} (p10–p90 {format_metric(key, r['p10'])} – "
            f"{format_metric(key, r['p90'])})",
        }
        for r in rows
        if r.get("p50") is not None
    ]
    lo, hi = metric_domain(key, [v for r in shown for v in (r["p10"], r["p90"])], benchmark, log)
    floor = LOG_FLOOR.get(key, 0.0) if log else -math.inf
    for r in shown:
        for q in ("p10", "p50", "p90"):
            r[q] = max(r[q], floor)
    regions = [
        {"band": band.capitalize(), "start": max(a, lo), "end": min(b, hi)}
        for band, a, b in band_edges(key, benchmark)
        if max(a, lo) < min(b, hi)
    ]
    scale: dict[str, Any] = {"domain": [lo, hi]}
    axis: dict[str, Any] = {"title": axis_title(key, log), "grid": False}
    if log:
        scale["type"] = "log"
        axis.update(log_axis(key, lo, hi))
    if _is_share(key):
        axis["format"] = ".0%"
    x = {"type": "quantitative", "scale": scale, "axis": axis}
    band_colour = {"domain": [b.capitalize() for b in BANDS], "range": [BAND_COLOURS[b] for b in BANDS]}
    y = {"field": "scenario", "type": "nominal", "sort": names, "title": None}
    layers: list[dict[str, Any]] = []
    if regions:
        layers.append(
            {
                "data": {"values": regions},
                "mark": {"type": "rect", "opacity": 0.12},
                "encoding": {
                    "x": {"field": "start", **x},
                    "x2": {"field": "end"},
                    "color": {"field": "band", "type": "nominal", "scale": band_colour, "legend": None},
                },
            }
        )
        layers.append(
            {
                "data": {"values": regions},
                "mark": {"type": "text", "baseline": "top", "dy": 2, "fontWeight": "bold", "fontSize": 10},
                "encoding": {
                    "x": {"field": "start", "type": "quantitative", "scale": scale},
                    "y": {"value": 0},
                    "text": {"field": "band"},
                    "color": {"field": "band", "type": "nominal", "scale": band_colour, "legend": None},
                },
            }
        )
    series = colours(names)
    layers.append(
        {
            "data": {"values": shown},
            "mark": {"type": "rule", "strokeWidth": 3},
            "encoding": {
                "x": {"field": "p10", **x},
                "x2": {"field": "p90"},
                "y": y,
                "color": {"field": "scenario", "type": "nominal", "scale": series, "legend": None},
                "tooltip": {"field": "text"},
            },
        }
    )
    layers.append(
        {
            "data": {"values": shown},
            "mark": {"type": "point", "filled": True, "size": 90, "shape": "diamond", "opacity": 1},
            "encoding": {
                "x": {"field": "p50", **x},
                "y": y,
                "color": {"field": "scenario", "type": "nominal", "scale": series, "legend": None},
                "tooltip": {"field": "text"},
            },
        }
    )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": BY_KEY[key].short,
        "width": WIDTH,
        "height": 34 * max(len(names), 1) + 20,
        "layer": layers,
        "resolve": {"scale": {"color": "independent"}},
        "config": _config(),
    }


def weekly_fan(
    key: str, series: Mapping[str, Sequence[Mapping[str, Any]]], phases: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """p10–p90 band and median of one metric week by week, one colour per plan; phase starts marked."""
    rows = [
        {"plan": name, "week": w["week"], "p10": w.get("p10"), "p50": w.get("p50"), "p90": w.get("p90")}
        for name, weeks in series.items()
        for w in weeks
        if w.get("p50") is not None
    ]
    names = list(series)
    banded = [r for r in rows if r["p10"] is not None and r["p90"] is not None]
    log = bool(BY_KEY[key].log_scale and banded and min(min(r["p10"], r["p50"]) for r in banded) > 0)
    y: dict[str, Any] = {"type": "quantitative", "title": axis_title(key, bool(log))}
    if log:
        values = [v for r in banded for v in (r["p10"], r["p90"])]
        lo, hi = min(values) / 1.5, max(values) * 1.5
        y["scale"] = {"type": "log", "domain": [lo, hi]}
        y["axis"] = log_axis(key, lo, hi)
    elif _is_share(key):
        y["axis"] = {"format": ".0%"}
    colour = {
        "field": "plan",
        "type": "nominal",
        "scale": colours(names, PLAN_COLOURS),
        "legend": {"title": None},
    }
    x = {"field": "week", "type": "quantitative", "title": "week", "axis": {"tickMinStep": 1, "format": "d"}}
    layers: list[dict[str, Any]] = (
        []
        if not banded
        else [
            {
                "data": {"values": banded},
                "mark": {"type": "area", "opacity": 0.18},
                "encoding": {"x": x, "y": {"field": "p10", **y}, "y2": {"field": "p90"}, "color": colour},
            }
        ]
    )
    layers.append(
        {
            "data": {"values": rows},
            "mark": {"type": "line", "point": True},
            "encoding": {"x": x, "y": {"field": "p50", **y}, "color": colour},
        }
    )
    if phases:
        layers.append(
            {
                "data": {"values": list(phases)},
                "mark": {"type": "rule", "color": "#444", "strokeDash": [4, 3]},
                "encoding": {"x": {"field": "week", "type": "quantitative"}},
            }
        )
        layers.append(
            {
                "data": {"values": list(phases)},
                "mark": {
                    "type": "text",
                    "align": "left",
                    "dx": 3,
                    "baseline": "top",
                    "fontSize": 10,
                    "color": "#222",
                },
                "encoding": {
                    "x": {"field": "week", "type": "quantitative"},
                    "y": {"value": 2},
                    "text": {"field": "label"},
                },
            }
        )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": BY_KEY[key].short,
        "width": WIDTH,
        "height": 200,
        "layer": layers,
        "config": _config(),
    }


def elite_probability(series: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    rows = [
        {"plan": name, "week": w["week"], "p": w["band_probabilities"].get("elite", 0.0)}
        for name, weeks in series.items()
        for w in weeks
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Probability of being Elite on all four keys, week by week",
        "width": WIDTH,
        "height": 180,
        "data": {"values": rows},
        "mark": {"type": "line", "point": True},
        "encoding": {
            "x": {"field": "week", "type": "quantitative", "axis": {"tickMinStep": 1, "format": "d"}},
            "y": {
                "field": "p",
                "type": "quantitative",
                "title": "probability",
                "scale": {"domain": [0, 1]},
                "axis": {"format": ".0%"},
            },
            "color": {
                "field": "plan",
                "type": "nominal",
                "scale": colours(list(series), PLAN_COLOURS),
                "legend": {"title": None},
            },
        },
        "config": _config(),
    }


def ship_curve(
    curves: Mapping[str, Sequence[Mapping[str, Any]]], target: str | None = None, width: int | str = WIDTH
) -> dict[str, Any]:
    """Share of replications whose work is live by each date, one line per scenario; the target marked.

    ``curves`` maps a name to rows ``{"date": ISO day, "share": f}`` (see
    :func:`sim.analysis.forecast.probability_curve`).
    """
    rows = [
        {"scenario": name, "date": r["date"], "share": r["share"]} for name, rs in curves.items() for r in rs
    ]
    names = list(curves)
    x = {
        "field": "date",
        "type": "temporal",
        "title": "live by the end of (UTC)",
        "axis": {"format": "%d %b", "labelAngle": 0, "grid": False},
    }
    layers: list[dict[str, Any]] = [
        {
            "data": {"values": rows},
            "mark": {"type": "line", "interpolate": "step-after", "strokeWidth": 2.5},
            "encoding": {
                "x": x,
                "y": {
                    "field": "share",
                    "type": "quantitative",
                    "title": "chance the work is live",
                    "scale": {"domain": [0, 1]},
                    "axis": {"format": ".0%", "values": [0, 0.25, 0.5, 0.85, 1]},
                },
                "color": {
                    "field": "scenario",
                    "type": "nominal",
                    "scale": colours(names),
                    "legend": {"title": None},
                },
                "tooltip": [
                    {"field": "scenario"},
                    {"field": "date", "type": "temporal", "format": "%a %d %b %Y"},
                    {"field": "share", "format": ".0%", "title": "chance live"},
                ],
            },
        },
        {
            "data": {"values": [{"y": 0.85}]},
            "mark": {"type": "rule", "color": "#888", "strokeDash": [2, 3]},
            "encoding": {"y": {"field": "y", "type": "quantitative"}},
        },
        {
            "data": {"values": [{"y": 0.85, "label": "85 % sure"}]},
            "mark": {"type": "text", "color": "#555", "align": "right", "baseline": "top", "dx": -3, "dy": 3},
            "encoding": {
                "y": {"field": "y", "type": "quantitative"},
                "x": {"value": "width"},
                "text": {"field": "label"},
            },
        },
    ]
    if target:
        layers.append(
            {
                "data": {"values": [{"date": target, "label": "target"}]},
                "mark": {"type": "rule", "color": "#d7301f", "strokeWidth": 2},
                "encoding": {"x": {"field": "date", "type": "temporal"}},
            }
        )
        layers.append(
            {
                "data": {"values": [{"date": target, "label": "target"}]},
                "mark": {
                    "type": "text",
                    "color": "#d7301f",
                    "align": "left",
                    "dx": 4,
                    "baseline": "top",
                    "fontWeight": "bold",
                },
                "encoding": {
                    "x": {"field": "date", "type": "temporal"},
                    "y": {"value": 4},
                    "text": {"field": "label"},
                },
            }
        )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "When is the work live? Share of replications, by date",
        "width": width,
        "height": 240,
        "layer": layers,
        "config": _config(),
    }
