"""The sections the reports share: stability warnings, settings and assumptions, results with their
spread, where lead time goes, and teams."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.metrics.registry import KEY_METRICS, METRICS, format_metric
from sim.model.constants import constants_table
from sim.model.scenario import Scenario, get_value, parameter_info, parameter_keys
from sim.model.stages import STAGE_LABELS
from sim.report.html import Raw, band_span, esc, table, value_text
from sim.report.story import show_value


def stability_notes(summaries: Sequence[Mapping[str, Any]]) -> str:
    """A warning for every run whose backlog grows without bound (its numbers grow with the horizon)."""
    notes = []
    for s in summaries:
        stability = s.get("stability") or {}
        if stability and not stability.get("stable", True):
            growth = stability.get("backlog_growth_per_week")
            grows = (
                f" (the backlog grows by about {growth:.0f} changes a week)"
                if isinstance(growth, int | float)
                else ""
            )
            notes.append(
                f'<p class="warn"><b>{esc(s["scenario"])} is not stable</b>: work arrives faster than it '
                f"ships{esc(grows)}, so its lead time and backlog keep growing with the horizon; read its "
                f'numbers as "getting worse", not as a level.</p>'
            )
    return "".join(notes)


def settings_section(scenarios: Mapping[str, Scenario]) -> str:
    """Every parameter that differs between the scenarios, then where each number comes from."""
    names = list(scenarios)
    first = next(iter(scenarios.values()))
    differing = [
        k for k in parameter_keys() if any(get_value(s, k) != get_value(first, k) for s in scenarios.values())
    ]
    rows = [
        [parameter_info(k)["label"], k, *[show_value(k, get_value(s, k)) for s in scenarios.values()]]
        for k in differing
    ]
    out = []
    if len(names) > 1 and rows:  # one scenario has no settings to set apart: its assumptions say everything
        out.append(
            "<h2>Settings</h2><p>Settings that differ between the scenarios (every other setting is the "
            "same):</p>"
        )
        out.append(table(["setting", "key", *names], rows))
    elif len(names) > 1:
        out.append("<h2>Settings</h2><p>The scenarios use the same settings.</p>")
    out.append(assumptions_table(first, names[0]))
    return "".join(out)


def assumptions_table(scenario: Scenario, name: str) -> str:
    rows = []
    for key in parameter_keys():
        info = parameter_info(key)
        rows.append(
            [
                info["label"],
                key,
                show_value(key, get_value(scenario, key)),
                info["unit"],
                info["source"],
                info.get("cite", ""),
            ]
        )
    constants = [
        [c["name"], value_text(c["value"]), c["unit"], c["source"], c["meaning"]] for c in constants_table()
    ]
    return (
        f"<h2>Assumptions ({esc(name)})</h2><p>Every parameter, its unit and where the number comes from: "
        f"<b>published</b> (with the study), <b>assumed</b> (a judgement to replace with your own) or "
        f"<b>measured</b> (from a team's logs).</p>"
        + table(["setting", "key", "value", "unit", "source", "citation"], rows)
        + "<p>The model's fixed constants (shapes of distributions and clock times, the same in every "
        "scenario):</p>" + table(["constant", "value", "unit", "source", "meaning"], constants)
    )


def results_table(summaries: Sequence[Mapping[str, Any]]) -> str:
    headers = ["metric", *[s["scenario"] for s in summaries]]
    rows: list[list[Any]] = []
    for m in METRICS:
        cells: list[Any] = [m.short]  # the names the app's cards use
        for s in summaries:
            stats = s["metrics"][m.key]
            band = s["bands"].get(m.band_key) if m.band_key else None
            text = (
                f"{esc(format_metric(m.key, stats['p50']))} {band_span(band) if m.band_key else ''}<br>"
                f"<small>p10–p90 {esc(format_metric(m.key, stats['p10']))} – "
                f"{esc(format_metric(m.key, stats['p90']))}</small>"
            )
            cells.append(Raw(text))
        rows.append(cells)
    rows.append(["Overall band", *[Raw(band_span(s["bands"]["overall"])) for s in summaries]])
    rows.append(
        ["Replications Elite overall", *[f"{s['band_probabilities']['elite']:.0%}" for s in summaries]]
    )
    rows.append(
        [
            "Changes / deployments / incidents (all replications)",
            *[
                f"{s['counts']['changes']} / {s['counts']['deployments']} / {s['counts']['incidents']}"
                for s in summaries
            ],
        ]
    )
    return table(headers, rows, numeric=range(1, len(headers)))


def breakdown_table(summaries: Sequence[Mapping[str, Any]]) -> str:
    stages: list[str] = []
    for s in summaries:
        stages += [k for k in s.get("lead_time_breakdown", {}) if k not in stages]
    rows = [
        [
            STAGE_LABELS.get(k, k.replace("_", " ")),
            *[format_metric("stage_hours", s.get("lead_time_breakdown", {}).get(k)) for s in summaries],
        ]
        for k in stages
    ]
    rows.append(
        [
            "flow efficiency (time worked on / lead time)",
            *[format_metric("flow_efficiency", s.get("flow_efficiency")) for s in summaries],
        ]
    )
    return (
        "<h2>Where a change's lead time goes</h2><p>Mean time per deployed change in each stage.</p>"
        + table(["stage", *[s["scenario"] for s in summaries]], rows, numeric=range(1, len(summaries) + 1))
    )


def teams_section(summaries: Sequence[Mapping[str, Any]]) -> str:
    out = []
    for s in summaries:
        teams = s.get("teams") or []
        if not teams:
            continue
        rows = [
            [
                f"team {t.get('team')}",
                t.get("engineers", ""),
                *[
                    format_metric(
                        m.key,
                        (t.get("metrics", {}).get(m.key) or {}).get("p50")
                        if isinstance(t.get("metrics", {}).get(m.key), dict)
                        else t.get("metrics", {}).get(m.key),
                    )
                    for m in KEY_METRICS
                ],
                Raw(band_span((t.get("bands") or {}).get("overall"))),
            ]
            for t in teams
        ]
        out.append(
            f"<h2>Teams in {esc(s['scenario'])}</h2>"
            + table(["team", "engineers", *[m.short for m in KEY_METRICS], "overall"], rows)
        )
    return "".join(out)
