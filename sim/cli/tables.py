"""Readable tables (rich) for run, compare and plan results."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.table import Table

from sim.metrics.fmt import band_text, format_metric
from sim.metrics.scoring import METRIC_KEYS

METRIC_LABELS = {
    "deployment_frequency_per_day": "Deployment frequency",
    "lead_time_hours": "Change lead time",
    "change_failure_rate": "Change failure rate",
    "time_to_restore_hours": "Failed-deployment recovery time",
    "rework_rate": "Rework rate",
}
BAND_OF_METRIC = {
    "deployment_frequency_per_day": "deployment_frequency",
    "lead_time_hours": "lead_time",
    "change_failure_rate": "change_failure_rate",
    "time_to_restore_hours": "time_to_restore",
}
STAGE_LABELS = {
    "on_branch": "waiting on the branch",
    "merge_conflicts": "resolving merge conflicts",
    "ci_queue": "waiting for a CI runner",
    "ci_running": "running the test suite",
    "ci_fixing": "fixing what CI caught",
    "release_wait": "waiting for the release",
    "deploying": "deploying",
}


def run_table(result: dict[str, Any]) -> Group:
    title = (f"{result['scenario']} — {result['days']} days, {result['reps']} replications, seed {result['seed']}, "
             f"DORA {result['benchmark']} bands")
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("p10", justify="right")
    table.add_column("p50", justify="right")
    table.add_column("p90", justify="right")
    table.add_column("band (of p50)")
    for key in METRIC_KEYS:
        m = result["metrics"][key]
        band = result["bands"].get(BAND_OF_METRIC.get(key, ""), None) if key in BAND_OF_METRIC else None
        table.add_row(METRIC_LABELS[key], format_metric(key, m["p10"]), format_metric(key, m["p50"]),
                      format_metric(key, m["p90"]), band_text(band) if key in BAND_OF_METRIC else "(no band)")
    table.add_row("Overall", "", "", "", band_text(result["bands"]["overall"]))
    probs = ", ".join(f"{b} {p:.0%}" for b, p in result["band_probabilities"].items())
    stages = Table(title="Where a change's lead time goes (mean hours per deployed change)", title_justify="left")
    stages.add_column("stage")
    stages.add_column("hours", justify="right")
    stages.add_column("share", justify="right")
    total = sum(result["lead_time_breakdown"].values()) or 1.0
    for stage, hours in result["lead_time_breakdown"].items():
        stages.add_row(STAGE_LABELS.get(stage, stage), f"{hours:.1f}", f"{hours / total:.0%}")
    fe = result.get("flow_efficiency")
    counts = result["counts"]
    footer = (f"Overall band across replications: {probs}\n"
              f"Flow efficiency (time worked on / lead time): {'—' if fe is None else f'{fe:.1%}'}\n"
              f"Totals over replications: {counts['changes']} changes, {counts['deployments']} deployments, "
              f"{counts['incidents']} incidents")
    return Group(table, footer, stages)


def compare_table(results: list[dict[str, Any]]) -> Table:
    ref = results[0]
    table = Table(title=f"p50 over {ref['reps']} replications, {ref['days']} days; deltas against {ref['scenario']}",
                  title_justify="left")
    table.add_column("metric")
    for r in results:
        table.add_column(r["scenario"], justify="right")
    for key in METRIC_KEYS:
        cells = []
        base = ref["metrics"][key]["p50"]
        for i, r in enumerate(results):
            value = r["metrics"][key]["p50"]
            text = format_metric(key, value)
            if key in BAND_OF_METRIC:
                text += f" [{r['bands'][BAND_OF_METRIC[key]] or '—'}]"
            if i > 0 and value is not None and base is not None:
                text += f"\n({_delta(key, value - base)})"
            cells.append(text)
        table.add_row(METRIC_LABELS[key], *cells)
    table.add_row("Overall band", *[band_text(r["bands"]["overall"]) for r in results])
    table.add_row("P(elite)", *[f"{r['band_probabilities']['elite']:.0%}" for r in results])
    return table


def _delta(key: str, diff: float) -> str:
    sign = "+" if diff >= 0 else "−"
    return sign + format_metric(key, abs(diff))


def print_renderable(renderable) -> None:
    Console(soft_wrap=False).print(renderable)
