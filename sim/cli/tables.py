"""Readable tables (rich) for every command: score, run, compare; the words come from the registries."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from sim.analysis.results import RunResult
from sim.analysis.stability import stability_sentence
from sim.metrics.registry import METRICS, NULL, format_change, format_metric
from sim.model.stages import STAGE_LABELS

BAND_STYLES = {"elite": "bold green", "high": "green", "medium": "yellow", "low": "red"}


def band_text(band: str | None) -> Text:
    """A band coloured by level (``str()`` of it is the plain word); ``—`` for null."""
    if band is None:
        return Text(NULL, style="dim")
    return Text(band, style=BAND_STYLES.get(band, ""))


def score_table(result: dict[str, Any], title: str | None = None) -> Table:
    """The ``score`` JSON as a table: metric, value, band, then overall."""
    counts = result["counts"]
    caption = (
        f"window {result['window_days']} days · {counts['deployments']} deployments · "
        f"{counts['changes']} changes ({counts['undeployed_changes']} undeployed) · "
        f"{counts['incidents']} incidents"
    )
    table = Table(title=title, caption=caption)
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    table.add_column("Band")
    for m in METRICS:
        band_cell = (
            band_text(result["bands"].get(m.band_key))
            if m.band_key
            else Text("no published band", style="dim")
        )
        table.add_row(m.label, format_metric(m.key, result["metrics"].get(m.key)), band_cell)
    table.add_section()
    table.add_row(Text("Overall", style="bold"), "", band_text(result["bands"].get("overall")))
    return table


def run_table(result: RunResult) -> Group:
    title = (
        f"{result['scenario']} — {result['days']} days, {result['reps']} replications, seed {result['seed']}, "
        f"DORA {result['benchmark']} bands"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("p10", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p90", justify="right")
    table.add_column("band (of p50)")
    for metric in METRICS:
        m = result["metrics"][metric.key]
        band = band_text(result["bands"].get(metric.band_key)) if metric.band_key else "(no band)"
        table.add_row(
            metric.label,
            format_metric(metric.key, m["p10"]),
            format_metric(metric.key, m["p50"]),
            format_metric(metric.key, m["p90"]),
            band,
        )
    table.add_row("Overall", "", "", "", band_text(result["bands"]["overall"]))
    probs = ", ".join(f"{b} {p:.0%}" for b, p in result["band_probabilities"].items())
    stages = Table(
        title="Where a change's lead time goes (mean hours per deployed change)", title_justify="left"
    )
    stages.add_column("stage")
    stages.add_column("hours", justify="right")
    stages.add_column("share", justify="right")
    total = sum(result["lead_time_breakdown"].values()) or 1.0
    for stage, hours in result["lead_time_breakdown"].items():
        stages.add_row(STAGE_LABELS.get(stage, stage), f"{hours:.1f}", f"{hours / total:.0%}")
    fe = result.get("flow_efficiency")
    counts = result["counts"]
    footer = (
        f"Overall band across replications: {probs}\n"
        f"Flow efficiency (time worked on / lead time): {'—' if fe is None else f'{fe:.1%}'}\n"
        f"Totals over replications: {counts['changes']} changes, {counts['deployments']} deployments, "
        f"{counts['incidents']} incidents"
    )
    parts: list[Any] = [*notes(result), table, footer, stages]
    if result.get("teams"):
        parts.append(teams_table(result))
    return Group(*parts)


def notes(result: RunResult) -> list[Text]:
    """The lines a reader must see before the numbers: an unstable backlog, a capped setting."""
    out = []
    sentence = stability_sentence(result.get("stability", {}))
    if sentence:
        out.append(Text(f"⚠ {result['scenario']}: {sentence}", style="bold red"))
    out += [Text(f"note: {w}", style="yellow") for w in result.get("warnings", [])]
    return out


def teams_table(result: RunResult) -> Table:
    """Each team's p50s and bands (the organisation's pooled numbers are above)."""
    table = Table(title="Team by team (p50 over replications; band of the p50)", title_justify="left")
    table.add_column("team", justify="right")
    table.add_column("engineers", justify="right")
    for metric in METRICS:
        table.add_column(metric.tiny, justify="right", no_wrap=True)
    table.add_column("overall")
    for team in result["teams"]:
        cells = []
        for metric in METRICS:
            text = format_metric(metric.key, team["metrics"][metric.key]["p50"])
            cells.append(text)
        table.add_row(str(team["team"]), str(team["engineers"]), *cells, band_text(team["bands"]["overall"]))
    return table


def compare_table(results: list[RunResult]) -> Table:
    ref = results[0]
    table = Table(
        title=f"p50 over {ref['reps']} replications, {ref['days']} days; deltas against {ref['scenario']}",
        title_justify="left",
    )
    table.add_column("metric")
    for r in results:
        table.add_column(r["scenario"], justify="right")
    for metric in METRICS:
        key = metric.key
        cells = []
        base = ref["metrics"][key]["p50"]
        for i, r in enumerate(results):
            value = r["metrics"][key]["p50"]
            text = format_metric(key, value)
            if metric.band_key:
                text += f" [{r['bands'][metric.band_key] or NULL}]"
            if i > 0 and value is not None and base is not None:
                text += f"\n({format_change(key, value - base)})"
            cells.append(text)
        table.add_row(metric.label, *cells)
    table.add_row("Overall band", *[band_text(r["bands"]["overall"]) for r in results])
    table.add_row("P(elite)", *[f"{r['band_probabilities']['elite']:.0%}" for r in results])
    table.add_row(
        "Backlog",
        *[
            Text("stable")
            if r.get("stability", {}).get("stable", True)
            else Text("UNSTABLE", style="bold red")
            for r in results
        ],
    )
    return table


def compare_view(results: list[RunResult]) -> Group:
    return Group(*[line for r in results for line in notes(r)], compare_table(results))


def print_renderable(renderable) -> None:
    Console(soft_wrap=False, markup=False, emoji=False).print(renderable)  # names are data, not markup
