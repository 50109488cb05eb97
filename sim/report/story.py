"""Plain words for a comparison: what changed between two scenarios, and which mechanism moved the metrics.

The app's Compare view and the comparison report (app download or ``compare --report``) say the same
sentences. Markdown-light: ``**bold**`` and ``*italic*`` (:func:`to_html` turns them into HTML)."""

from __future__ import annotations

import html
import math
import re
from typing import Any

from sim.metrics.registry import format_metric
from sim.model.scenario import Scenario, get_value, parameter_info, parameter_keys
from sim.model.stages import STAGE_LABELS

MAX_LISTED = 5


def same_value(a: Any, b: Any) -> bool:
    """Equal settings (floats compared to twelve digits)."""
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return a == b


def band_word(band: str | None) -> str:
    return band.capitalize() if band else "No data"


def pretty_key(key: str) -> str:
    """A scenario key in plain words (its label in the scenario schema): ``ci.test_suite_minutes`` → ``Test suite duration``."""
    try:
        return parameter_info(key)["label"]
    except (KeyError, ValueError, AttributeError):
        field = key.split(".")[-1].replace("_", " ")
        return field[:1].upper() + field[1:]


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage.replace("_", " "))


def to_html(text: str) -> str:
    """The sentences as HTML: escaped, ``**bold**`` and ``*italic*`` kept, ``:colour-badge[Word]`` as the word."""
    out = html.escape(text, quote=False)
    out = re.sub(r":[a-z]+-badge\[([^\]]*)\]", r"\1", out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", out)
    return re.sub(r"\*(.+?)\*", r"<i>\1</i>", out)


def show_value(key: str, value: Any) -> str:
    """A setting's value in words: ``no cap`` for a batch size of 0, ``on``/``off``, ``long-lived``."""
    return _show(key, value)


def _show(key: str, value: Any) -> str:
    if key == "release.max_batch_size" and value == 0:
        return "no cap"
    if key == "release.recorded_releases":  # a list of instants: say how many
        count = len(str(value).split())
        return f"{count} release{'s' if count != 1 else ''}" if count else "none"
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


RELATIVE_SAME = 0.03  # two medians within 3 % of each other "stay about the same"


def movement(key: str, before: float, after: float) -> str:
    """``rose from 10.1 days to 12.0 days``, ``stayed at 10.1 days`` (same as written), ``stayed about the
    same (10.1 days → 10.2 days)`` (within 3 %)."""
    a, b = format_metric(key, before), format_metric(key, after)
    if a == b:
        return f"stayed at {a}"
    scale = max(abs(before), abs(after))
    if scale > 0 and abs(after - before) / scale < RELATIVE_SAME:
        return f"stayed about the same ({a} → {b})"
    return f"{'rose' if after > before else 'fell'} from {a} to {b}"


def _batch(summary: dict[str, Any]) -> float | None:
    deployments = summary["counts"]["deployments"]
    return summary["counts"]["changes"] / deployments if deployments else None


def changes_per_week(summary: dict[str, Any]) -> float | None:
    """Changes shipped a week (first deployed in the window) in one replication; ``shipped_per_week``
    when the run carries it, else the changes the logs count."""
    if summary.get("shipped_per_week") is not None:
        return float(summary["shipped_per_week"])
    reps, days = summary.get("reps") or 0, summary.get("days") or 0
    if not reps or not days:
        return None
    return summary["counts"]["changes"] / reps / (days / 7)


def hours_per_week(scenario: Scenario) -> float:
    """Hours each engineer works a week: a normal week's hours times the overtime factor."""
    return scenario.team.working_hours_per_day * 5 * scenario.team.overtime


def effort(
    base_name: str,
    base: Scenario,
    base_summary: dict[str, Any],
    name: str,
    scenario: Scenario,
    summary: dict[str, Any],
) -> str:
    """Output and what it costs in hours: changes a week and hours worked, against the baseline."""
    out_a, out_b = changes_per_week(base_summary), changes_per_week(summary)
    hours_a, hours_b = hours_per_week(base), hours_per_week(scenario)
    parts = []
    if out_a and out_b:
        change = (out_b - out_a) / out_a
        moved = "the same as" if abs(change) < 0.005 else f"{change:+.0%} against"
        parts.append(f"**Output:** {out_b:.0f} changes shipped a week ({moved} {base_name}'s {out_a:.0f})")
    team_a = hours_a * base.team.engineers
    team_b = hours_b * scenario.team.engineers
    if abs(hours_b - hours_a) < 0.05 and base.team.engineers == scenario.team.engineers:
        parts.append(f"**Hours:** {hours_b:.0f} a week per engineer, as in {base_name}")
    else:
        extra = team_b - team_a
        parts.append(
            f"**Hours:** {hours_b:.0f} a week per engineer ({base_name}: {hours_a:.0f}) — "
            f"{extra:+.0f} team hours every week" + (" of overtime" if scenario.team.overtime > 1 else "")
        )
    return " · ".join(parts) + "."


def _more_or_fewer(before: float, after: float) -> str:
    """``26% more``, ``12% fewer``, ``150 times as many`` (a ratio beyond ten is not a percentage)."""
    ratio = after / before
    if ratio >= 10:
        return f"{ratio:.0f} times as many"
    if ratio <= 0.1:
        return f"a {1 / ratio:.0f}th as many" if ratio > 0 else "none of the"
    return f"{abs(ratio - 1):.0%} {'more' if ratio >= 1 else 'fewer'}"


def output_sentence(
    base: Scenario, base_summary: dict[str, Any], scenario: Scenario, summary: dict[str, Any]
) -> str | None:
    """What more hours or more people ship — naming only what differs (hours, engineers or both)."""
    out_a, out_b = changes_per_week(base_summary), changes_per_week(summary)
    hours_a, hours_b = hours_per_week(base), hours_per_week(scenario)
    people_a, people_b = base.team.engineers, scenario.team.engineers
    if not out_a or not out_b or (abs(hours_a - hours_b) < 0.05 and people_a == people_b):
        return None
    hours = abs(hours_a - hours_b) >= 0.05
    people = f"{people_b} engineer{'s' if people_b != 1 else ''} instead of {people_a}"
    if hours:
        who = f"Working {hours_b:.0f} hours a week instead of {hours_a:.0f}"
        who += f", with {people}," if people_a != people_b else ""
        verb = "ships"
    else:
        who, verb = people[:1].upper() + people[1:], "ship" if people_b != 1 else "ships"
    same = all(k.startswith(("team.", "org.")) for k in changed_keys(base, scenario))
    return f"{who} {verb} {_more_or_fewer(out_a, out_b)} changes a week" + (
        " — the process they go through is the same." if same else "."
    )


def explain(
    base_name: str,
    base: Scenario,
    base_summary: dict[str, Any],
    name: str,
    scenario: Scenario,
    summary: dict[str, Any],
) -> str:
    """A short paragraph: the settings that differ, then output and hours, lead time, failures and restore."""
    sentences = [
        f"**What changed:** compared with *{base_name}*, *{name}* has {describe_changes(base, scenario)}."
    ]
    sentence = output_sentence(base, base_summary, scenario, summary)
    if sentence:
        sentences.append(sentence)
    lead_a = base_summary["metrics"]["lead_time_hours"]["p50"]
    lead_b = summary["metrics"]["lead_time_hours"]["p50"]
    if lead_a is not None and lead_b is not None:
        stages_a, stages_b = (
            base_summary.get("lead_time_breakdown", {}),
            summary.get("lead_time_breakdown", {}),
        )
        stages = list(dict.fromkeys([*stages_a, *stages_b]))
        text = f"**Why:** median lead time {movement('lead_time_hours', lead_a, lead_b)}"
        if stages and format_metric("lead_time_hours", lead_a) != format_metric("lead_time_hours", lead_b):
            moved = max(stages, key=lambda s: abs(stages_b.get(s, 0.0) - stages_a.get(s, 0.0)))
            before, after = stages_a.get(moved, 0.0), stages_b.get(moved, 0.0)
            if abs(after - before) >= 0.5 and abs(after - before) / max(before, after, 1e-9) >= RELATIVE_SAME:
                text += (
                    f", mostly because time spent *{stage_label(moved)}* went from "
                    f"{format_metric('lead_time_hours', before)} to "
                    f"{format_metric('lead_time_hours', after)} per change"
                )
        sentences.append(text + ".")
    cfr_a = base_summary["metrics"]["change_failure_rate"]["p50"]
    cfr_b = summary["metrics"]["change_failure_rate"]["p50"]
    batch_a, batch_b = _batch(base_summary), _batch(summary)
    if cfr_a is not None and cfr_b is not None:
        text = f"Change failure rate {movement('change_failure_rate', cfr_a, cfr_b)}"
        if batch_a and batch_b and abs(batch_a - batch_b) / max(batch_a, batch_b) > 0.2:
            text += (
                f": a deployment now carries about {batch_b:.0f} change{'s' if round(batch_b) != 1 else ''} "
                f"instead of {batch_a:.0f}, and the risk of shipping a defect grows with every change in "
                f"the batch (1 − (1 − p)ⁿ)"
            )
        elif scenario.team.overtime > base.team.overtime and cfr_b > cfr_a:
            text += ": tired hours make more defects, and every extra defect in a batch can fail it"
        sentences.append(text + ".")
    ttr_a = base_summary["metrics"]["time_to_restore_hours"]["p50"]
    ttr_b = summary["metrics"]["time_to_restore_hours"]["p50"]
    if ttr_a is not None and ttr_b is not None:
        ops = [
            k
            for k in changed_keys(base, scenario)
            if k.startswith(("operations.", "branching.feature_flags"))
        ]
        why = f" ({', '.join(_lower_first(pretty_key(k)) for k in ops[:3])} changed)" if ops else ""
        sentences.append(f"Time to restore {movement('time_to_restore_hours', ttr_a, ttr_b)}{why}.")
    band_a, band_b = base_summary["bands"]["overall"], summary["bands"]["overall"]
    elite = summary["band_probabilities"].get("elite", 0.0)
    sentences.append(
        f"Overall: **{band_word(band_a)} → {band_word(band_b)}** "
        f"({elite:.0%} of *{name}*'s replications are Elite on all four keys)."
    )
    for label, result in ((base_name, base_summary), (name, summary)):
        if (result.get("stability") or {}).get("stable") is False:
            sentences.append(
                f"⚠ *{label}* is not stable: its backlog keeps growing, so its lead time depends on "
                f"how long you simulate."
            )
    return " ".join(sentences)
