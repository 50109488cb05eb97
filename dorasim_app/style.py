"""Look and words shared by every view: band colours, labels, badges."""

from __future__ import annotations

from sim.cli.tables import STAGE_LABELS
from sim.metrics.bands import KEY_METRICS
from sim.metrics.fmt import format_metric

# One palette for every chart and card. A band is always written as a word too, never colour alone.
BAND_COLOURS = {"elite": "#1a9850", "high": "#2b8cbe", "medium": "#e69f00", "low": "#d7301f"}
BAND_BADGES = {"elite": "green", "high": "blue", "medium": "orange", "low": "red"}
NO_BAND_COLOUR = "#7f7f7f"
SCENARIO_COLOURS = ("#6b7280", "#2b6cb0")  # baseline grey, scenario blue
WAITING_COLOUR = "#e69f00"
WORKING_COLOUR = "#2b8cbe"

METRIC_LABELS = {
    "deployment_frequency_per_day": "Deploy frequency",
    "lead_time_hours": "Lead time",
    "change_failure_rate": "Change failure rate",
    "time_to_restore_hours": "Time to restore",
    "rework_rate": "Rework rate",
}
METRIC_HELP = {
    "deployment_frequency_per_day": "How often the team deploys to production (higher is better).",
    "lead_time_hours": "Median time from a change being finished to it running in production (lower is better).",
    "change_failure_rate": "Share of deployments that caused a production failure (lower is better).",
    "time_to_restore_hours": "Median time to restore service after a failed deployment (lower is better).",
    "rework_rate": "Share of deployments made to fix production (hotfixes, rollbacks); no published band.",
}
METRIC_BAND_KEY = {metric: band for band, metric in KEY_METRICS.items()}
HIGHER_IS_BETTER = {"deployment_frequency_per_day"}
LOG_SCALE_METRICS = {"deployment_frequency_per_day", "lead_time_hours", "time_to_restore_hours"}
METRIC_UNITS = {
    "deployment_frequency_per_day": "deployments per day",
    "lead_time_hours": "hours",
    "change_failure_rate": "share of deployments",
    "time_to_restore_hours": "hours",
    "rework_rate": "share of deployments",
}


def band_word(band: str | None) -> str:
    return band.capitalize() if band else "No data"


def band_badge(band: str | None) -> str:
    """Streamlit markdown for a coloured badge carrying the band word."""
    if band is None:
        return ":gray-badge[No data]"
    return f":{BAND_BADGES[band]}-badge[{band_word(band)}]"


def stage_label(stage: str) -> str:
    return STAGE_LABELS.get(stage, stage.replace("_", " "))


def signed_delta(key: str, diff: float | None) -> str | None:
    """``+1.2 h`` / ``-3.0 days`` in the metric's own unit; the sign drives st.metric's arrow."""
    if diff is None:
        return None
    sign = "+" if diff > 0 else "-" if diff < 0 else "±"
    return sign + format_metric(key, abs(diff))


# Words for the keys whose field name alone reads badly out of its section.
KEY_LABELS = {
    "branching.strategy": "Branching strategy",
    "ci.runners": "CI runners",
    "ci.test_suite_minutes": "Test suite duration",
    "ci.flaky_rate": "Flaky test rate",
    "ci.suite_cv": "Suite duration spread (CV)",
    "ci.skip_threshold_minutes": "Skip threshold",
    "release.cadence": "Release cadence",
    "release.deploy": "Deploy method",
    "operations.detect_minutes": "Time to detect",
    "operations.hotfix_hours": "Hand hotfix time",
    "operations.experts": "Experts on call",
    "team.overtime": "Overtime",
}


def pretty_key(key: str) -> str:
    """``ci.test_suite_minutes`` → ``Test suite duration``; other keys from their field name."""
    if key in KEY_LABELS:
        return KEY_LABELS[key]
    field = key.split(".")[-1]
    words = field.replace("_", " ")
    return words[:1].upper() + words[1:]


CSS = """
<style>
div[data-testid="stMetricValue"] { font-size: 1.7rem; }
div[data-testid="stMetricValue"] > div { white-space: normal; overflow: visible; }
div[data-testid="stMetricLabel"] p { font-weight: 600; }
</style>
"""
