"""Plain words for a comparison: what changed between two scenarios, and which mechanism moved the metrics."""

from __future__ import annotations

from typing import Any

from dorasim_app.state import same_value
from dorasim_app.style import band_word, pretty_key, stage_label
from sim.metrics.registry import format_metric
from sim.model.scenario import Scenario, get_value, parameter_info, parameter_keys

MAX_LISTED = 5


def _show(key: str, value: Any) -> str:
    if key == "release.max_batch_size" and value == 0:
        return "no cap"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("_", "-")


def _lower_first(text: str) -> str:
    """``Test suite`` → ``test suite`` but ``CI runners`` stays (an acronym)."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def changed_keys(a: Scenario, b: Scenario) -> list[str]:
    return [k for k in parameter_keys() if not same_value(get_value(a, k), get_value(b, k))]


def describe_changes(a: Scenario, b: Scenario) -> str:
    """``CI runners 2 → 8, release cadence weekly → continuous`` (at most five, then a count)."""
    keys = changed_keys(a, b)
    if not keys:
        return "nothing: both use the same settings"
    parts = []
    for key in keys[:MAX_LISTED]:
        name = _lower_first(pretty_key(key))
        unit = parameter_info(key).get("unit", "")
        suffix = f" {unit}" if unit in ("minutes", "hours", "days", "changes") and name != unit else ""
        parts.append(f"{name} {_show(key, get_value(a, key))} → {_show(key, get_value(b, key))}{suffix}")
    more = len(keys) - MAX_LISTED
    text = ", ".join(parts)
    return text + (f", and {more} more setting{'s' if more > 1 else ''}" if more > 0 else "")


def _change_word(before: float, after: float) -> str:
    if after < before:
        return "fell"
    if after > before:
        return "rose"
    return "stayed"


def _batch(summary: dict[str, Any]) -> float | None:
    deployments = summary["counts"]["deployments"]
    return summary["counts"]["changes"] / deployments if deployments else None


def explain(base_name: str, base: Scenario, base_summary: dict[str, Any], name: str, scenario: Scenario,
            summary: dict[str, Any]) -> str:
    """A short paragraph: the settings that differ, then lead time, failures and restore in cause-and-effect."""
    sentences = [f"**What changed:** compared with *{base_name}*, *{name}* has {describe_changes(base, scenario)}."]
    lead_a = base_summary["metrics"]["lead_time_hours"]["p50"]
    lead_b = summary["metrics"]["lead_time_hours"]["p50"]
    if lead_a is not None and lead_b is not None:
        stages_a, stages_b = base_summary["lead_time_breakdown"], summary["lead_time_breakdown"]
        moved = max(stages_a, key=lambda s: abs(stages_b.get(s, 0.0) - stages_a.get(s, 0.0)))
        text = (f"**Why:** median lead time {_change_word(lead_a, lead_b)} from {format_metric('lead_time_hours', lead_a)}"
                f" to {format_metric('lead_time_hours', lead_b)}")
        if abs(stages_b[moved] - stages_a[moved]) >= 0.5:
            text += (f", mostly because time spent *{stage_label(moved)}* went from "
                     f"{format_metric('lead_time_hours', stages_a[moved])} to "
                     f"{format_metric('lead_time_hours', stages_b[moved])} per change")
        sentences.append(text + ".")
    cfr_a = base_summary["metrics"]["change_failure_rate"]["p50"]
    cfr_b = summary["metrics"]["change_failure_rate"]["p50"]
    batch_a, batch_b = _batch(base_summary), _batch(summary)
    if cfr_a is not None and cfr_b is not None:
        text = (f"Change failure rate {_change_word(cfr_a, cfr_b)} from {format_metric('change_failure_rate', cfr_a)}"
                f" to {format_metric('change_failure_rate', cfr_b)}")
        if batch_a and batch_b and abs(batch_a - batch_b) / max(batch_a, batch_b) > 0.2:
            text += (f": a deployment now carries about {batch_b:.0f} change{'s' if round(batch_b) != 1 else ''} "
                     f"instead of {batch_a:.0f}, and the risk of shipping a defect grows with every change in "
                     f"the batch (1 − (1 − p)ⁿ)")
        sentences.append(text + ".")
    ttr_a = base_summary["metrics"]["time_to_restore_hours"]["p50"]
    ttr_b = summary["metrics"]["time_to_restore_hours"]["p50"]
    if ttr_a is not None and ttr_b is not None:
        ops = [k for k in changed_keys(base, scenario) if k.startswith(("operations.", "branching.feature_flags"))]
        why = f" ({', '.join(_lower_first(pretty_key(k)) for k in ops[:3])} changed)" if ops else ""
        sentences.append(f"Time to restore {_change_word(ttr_a, ttr_b)} from "
                         f"{format_metric('time_to_restore_hours', ttr_a)} to "
                         f"{format_metric('time_to_restore_hours', ttr_b)}{why}.")
    band_a, band_b = base_summary["bands"]["overall"], summary["bands"]["overall"]
    elite = summary["band_probabilities"].get("elite", 0.0)
    sentences.append(f"Overall: **{band_word(band_a)} → {band_word(band_b)}** "
                     f"({elite:.0%} of *{name}*'s replications are Elite on all four keys).")
    return " ".join(sentences)
