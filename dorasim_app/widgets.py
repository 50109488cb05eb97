"""Scenario widgets derived from the pydantic fields (type, limits, unit, help) and the metric cards.

The app holds no defaults: a widget's value always starts from the chosen scenario file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import streamlit as st

from dorasim_app import limits as hosted
from dorasim_app.style import (
    HIGHER_IS_BETTER,
    METRIC_BAND_KEY,
    METRIC_HELP,
    METRIC_LABELS,
    band_badge,
    band_word,
    pretty_key,
    signed_delta,
)
from sim.metrics.registry import METRIC_KEYS, format_metric
from sim.model.scenario import SECTIONS, Scenario, parameter_info, parameter_keys

SLIDER_MAX_WIDTH_FLOAT = 50
SLIDER_MAX_WIDTH_INT = 60
SECTION_TITLES = {"team": "Team", "org": "Organisation", "branching": "Branching", "ci": "CI", "quality": "Quality",
                  "release": "Release", "operations": "Operations", "simulation": "Simulation"}
WIDGET_PREFIX = "p."


@dataclass(frozen=True)
class WidgetSpec:
    """How one parameter is edited: ``toggle``, ``select``, ``slider`` or ``number``."""

    kind: str
    options: tuple[Any, ...] = ()
    min_value: float | int | None = None
    max_value: float | int | None = None
    step: float | int | None = None
    format: str | None = None
    is_int: bool = False


def field_type(key: str) -> Any:
    section, name = key.split(".", 1)
    return Scenario.model_fields[section].annotation.model_fields[name].annotation


def _on_grid(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-6


def float_step(lo: float, hi: float, value: float) -> float:
    """About a hundredth of the range, refined until ``value`` (the field's default) sits on the grid."""
    width = max(hi - lo, 1e-9)
    step = 10.0 ** (math.floor(math.log10(width)) - 2)
    while step > 1e-4 and not _on_grid(value, step):
        step /= 10.0
    return step


def widget_spec(key: str) -> WidgetSpec:
    """The widget for a parameter, from its type, limits and default only (so it never changes under the user)."""
    kind = field_type(key)
    if kind is bool:
        return WidgetSpec("toggle")
    if get_origin(kind) is Literal:
        return WidgetSpec("select", options=get_args(kind))
    limits = parameter_info(key)["limits"]
    if kind is int:
        lo = limits.get("ge", limits["gt"] + 1 if "gt" in limits else 0)
        hi = limits.get("le", limits["lt"] - 1 if "lt" in limits else None)
        cap = hosted.cap_of(key)  # the hosted app's cap, below the schema's limit
        hi = cap if hi is None or (cap is not None and cap < hi) else hi
        slider = hi is not None and hi - lo <= SLIDER_MAX_WIDTH_INT
        return WidgetSpec("slider" if slider else "number", min_value=int(lo),
                          max_value=None if hi is None else int(hi), step=1, is_int=True)
    # An open lower bound (> 0) is offered from 0 too: choosing 0 gets the validator's one-line message.
    lo = float(limits.get("ge", limits.get("gt", 0.0)))
    hi = float(limits.get("le", limits.get("lt", 1e9)))
    default = float(parameter_info(key)["default"])
    if hi - lo <= SLIDER_MAX_WIDTH_FLOAT:
        step = float_step(lo, hi, default)
        decimals = max(0, -math.floor(math.log10(step) + 1e-9))
        return WidgetSpec("slider", min_value=lo, max_value=hi, step=step, format=f"%.{decimals}f")
    # a wide range is typed; the step only drives the +/- buttons
    step = min(1.0, max(0.01, 10.0 ** (math.floor(math.log10(hi)) - 3)))
    return WidgetSpec("number", min_value=lo, max_value=hi, step=step, format="%g")


def widget_label(key: str) -> str:
    info = parameter_info(key)
    unit = info.get("unit", "")
    label = pretty_key(key)
    words = set(label.lower().split())
    if unit and "|" not in unit and unit != "switch" and len(unit) <= 22 and unit not in words:
        label += f" ({unit})"
    return label


def widget_help(key: str) -> str:
    info = parameter_info(key)
    source = info.get("source", "")
    cite = f" — {info['cite']}" if info.get("cite") else ""
    return f"{info['help']}. Unit: {info['unit']}. Source: {source}{cite}. Key: `{key}`."


def widget_key(key: str) -> str:
    return WIDGET_PREFIX + key


def coerce(key: str, value: Any) -> Any:
    """Widget output in the field's own type (sliders may hand back floats for ints, and vice versa)."""
    kind = field_type(key)
    if kind is int and not isinstance(value, bool):
        return round(value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def render_parameter(key: str) -> Any:
    """One widget bound to ``st.session_state[widget_key(key)]`` (initialised by the caller)."""
    wkey = widget_key(key)
    spec = widget_spec(key)
    label, help_text = widget_label(key), widget_help(key)
    if spec.kind == "toggle":
        return st.toggle(label, key=wkey, help=help_text)
    if spec.kind == "select":
        return st.selectbox(label, spec.options, key=wkey, help=help_text)
    common = {"min_value": spec.min_value, "max_value": spec.max_value, "step": spec.step, "key": wkey,
              "help": help_text}
    if spec.format:
        common["format"] = spec.format
    if spec.kind == "slider":
        return st.slider(label, **common)
    return st.number_input(label, **common)


def keys_by_section() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {section: [] for section in SECTIONS}
    for key in parameter_keys():
        grouped[key.split(".", 1)[0]].append(key)
    return {section: keys for section, keys in grouped.items() if keys}


# ----------------------------------------------------------------------------------------------
# Metric cards


def _spread(key: str, stats: dict[str, float | None]) -> str:
    return f"p10–p90: {format_metric(key, stats.get('p10'))} – {format_metric(key, stats.get('p90'))}"


def metric_card(key: str, summary: dict[str, Any], reference: dict[str, Any] | None = None,
                reference_name: str | None = None) -> None:
    """A bordered card: median value, band word in its colour, delta against the reference, spread."""
    stats = summary["metrics"][key]
    band_key = METRIC_BAND_KEY.get(key)
    band = summary["bands"].get(band_key) if band_key else None
    delta, delta_colour = None, "off"
    if reference is not None:
        ref_value = reference["metrics"][key]["p50"]
        if ref_value is not None and stats["p50"] is not None:
            diff = stats["p50"] - ref_value
            delta = signed_delta(key, diff)
            delta_colour = "off" if diff == 0 else ("normal" if key in HIGHER_IS_BETTER else "inverse")
    with st.container(border=True):
        st.metric(METRIC_LABELS[key], format_metric(key, stats["p50"]), delta=delta, delta_color=delta_colour,
                  help=METRIC_HELP[key] + " Median over replications; the arrow compares with the baseline.")
        st.markdown(band_badge(band) if band_key else ":gray-badge[no published band]")
        st.caption(_spread(key, stats))
        if reference is not None and reference_name:
            ref_stats = reference["metrics"][key]
            ref_band = reference["bands"].get(band_key) if band_key else None
            word = f" · {band_word(ref_band)}" if band_key else ""
            st.caption(f"{reference_name}: {format_metric(key, ref_stats['p50'])}{word}")


def metric_cards(summary: dict[str, Any], reference: dict[str, Any] | None = None,
                 reference_name: str | None = None) -> None:
    for column, key in zip(st.columns(len(METRIC_KEYS)), METRIC_KEYS):
        with column:
            metric_card(key, summary, reference, reference_name)


def score_cards(result: dict[str, Any]) -> None:
    """Cards for a ``score`` result (one value per metric, no spread)."""
    for column, key in zip(st.columns(len(METRIC_KEYS)), METRIC_KEYS):
        band_key = METRIC_BAND_KEY.get(key)
        band = result["bands"].get(band_key) if band_key else None
        with column, st.container(border=True):
            st.metric(METRIC_LABELS[key], format_metric(key, result["metrics"].get(key)), help=METRIC_HELP[key])
            st.markdown(band_badge(band) if band_key else ":gray-badge[no published band]")
