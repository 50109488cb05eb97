"""The report of ship-date forecasts: the dates side by side, their curves and the settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sim.model.scenario import Scenario
from sim.report.html import charts_block, esc, page, table
from sim.report.sections import settings_section
from sim.report.specs import ship_curve


def forecast_report(
    results: Sequence[Mapping[str, Any]],
    curves: Mapping[str, Sequence[Mapping[str, Any]]],
    scenarios: Mapping[str, Scenario],
    title: str = "When will it ship?",
) -> str:
    """Ship-date forecasts (``forecast`` JSON each) side by side, their curves and the settings."""
    main = results[0]
    target = main.get("target")
    subtitle = (
        f"{main['changes']} changes starting {main['start']} — {main['reps']} replications, seed {main['seed']}"
        + (f", target {target}" if target else "")
        + "."
    )
    rows = []
    for r in results:
        rows.append(
            [
                r["scenario"],
                r["p50"] or "not within the horizon",
                r["p85"] or "not within the horizon",
                r["p95"] or "not within the horizon",
                "—" if r.get("spread_days") is None else f"{r['spread_days']} days",
                "—" if r.get("probability_by_target") is None else f"{r['probability_by_target']:.0%}",
                r.get("unfinished", 0),
            ]
        )
    sections = [
        "<h2>Ship dates</h2><p>The work is the first "
        f"{main['changes']} changes the team creates from {esc(main['start'])} on; it ships when the last of them "
        "is live. p85 is the date by which 85 % of replications had shipped: a date to commit to.</p>",
        table(
            ["scenario", "p50", "p85", "p95", "spread p50→p95", "P(live by target)", "not finished"],
            rows,
            numeric=(4, 5, 6),
        ),
        charts_block([ship_curve(curves, target)]),
        settings_section(scenarios),
    ]
    return page(title, subtitle, sections)
