"""Self-contained HTML reports of a comparison, a plan and a forecast (docs/app.md).

One file, no network: styles are inline and every chart is an inline SVG drawn offline from a
Vega-Lite spec by ``vl-convert`` (the ``report`` extra). Without it, the report says the charts
are missing and keeps its tables. Each report carries the settings, the results with their spread
(p10–p90, or p50/p85/p95 dates), the stability of every run, and the assumptions with their sources,
and prints to PDF from a browser (A4, charts kept whole).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sim
from sim.metrics.registry import KEY_METRICS, METRICS, format_metric
from sim.model.constants import constants_table
from sim.model.scenario import Scenario, get_value, parameter_info, parameter_keys
from sim.model.stages import STAGE_LABELS
from sim.report.specs import elite_probability, metric_ranges, ship_curve, weekly_fan
from sim.report.story import explain, pretty_key, show_value, to_html

CSS = """
body { font-family: Helvetica, Arial, sans-serif; color: #1f2933; max-width: 1100px; margin: 24px auto;
       padding: 0 16px; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; } h2 { font-size: 1.2rem; margin-top: 1.8rem;
     border-bottom: 1px solid #d0d5dd; padding-bottom: 0.2rem; }
.meta { color: #52606d; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.6rem 0; font-size: 0.88rem; }
th, td { border: 1px solid #d0d5dd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f4f6; } td.num { text-align: right; white-space: nowrap; }
.band { font-weight: bold; padding: 0 4px; border-radius: 3px; color: white; }
.band-elite { background: #1a9850; } .band-high { background: #2b8cbe; } .band-medium { background: #e69f00; }
.band-low { background: #d7301f; } .band-none { background: #7f7f7f; }
.warn { background: #fff4e5; border-left: 4px solid #e69f00; padding: 6px 10px; margin: 0.6rem 0; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; } .chart { break-inside: avoid; page-break-inside: avoid; }
.chart svg { max-width: 100%; height: auto; }
@media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } table { break-inside: avoid; } }
@page { size: A4; margin: 14mm; }
"""
NO_CHARTS = ("Charts are not included: install the report extra (pip install 'dorasim[report]') to draw them. "
             "The tables hold every number.")


def esc(value: Any) -> str:
    return html.escape(str(value))


def svg(spec: Mapping[str, Any]) -> str | None:
    """The chart as inline SVG, or None when vl-convert is not installed."""
    try:
        import vl_convert
    except ImportError:
        return None
    return str(vl_convert.vegalite_to_svg(dict(spec)))


def charts_block(chart_specs: Iterable[Mapping[str, Any]]) -> str:
    drawn = [svg(s) for s in chart_specs]
    if any(d is None for d in drawn):
        return f'<p class="warn">{esc(NO_CHARTS)}</p>'
    return '<div class="charts">' + "".join(f'<div class="chart">{d}</div>' for d in drawn) + "</div>"


def band_span(band: str | None) -> str:
    word = band.capitalize() if band else "no data"
    return f'<span class="band band-{band or "none"}">{esc(word)}</span>'


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = ()) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            text = cell if isinstance(cell, Raw) else esc(cell)
            cells.append(f'<td class="num">{text}</td>' if i in numeric else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


class Raw(str):
    """HTML that is already escaped (a badge)."""


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"meta\">{esc(subtitle)}<br>Made with dorasim {esc(sim.__version__)} "
            f"on {generated}. Every number is simulated by a discrete-event model and scored with the DORA "
            f"definitions; it is a what-if, not a measurement.</p>" + "".join(sections) + "</body></html>\n")


# ----------------------------------------------------------------------------------------------
# Shared sections


def stability_notes(summaries: Sequence[Mapping[str, Any]]) -> str:
    """A warning for every run whose backlog grows without bound (its numbers grow with the horizon)."""
    notes = []
    for s in summaries:
        stability = s.get("stability") or {}
        if stability and not stability.get("stable", True):
            growth = stability.get("backlog_growth_per_week")
            grows = f" (the backlog grows by about {growth:.0f} changes a week)" if isinstance(growth, int | float) else ""
            notes.append(f'<p class="warn"><b>{esc(s["scenario"])} is not stable</b>: work arrives faster than it '
                         f'ships{esc(grows)}, so its lead time and backlog keep growing with the horizon; read its '
                         f'numbers as "getting worse", not as a level.</p>')
    return "".join(notes)


def settings_section(scenarios: Mapping[str, Scenario]) -> str:
    """Every parameter that differs between the scenarios, then where each number comes from."""
    names = list(scenarios)
    first = next(iter(scenarios.values()))
    differing = [k for k in parameter_keys()
                 if any(get_value(s, k) != get_value(first, k) for s in scenarios.values())]
    rows = [[parameter_info(k)["label"], k, *[show_value(k, get_value(s, k)) for s in scenarios.values()]]
            for k in differing]
    out = []
    if len(names) > 1 and rows:  # one scenario has no settings to set apart: its assumptions say everything
        out.append("<h2>Settings</h2><p>Settings that differ between the scenarios (every other setting is the "
                   "same):</p>")
        out.append(table(["setting", "key", *names], rows))
    elif len(names) > 1:
        out.append("<h2>Settings</h2><p>The scenarios use the same settings.</p>")
    out.append(assumptions_table(first, names[0]))
    return "".join(out)


def assumptions_table(scenario: Scenario, name: str) -> str:
    rows = []
    for key in parameter_keys():
        info = parameter_info(key)
        rows.append([info["label"], key, show_value(key, get_value(scenario, key)), info["unit"], info["source"],
                     info.get("cite", "")])
    constants = [[c["name"], value_text(c["value"]), c["unit"], c["source"], c["meaning"]] for c in constants_table()]
    return (f"<h2>Assumptions ({esc(name)})</h2><p>Every parameter, its unit and where the number comes from: "
            f"<b>published</b> (with the study), <b>assumed</b> (a judgement to replace with your own) or "
            f"<b>measured</b> (from a team's logs).</p>"
            + table(["setting", "key", "value", "unit", "source", "citation"], rows)
            + "<p>The model's fixed constants (shapes of distributions and clock times, the same in every "
              "scenario):</p>"
            + table(["constant", "value", "unit", "source", "meaning"], constants))


def results_table(summaries: Sequence[Mapping[str, Any]]) -> str:
    headers = ["metric", *[s["scenario"] for s in summaries]]
    rows: list[list[Any]] = []
    for m in METRICS:
        cells: list[Any] = [m.short]  # the names the app's cards use
        for s in summaries:
            stats = s["metrics"][m.key]
            band = s["bands"].get(m.band_key) if m.band_key else None
            text = (f"{esc(format_metric(m.key, stats['p50']))} {band_span(band) if m.band_key else ''}<br>"
                    f"<small>p10–p90 {esc(format_metric(m.key, stats['p10']))} – "
                    f"{esc(format_metric(m.key, stats['p90']))}</small>")
            cells.append(Raw(text))
        rows.append(cells)
    rows.append(["Overall band", *[Raw(band_span(s["bands"]["overall"])) for s in summaries]])
    rows.append(["Replications Elite overall", *[f"{s['band_probabilities']['elite']:.0%}" for s in summaries]])
    rows.append(["Changes / deployments / incidents (all replications)",
                 *[f"{s['counts']['changes']} / {s['counts']['deployments']} / {s['counts']['incidents']}"
                   for s in summaries]])
    return table(headers, rows, numeric=range(1, len(headers)))


def breakdown_table(summaries: Sequence[Mapping[str, Any]]) -> str:
    stages: list[str] = []
    for s in summaries:
        stages += [k for k in s.get("lead_time_breakdown", {}) if k not in stages]
    rows = [[STAGE_LABELS.get(k, k.replace("_", " ")),
             *[format_metric("stage_hours", s.get("lead_time_breakdown", {}).get(k)) for s in summaries]]
            for k in stages]
    rows.append(["flow efficiency (time worked on / lead time)",
                 *[format_metric("flow_efficiency", s.get("flow_efficiency")) for s in summaries]])
    return ("<h2>Where a change's lead time goes</h2><p>Mean time per deployed change in each stage.</p>"
            + table(["stage", *[s["scenario"] for s in summaries]], rows, numeric=range(1, len(summaries) + 1)))


def teams_section(summaries: Sequence[Mapping[str, Any]]) -> str:
    out = []
    for s in summaries:
        teams = s.get("teams") or []
        if not teams:
            continue
        rows = [[f"team {t.get('team')}", t.get("engineers", ""),
                 *[format_metric(m.key, (t.get("metrics", {}).get(m.key) or {}).get("p50")
                                 if isinstance(t.get("metrics", {}).get(m.key), dict)
                                 else t.get("metrics", {}).get(m.key)) for m in KEY_METRICS],
                 Raw(band_span((t.get("bands") or {}).get("overall")))] for t in teams]
        out.append(f"<h2>Teams in {esc(s['scenario'])}</h2>"
                   + table(["team", "engineers", *[m.short for m in KEY_METRICS], "overall"], rows))
    return "".join(out)


# ----------------------------------------------------------------------------------------------
# The three reports


def compare_report(summaries: Sequence[Mapping[str, Any]], scenarios: Mapping[str, Scenario],
                   title: str = "Scenario comparison") -> str:
    """A comparison (``compare`` JSON's ``scenarios``, reference first) with its settings and charts."""
    ref = summaries[0]
    subtitle = (f"{', '.join(s['scenario'] for s in summaries)} — {ref['reps']} replications of {ref['days']} days, "
                f"seed {ref['seed']}, DORA {ref['benchmark']} bands, common random numbers.")
    chart_specs = [metric_ranges(m.key, [{"scenario": s["scenario"], **s["metrics"][m.key]} for s in summaries],
                                       ref["benchmark"]) for m in METRICS]
    sections = [
        "<h2>Results</h2><p>Median over replications, the band of the median, and the p10–p90 spread.</p>",
        stability_notes(summaries), results_table(summaries), why_section(summaries, scenarios),
        "<h2>Spread across replications</h2><p>Line: p10–p90 of the replications; diamond: the median; "
        "shaded: the DORA bands.</p>", charts_block(chart_specs),
        breakdown_table(summaries), teams_section(summaries), settings_section(scenarios),
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
        rows.append([m.short, Raw(f"{esc(format_metric(m.key, start))} {band_span(band_start) if m.band_key else ''}"),
                     Raw(f"{esc(format_metric(m.key, end))} {band_span(band_end) if m.band_key else ''}")])
    rows.append(["Overall band", Raw(band_span(first["bands"]["overall"])), Raw(band_span(final["bands"]["overall"]))])
    return (f"<h2>Where {esc(result['plan'])} starts and ends</h2><p>Week 1 against the last "
            f"{final['days']} days (medians over replications; failure and rework rate in week 1 pooled over "
            f"all replications' deployments).</p>" + table(["metric", "week 1", f"last {final['days']} days"], rows))


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


def plan_report(results: Sequence[Mapping[str, Any]], scenarios: Mapping[str, Scenario],
                title: str = "90-day plan forecast") -> str:
    """One or more ``plan`` results (the first is the main plan) with phases, weekly charts and settings."""
    main = results[0]
    subtitle = (f"{', '.join(r['plan'] for r in results)} — {main['reps']} replications of {main['days']} days, "
                f"seed {main['seed']}, DORA {main['benchmark']} bands.")
    headline = table(["plan", "first Elite week (median)", "P(Elite) over the last two weeks", "overall at the end"],
                     [[r["plan"], r.get("first_elite_week") or "never", f"{r['probability_elite_at_end']:.0%}",
                       Raw(band_span(r["final"]["bands"]["overall"]))] for r in results])
    phase_rows = []
    marks = []
    for number, phase in enumerate(main.get("phases", []), start=1):
        changes = "; ".join(f"{pretty_key(k)} → {show_value(k, v)}" for k, v in phase["set"].items()) or "—"
        phase_rows.append([number, value_text(phase["day"]), value_text(phase["ramp_days"]), phase["name"], changes,
                           f"−{phase['capacity_cost']:.0%} / +{phase['defect_cost']:.0%}"])
        if phase["set"]:
            marks.append({"week": phase["day"] / 7 + 1, "label": str(number)})
    series = {r["plan"]: r["weeks"] for r in results}
    chart_specs = [elite_probability(series)]
    for m in METRICS:
        chart_specs.append(weekly_fan(m.key, {name: weekly_rows(m.key, weeks) for name, weeks in series.items()},
                                            marks))
    finals = []
    for r in results:
        final = dict(r["final"])
        final["scenario"] = f"{r['plan']} (last {final['days']} days)"
        finals.append(final)
    sections = [
        "<h2>Headline</h2>", headline, stability_notes(finals),
        f"<h2>Phases of {esc(main['plan'])}</h2><p>Adoption costs (output lost / defect-rate rise at the start of "
        f"a ramp) are assumed: the DORA 2018 report gives the J-curve's shape, not its size.</p>",
        table(["#", "from day", "ramp (days)", "phase", "settings", "cost"], phase_rows),
        "<h2>Week by week</h2><p>Shaded: p10–p90 across replications; line: the median; dashed: phase n starts "
        "(numbers as in the table above). Change failure rate and rework rate are each week's pooled rate: failed "
        "(or unplanned) deployments / deployments over all replications together.</p>",
        charts_block(chart_specs),
        first_and_last_table(main), "<h2>The last two weeks</h2>", results_table(finals), settings_section(scenarios),
    ]
    return page(title, subtitle, sections)


def forecast_report(results: Sequence[Mapping[str, Any]], curves: Mapping[str, Sequence[Mapping[str, Any]]],
                    scenarios: Mapping[str, Scenario], title: str = "When will it ship?") -> str:
    """Ship-date forecasts (``forecast`` JSON each) side by side, their curves and the settings."""
    main = results[0]
    target = main.get("target")
    subtitle = (f"{main['changes']} changes starting {main['start']} — {main['reps']} replications, seed {main['seed']}"
                + (f", target {target}" if target else "") + ".")
    rows = []
    for r in results:
        rows.append([r["scenario"], r["p50"] or "not within the horizon", r["p85"] or "not within the horizon",
                     r["p95"] or "not within the horizon",
                     "—" if r.get("spread_days") is None else f"{r['spread_days']} days",
                     "—" if r.get("probability_by_target") is None else f"{r['probability_by_target']:.0%}",
                     r.get("unfinished", 0)])
    sections = [
        "<h2>Ship dates</h2><p>The work is the first "
        f"{main['changes']} changes the team creates from {esc(main['start'])} on; it ships when the last of them "
        "is live. p85 is the date by which 85 % of replications had shipped: a date to commit to.</p>",
        table(["scenario", "p50", "p85", "p95", "spread p50→p95", "P(live by target)", "not finished"], rows,
              numeric=(4, 5, 6)),
        charts_block([ship_curve(curves, target)]),
        settings_section(scenarios),
    ]
    return page(title, subtitle, sections)
