"""The report of a plan: headline, phases, week-by-week charts, where it starts and ends, settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.metrics.registry import METRICS, format_metric
from sim.model.scenario import Scenario
from sim.report.html import Raw, band_span, charts_block, esc, page, table, value_text
from sim.report.sections import results_table, settings_section, stability_notes
from sim.report.specs import elite_probability, weekly_fan
from sim.report.story import pretty_key, show_value


def first_and_last_table(result: Mapping[str, Any]) -> str:
    """Week 1 against the last two weeks, metric by metric: where the plan starts and where it ends."""
    weeks = result.get("weeks") or []
    if not weeks:
        return ""
    first, final = weeks[0], result["final"]
    rows = []
    pooled = first.get("pooled") or {}
    for m in METRICS:
        start = pooled[m.key] if m.key in pooled else first["metrics"][m.key]["p50"]
        end = final["metrics"][m.key]["p50"]
        band_start = first["bands"].get(m.band_key) if m.band_key else None
        band_end = final["bands"].get(m.band_key) if m.band_key else None
        rows.append(
            [
                m.short,
                Raw(f"{esc(format_metric(m.key, start))} {band_span(band_start) if m.band_key else ''}"),
                Raw(f"{esc(format_metric(m.key, end))} {band_span(band_end) if m.band_key else ''}"),
            ]
        )
    rows.append(
        ["Overall band", Raw(band_span(first["bands"]["overall"])), Raw(band_span(final["bands"]["overall"]))]
    )
    return (
        f"<h2>Where {esc(result['plan'])} starts and ends</h2><p>Week 1 against the last "
        f"{final['days']} days (medians over replications; failure and rework rate in week 1 pooled over "
        f"all replications' deployments).</p>"
        + table(["metric", "week 1", f"last {final['days']} days"], rows)
    )


def weekly_rows(key: str, weeks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Week rows for a chart: p10/p50/p90 across replications, or for a rate the week's pooled rate
    (all replications' deployments together) when the plan result carries it."""
    rows = []
    for w in weeks:
        pooled = (w.get("pooled") or {}).get(key, "absent")
        if pooled != "absent":
            rows.append({"week": w["week"], "p10": None, "p50": pooled, "p90": None})
        else:
            rows.append({"week": w["week"], **w["metrics"][key]})
    return rows


def plan_report(
    results: Sequence[Mapping[str, Any]],
    scenarios: Mapping[str, Scenario],
    title: str = "90-day plan forecast",
) -> str:
    """One or more ``plan`` results (the first is the main plan) with phases, weekly charts and settings."""
    main = results[0]
    subtitle = (
        f"{', '.join(r['plan'] for r in results)} — {main['reps']} replications of {main['days']} days, "
        f"seed {main['seed']}, DORA {main['benchmark']} bands."
    )
    headline = table(
        ["plan", "first Elite week (median)", "P(Elite) over the last two weeks", "overall at the end"],
        [
            [
                r["plan"],
                r.get("first_elite_week") or "never",
                f"{r['probability_elite_at_end']:.0%}",
                Raw(band_span(r["final"]["bands"]["overall"])),
            ]
            for r in results
        ],
    )
    phase_rows = []
    marks = []
    for number, phase in enumerate(main.get("phases", []), start=1):
        changes = "; ".join(f"{pretty_key(k)} → {show_value(k, v)}" for k, v in phase["set"].items()) or "—"
        phase_rows.append(
            [
                number,
                value_text(phase["day"]),
                value_text(phase["ramp_days"]),
                phase["name"],
                changes,
                f"−{phase['capacity_cost']:.0%} / +{phase['defect_cost']:.0%}",
            ]
        )
        if phase["set"]:
            marks.append({"week": phase["day"] / 7 + 1, "label": str(number)})
    series = {r["plan"]: r["weeks"] for r in results}
    chart_specs = [elite_probability(series)]
    for m in METRICS:
        chart_specs.append(
            weekly_fan(m.key, {name: weekly_rows(m.key, weeks) for name, weeks in series.items()}, marks)
        )
    finals = []
    for r in results:
        final = dict(r["final"])
        final["scenario"] = f"{r['plan']} (last {final['days']} days)"
        finals.append(final)
    sections = [
        "<h2>Headline</h2>",
        headline,
        stability_notes(finals),
        f"<h2>Phases of {esc(main['plan'])}</h2><p>Adoption costs (output lost / defect-rate rise at the start of "
        f"a ramp) are assumed: the DORA 2018 report gives the J-curve's shape, not its size.</p>",
        table(["#", "from day", "ramp (days)", "phase", "settings", "cost"], phase_rows),
        "<h2>Week by week</h2><p>Shaded: p10–p90 across replications; line: the median; dashed: phase n starts "
        "(numbers as in the table above). Change failure rate and rework rate are each week's pooled rate: failed "
        "(or unplanned) deployments / deployments over all replications together.</p>",
        charts_block(chart_specs),
        first_and_last_table(main),
        "<h2>The last two weeks</h2>",
        results_table(finals),
        settings_section(scenarios),
    ]
    return page(title, subtitle, sections)
