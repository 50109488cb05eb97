"""What ``calibrate`` writes: the commented scenario file, the report (the ``--json`` document) and the
diagnostics that travel with the file (:mod:`sim.analysis.calibrate`)."""

from __future__ import annotations

from typing import Any

from sim.analysis.calibrate_search import BAR, METRICS, FitParameter, bar_error
from sim.analysis.log_facts import LogFacts
from sim.analysis.runner import percentiles
from sim.metrics.bands import bands_for
from sim.metrics.registry import KEY_METRICS
from sim.model.scenario import (
    Calibration,
    Scenario,
    get_value,
    parameter_info,
    parameter_keys,
    scenario_to_toml,
)

FIT_NOTES = {
    "quality.defect_rate": "chosen by simulation so the simulated change failure rate matches the logs",
    "branching.branch_lifetime_days": "chosen by simulation so the simulated median lead time matches the logs",
    "simulation.warmup_days": "chosen by simulation: the backlog the window opens with gives the observed "
    "median lead time",
    "operations.hotfix_hours": "chosen by simulation so the simulated median time to restore matches the logs",
    "operations.detect_minutes": "chosen by simulation so the simulated median time to restore matches the logs",
    "release.prep_share": "chosen by simulation so the simulated median lead time matches the logs, the window's "
    "releases replayed",
}


def origins_of(facts: LogFacts, params: list[FitParameter]) -> dict[str, dict]:
    """Where each parameter's value comes from: estimated, fitted, or the base's default."""
    origins: dict[str, dict] = {}
    fitted = {p.key: p for p in params}
    for key in parameter_keys():
        if key in fitted:
            origins[key] = {"origin": "fitted", "note": FIT_NOTES[key]}
        elif key in facts.estimates:
            estimate = facts.estimates[key]
            origins[key] = {
                "origin": "estimated",
                "note": estimate.note,
                **({"from": estimate.source} if estimate.source else {}),
            }
        else:
            origins[key] = {
                "origin": "default",
                "note": f"the logs cannot show it; the base scenario's value ({parameter_info(key)['source']})",
            }
    return origins


def scenario_text(scenario: Scenario, origins: dict[str, dict], facts: LogFacts) -> str:
    comments = {}
    for key, origin in origins.items():
        unit = parameter_info(key)["unit"]
        label = {"estimated": "estimated from the logs", "fitted": "fitted", "default": "left at default"}
        said = f"estimated from {origin['from']}" if "from" in origin else label[origin["origin"]]
        comments[key] = f"{unit}; {said}: {origin['note']}"
    comments["start"] = "the Monday on or before the first day the logs cover completely"
    comments["days"] = (
        f"from start to the logs' end, {facts.end.date()} (end exclusive); their window is "
        f"{facts.start.date()} to {facts.end.date()}"
    )
    header = [
        "# Calibrated by `dorasim calibrate` from a team's change, deployment and incident logs.",
        "# Each value says where it comes from: estimated from the logs, fitted by simulation so the",
        "# simulated DORA metrics match the observed ones, or left at the base scenario's default.",
        "",
    ]
    return "\n".join(header) + scenario_to_toml(scenario, comments)


def report_of(
    facts: LogFacts,
    scenario: Scenario,
    results: list[dict],
    origins: dict[str, dict],
    fit: dict[str, Any],
    missing: list[str],
    check_reps: int,
    seed: int,
    benchmark: str,
) -> dict[str, Any]:
    observed = facts.observed["metrics"]
    simulated = {key: percentiles([r.get(key) for r in results]) for key in (*METRICS, "rework_rate")}
    p50 = {key: value["p50"] for key, value in simulated.items()}
    observed_bands = facts.observed["bands"]
    simulated_bands = bands_for(p50, benchmark)
    band_of = {m.key: m.band_key for m in KEY_METRICS if m.band_key}
    unstable_share = sum(bool(r.get("unstable")) for r in results) / len(results) if results else 0.0
    metrics = {}
    for key in (*METRICS, "rework_rate"):
        error = bar_error(key, p50[key], observed[key]) if key in BAR else None
        metrics[key] = {
            "observed": observed[key],
            "simulated_p50": p50[key],
            "simulated_p10": simulated[key]["p10"],
            "simulated_p90": simulated[key]["p90"],
            "observed_band": observed_bands.get(band_of[key]) if key in band_of else None,
            "simulated_band": simulated_bands.get(band_of[key]) if key in band_of else None,
            "error": error,
            "bar": BAR[key][1] if key in BAR else None,
            "within_bar": (error <= BAR[key][1]) if error is not None else None,
        }
    return {
        "scenario": scenario.name,
        "window": {
            "start": facts.start.date().isoformat(),
            "end": facts.end.date().isoformat(),
            "days": facts.days,
        },
        "benchmark": benchmark,
        "seed": seed,
        "reps": check_reps,
        "fit": fit,
        "metrics": metrics,
        "bands": {"observed": observed_bands, "simulated": simulated_bands},
        "counts": facts.observed["counts"],
        "stability": {"stable": unstable_share <= 0.5, "unstable_share": unstable_share},
        "lead_time_split": {
            key: facts.stats.get(key)
            for key in ("median_hours_before_release", "median_hours_waiting_for_release")
        },
        "log_statistics": {
            k: v
            for k, v in facts.stats.items()
            if k not in ("median_hours_before_release", "median_hours_waiting_for_release")
        },
        "parameters": {
            key: {"value": _json_value(get_value(scenario, key)), **origin} for key, origin in origins.items()
        },
        "missing": missing,
        "warnings": [],
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def diagnostics(report: dict[str, Any], facts: LogFacts, missing: list[str]) -> Calibration:
    """What travels with the written file: how much data, which metrics are within the bar, what was not fitted."""
    rows = report["metrics"]
    counts = facts.observed["counts"]
    return Calibration(
        window=f"{facts.start.date()} to {facts.end.date()}",
        deployments=int(counts["deployments"]),
        changes=int(counts["changes"]),
        incidents=int(counts["incidents"]),
        within_bar=", ".join(key for key in METRICS if rows[key]["within_bar"] is True),
        outside_bar=", ".join(key for key in METRICS if rows[key]["within_bar"] is False),
        not_fitted="; ".join(missing),
    )
