"""Look and words shared by every view: band colours, labels, badges."""

from __future__ import annotations

from sim.metrics.registry import METRICS, format_change

# colours are fixed once, in sim.report.specs: the reports and the app draw with the same ones
from sim.report.specs import BAND_COLOURS as BAND_COLOURS
from sim.report.specs import SERIES_COLOURS as SERIES_COLOURS
from sim.report.story import band_word as band_word
from sim.report.story import pretty_key as pretty_key
from sim.report.story import stage_label as stage_label

# One palette for every chart and card. A band is always written as a word too, never colour alone.
BAND_BADGES = {"elite": "green", "high": "blue", "medium": "orange", "low": "red"}
NO_BAND_COLOUR = "#7f7f7f"
SCENARIO_COLOURS = SERIES_COLOURS[:2]  # baseline grey, scenario blue
WAITING_COLOUR = "#e69f00"
WORKING_COLOUR = "#2b8cbe"

# Words and facts about metrics and stages come from sim's registries (one fact, one place).
METRIC_LABELS = {m.key: m.short for m in METRICS}
METRIC_HELP = {m.key: m.help for m in METRICS}
METRIC_BAND_KEY = {m.key: m.band_key for m in METRICS if m.band_key}
HIGHER_IS_BETTER = {m.key for m in METRICS if m.higher_is_better}
LOG_SCALE_METRICS = {m.key for m in METRICS if m.log_scale}
METRIC_UNITS = {m.key: m.unit for m in METRICS}


def band_badge(band: str | None) -> str:
    """Streamlit markdown for a coloured badge carrying the band word."""
    if band is None:
        return ":gray-badge[No data]"
    return f":{BAND_BADGES[band]}-badge[{band_word(band)}]"


def signed_delta(key: str, diff: float | None) -> str | None:
    """``+1.2 h`` / ``-3.0 days`` in the metric's own unit; the sign drives st.metric's arrow."""
    return format_change(key, diff)


CSS = """
<style>
/* a compact page: results start near the top, even on a 1280x720 projector */
div[data-testid="stMainBlockContainer"], .block-container { padding-top: 2.2rem; padding-bottom: 3rem;
  padding-left: 1.6rem; padding-right: 1.6rem; }
h1, h2, h3 { padding-top: 0.3rem !important; padding-bottom: 0.2rem !important; }
div[data-testid="stMetric"] { padding: 0; }
div[data-testid="stMetricValue"] { font-size: 1.3rem; line-height: 1.6rem; }
div[data-testid="stMetricValue"] > div { white-space: normal; overflow: visible; text-overflow: clip; }
div[data-testid="stMetricLabel"] p { font-weight: 600; white-space: normal; overflow: visible;
  text-overflow: clip; }
div[data-testid="stMetricLabel"] > div { overflow: visible; }
div[data-testid="stMetricDelta"] { font-size: 0.85rem; }
section[data-testid="stSidebar"] div[data-testid="stExpander"] details summary p { font-weight: 600; }
/* the sidebar's Run stays in view while the levers below it scroll: results show the last run */
section[data-testid="stSidebar"] div.stElementContainer:has(div[data-testid="stFormSubmitButton"]) {
  position: sticky; top: 0; z-index: 5; background-color: #f8f8f7; padding: 0.35rem 0; }
</style>
"""
