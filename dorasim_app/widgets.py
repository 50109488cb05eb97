"""Scenario widgets derived from the pydantic fields (type, limits, unit, help) and the metric cards.

The app holds no defaults: a widget's value always starts from the chosen scenario file.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import streamlit as st

from dorasim_app import limits as hosted
from dorasim_app.style import (
    METRIC_BAND_KEY,
    METRIC_HELP,
    METRIC_LABELS,
    band_badge,
    band_word,
    pretty_key,
    signed_delta,
)
from sim.metrics.registry import METRIC_KEYS, better, format_metric
from sim.model.scenario import SECTIONS, Scenario, parameter_info, parameter_keys

SECTION_TITLES = {
    "team": "Team and working hours",
    "org": "Organisation",
    "branching": "Branching",
    "ci": "Testing (CI)",
    "quality": "Quality",
    "release": "Releases",
    "operations": "Restoring service",
    "simulation": "Simulation",
}
# The levers a coach turns (docs/scenarios.md's main keys); every other key is a finer assumption,
# shown under them in the same group.
MAIN_LEVERS = (
    "team.engineers",
    "team.changes_per_engineer_per_day",
    "team.overtime",
    "branching.strategy",
    "branching.branch_lifetime_days",
    "branching.feature_flags",
    "ci.test_suite_minutes",
    "ci.runners",
    "ci.flaky_rate",
    "ci.skip_threshold_minutes",
    "quality.defect_rate",
    "quality.test_detection_rate",
    "release.cadence",
    "release.max_batch_size",
    "release.deploy",
    "operations.automated_rollback",
    "operations.detect_minutes",
    "operations.hotfix_hours",
    "operations.experts",
)
OPEN_SECTIONS = ("branching", "ci", "release", "operations")
WIDGET_PREFIX = "p."
PRACTICAL_HEADROOM = 4  # a slider reaches four times the largest shipped value (a 1-2-5 round number)


@dataclass(frozen=True)
class WidgetSpec:
    """How one parameter is edited: ``toggle``, ``select``, ``text``, ``slider`` or ``number``."""

    kind: str
    options: tuple[Any, ...] = ()
    min_value: float | int | None = None
    max_value: float | int | None = None
    step: float | int | None = None
    format: str | None = None
    is_int: bool = False


def field_type(key: str) -> Any:
    section, name = key.split(".", 1)
    model: Any = Scenario.model_fields[section].annotation
    return model.model_fields[name].annotation


def _on_grid(value: float, step: float) -> bool:
    ratio = value / step
    return abs(ratio - round(ratio)) < 1e-6


def float_step(lo: float, hi: float, *values: float) -> float:
    """About a hundredth of the range, refined until every one of ``values`` (the field's default, the shipped
    scenarios' values, the value shown) sits on the grid — a slider never rounds a scenario's value away."""
    width = max(hi - lo, 1e-9)
    step = 10.0 ** (math.floor(math.log10(width)) - 2)
    while step > 1e-4 and not all(_on_grid(v, step) for v in values):
        step /= 10.0
    return step


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= value * (1 - 1e-9):
            return factor * power
    return 10 * power


@functools.cache
def shipped_values(key: str) -> tuple[Any, ...]:
    """The key's value in every shipped scenario (what a sensible slider range must hold)."""
    from dorasim_app.state import scenario_files
    from sim.model.scenario import get_value, load_scenario

    values = []
    for path in scenario_files().values():
        try:
            values.append(get_value(load_scenario(path), key))
        except Exception:  # a broken file is reported where it is picked
            continue
    return tuple(values)


def practical_range(key: str, current: float | None = None) -> tuple[float, float]:
    """(low, high) of a slider: the validated low end up to a round number above the shipped values
    (and the current value), never past the validated high end."""
    limits = parameter_info(key)["limits"]
    lo = float(limits.get("ge", limits.get("gt", 0.0)))
    hi_valid = float(limits.get("le", limits.get("lt", 1e9)))
    seen = [float(v) for v in shipped_values(key)] + [float(parameter_info(key)["default"])]
    top = nice_ceiling(max(seen) * PRACTICAL_HEADROOM)
    if current is not None and current > top:
        top = nice_ceiling(current)
    return lo, min(hi_valid, top) if top > lo else hi_valid


def widget_spec(key: str, current: Any = None) -> WidgetSpec:
    """The widget for a parameter, from its type, limits, the shipped values and the value it shows."""
    kind = field_type(key)
    if kind is bool:
        return WidgetSpec("toggle")
    if get_origin(kind) is Literal:
        return WidgetSpec("select", options=get_args(kind))
    if kind is str:
        return WidgetSpec("text")
    number = None if current is None or isinstance(current, bool) else float(current)
    lo, hi = practical_range(key, number)
    if kind is int:
        limits = parameter_info(key)["limits"]
        low = int(limits.get("ge", limits["gt"] + 1 if "gt" in limits else 0))
        cap = hosted.cap_of(key)  # the hosted app's cap, below the schema's limit
        high = int(hi) if cap is None else min(int(hi), int(cap))
        return WidgetSpec("slider", min_value=low, max_value=max(low, high), step=1, is_int=True)
    # An open lower bound (> 0) is offered from 0 too: choosing 0 gets the validator's one-line message.
    on_grid = [float(parameter_info(key)["default"]), *(float(v) for v in shipped_values(key))]
    if number is not None:
        on_grid.append(number)
    step = float_step(lo, hi, *on_grid)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return WidgetSpec("slider", min_value=lo, max_value=hi, step=step, format=f"%.{decimals}f")


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
    text = info["help"]
    text = text[:1].upper() + text[1:]
    return f"{text}. Unit: {info['unit']}. Source: {source}{cite}. Key: `{key}`."


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
    spec = widget_spec(key, st.session_state.get(wkey))
    label, help_text = widget_label(key), widget_help(key)
    if spec.kind == "toggle":
        return st.toggle(label, key=wkey, help=help_text)
    if spec.kind == "select":
        return st.selectbox(label, spec.options, key=wkey, help=help_text)
    if spec.kind == "text":
        return st.text_input(label, key=wkey, help=help_text)
    common: dict[str, Any] = {
        "min_value": spec.min_value,
        "max_value": spec.max_value,
        "step": spec.step,
        "key": wkey,
        "help": help_text,
    }
    if spec.format:
        common["format"] = spec.format
    if spec.kind == "slider":
        return st.slider(label, **common)
    return st.number_input(label, **common)


def keys_by_section() -> dict[str, list[str]]:
    """Every parameter by section, the main levers first."""
    grouped: dict[str, list[str]] = {section: [] for section in SECTIONS}
    keys = parameter_keys()
    for key in [k for k in MAIN_LEVERS if k in keys] + [k for k in keys if k not in MAIN_LEVERS]:
        grouped[key.split(".", 1)[0]].append(key)
    return {section: keys for section, keys in grouped.items() if keys}


# ----------------------------------------------------------------------------------------------
# Metric cards


def _spread(key: str, stats: dict[str, float | None]) -> str:
    return f"p10–p90: {format_metric(key, stats.get('p10'))} – {format_metric(key, stats.get('p90'))}"


def unstable(summary: dict[str, Any]) -> bool:
    """Whether a run's backlog grows without bound (its numbers then grow with the horizon)."""
    stability = summary.get("stability") or {}
    return stability.get("stable") is False


def stability_warning(name: str, summary: dict[str, Any]) -> None:
    """A clear warning above results whose backlog runs away (the summary's ``stability``)."""
    if not unstable(summary):
        return
    stability = summary.get("stability") or {}
    growth = stability.get("backlog_growth_per_week")
    share = stability.get("undeployed_share")
    detail = []
    if isinstance(growth, int | float):
        detail.append(f"the backlog grows by about {growth:.0f} changes a week")
    if isinstance(share, int | float):
        detail.append(f"{share:.0%} of the changes never ship in the window")
    extra = f" ({'; '.join(detail)})" if detail else ""
    st.warning(
        f"**{name} is not stable**: work arrives faster than it ships{extra}. Its lead time and backlog "
        f"keep growing with the horizon, so read its numbers as *getting worse*, not as a level.",
        icon=":material/warning:",
    )


def card_delta(key: str, value: float | None, ref_value: float | None) -> tuple[str | None, str, str]:
    """(delta text, colour, arrow) of a card against the reference: ``no change`` when both values read the same."""
    if value is None or ref_value is None:
        return None, "off", "off"
    if format_metric(key, value) == format_metric(key, ref_value):
        return "no change", "off", "off"
    text = signed_delta(key, value - ref_value) or ""
    # Streamlit reads the direction from an ASCII minus; the colour says better (green) or worse (red)
    return text.replace("−", "-", 1), ("green" if better(key, value, ref_value) else "red"), "auto"


def metric_card(
    key: str,
    summary: dict[str, Any],
    reference: dict[str, Any] | None = None,
    reference_name: str | None = None,
) -> None:
    """A bordered card: median value, band word in its colour, delta against the reference, spread."""
    stats = summary["metrics"][key]
    band_key = METRIC_BAND_KEY.get(key)
    band = summary["bands"].get(band_key) if band_key else None
    delta, colour, arrow = None, "off", "off"
    if reference is not None:
        delta, colour, arrow = card_delta(key, stats["p50"], reference["metrics"][key]["p50"])
    with st.container(border=True):
        st.metric(
            METRIC_LABELS[key],
            format_metric(key, stats["p50"]),
            delta=delta,
            delta_color=colour,  # type: ignore[arg-type]
            delta_arrow=arrow,  # type: ignore[arg-type]
            help=METRIC_HELP[key] + " Median over replications; the arrow compares with the baseline.",
        )
        badge = band_badge(band) if band_key else ":gray-badge[no published band]"
        if key == "lead_time_hours" and unstable(summary):
            badge += " :orange-badge[:material/warning: grows with the horizon]"
        st.markdown(badge)
        st.caption(_spread(key, stats))
        if reference is not None and reference_name:
            ref_stats = reference["metrics"][key]
            ref_band = reference["bands"].get(band_key) if band_key else None
            word = f" · {band_word(ref_band)}" if band_key else ""
            st.caption(f"{reference_name}: {format_metric(key, ref_stats['p50'])}{word}")


def metric_cards(
    summary: dict[str, Any], reference: dict[str, Any] | None = None, reference_name: str | None = None
) -> None:
    for column, key in zip(st.columns(len(METRIC_KEYS)), METRIC_KEYS):
        with column:
            metric_card(key, summary, reference, reference_name)


def teams_table(name: str, summary: dict[str, Any]) -> None:
    """Each team's medians and overall band, when the scenario is an organisation of several teams."""
    teams = summary.get("teams") or []
    if not teams:
        return
    rows = []
    for team in teams:
        metrics = team.get("metrics") or {}
        row: dict[str, Any] = {"team": team.get("team"), "engineers": team.get("engineers")}
        for key in METRIC_KEYS:
            value = metrics.get(key)
            row[METRIC_LABELS[key]] = format_metric(
                key, value.get("p50") if isinstance(value, dict) else value
            )
        row["overall"] = band_word((team.get("bands") or {}).get("overall"))
        rows.append(row)
    with st.expander(f"{name}: {len(teams)} teams", expanded=False):
        st.dataframe(rows, hide_index=True, width="stretch")


def score_cards(result: Mapping[str, Any]) -> None:
    """Cards for a ``score`` result (one value per metric, no spread)."""
    for column, key in zip(st.columns(len(METRIC_KEYS)), METRIC_KEYS):
        band_key = METRIC_BAND_KEY.get(key)
        band = result["bands"].get(band_key) if band_key else None
        with column, st.container(border=True):
            st.metric(
                METRIC_LABELS[key], format_metric(key, result["metrics"].get(key)), help=METRIC_HELP[key]
            )
            st.markdown(band_badge(band) if band_key else ":gray-badge[no published band]")
