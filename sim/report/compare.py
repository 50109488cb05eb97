"""The report of a comparison: results, "What changed, and why", spread charts, lead time, teams, settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.metrics.registry import METRICS
from sim.model.scenario import Scenario
from sim.report.html import charts_block, page
from sim.report.sections import (
    breakdown_table,
    results_table,
    settings_section,
    stability_notes,
    teams_section,
)
from sim.report.specs import metric_ranges
from sim.report.story import explain, to_html


def compare_report(
    summaries: Sequence[Mapping[str, Any]],
    scenarios: Mapping[str, Scenario],
    title: str = "Scenario comparison",
) -> str:
    """A comparison (``compare`` JSON's ``scenarios``, reference first) with its settings and charts."""
    ref = summaries[0]
    subtitle = (
        f"{', '.join(s['scenario'] for s in summaries)} — {ref['reps']} replications of {ref['days']} days, "
        f"seed {ref['seed']}, DORA {ref['benchmark']} bands, common random numbers."
    )
    chart_specs = [
        metric_ranges(
            m.key, [{"scenario": s["scenario"], **s["metrics"][m.key]} for s in summaries], ref["benchmark"]
        )
        for m in METRICS
    ]
    sections = [
        "<h2>Results</h2><p>Median over replications, the band of the median, and the p10–p90 spread.</p>",
        stability_notes(summaries),
        results_table(summaries),
        why_section(summaries, scenarios),
        "<h2>Spread across replications</h2><p>Line: p10–p90 of the replications; diamond: the median; "
        "shaded: the DORA bands.</p>",
        charts_block(chart_specs),
        breakdown_table(summaries),
        teams_section(summaries),
        settings_section(scenarios),
    ]
    return page(title, subtitle, sections)


def why_section(summaries: Sequence[Mapping[str, Any]], scenarios: Mapping[str, Scenario]) -> str:
    """The app's "What changed / Why" for each scenario against the reference."""
    ref = summaries[0]
    base = scenarios.get(ref["scenario"])
    if base is None:
        return ""
    parts = []
    for other in summaries[1:]:
        scenario = scenarios.get(other["scenario"])
        if scenario is not None:
            text = explain(ref["scenario"], base, dict(ref), other["scenario"], scenario, dict(other))
            parts.append(f"<p>{to_html(text)}</p>")
    return ("<h2>What changed, and why</h2>" + "".join(parts)) if parts else ""
