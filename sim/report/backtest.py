"""The HTML report of a backtest (``backtest --report``): every case, misses included, and the summary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.report.html import Raw, esc, page, table


def _mark(hit: bool) -> Raw:
    return Raw('<span class="band band-elite">yes</span>' if hit else '<span class="band band-low">no</span>')


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def backtest_report(result: Mapping[str, Any]) -> str:
    """A backtest (the ``backtest`` JSON) as one self-contained page."""
    summary = result["summary"]
    subtitle = (
        f"{result['logs']}: {len(result['cuts'])} cut dates, a {result['window_days']}-day calibration window "
        f"before each, {result['reps']} model replications per forecast, seed {result['seed']}."
    )
    rows = []
    for method in ("model", "throughput"):
        s = summary.get(method)
        if s:
            rows.append(
                [
                    method,
                    s["cases"],
                    _pct(s["coverage_p5_p95"]),
                    _pct(s["coverage_p85"]),
                    f"{s['mean_crps']:.1f}",
                    f"{s['mean_pinball']:.1f}",
                    f"{s['median_width_p5_p95']:.0f}",
                ]
            )
    ratio = summary.get("crps_ratio_model_to_throughput")
    sections = [
        "<h2>How well the forecasts held</h2><p>For each cut the logs were cut as the team saw them that day; "
        "the window before it was calibrated, and the ship date of the first N changes created from the cut on "
        "was forecast and compared with what happened. Targets: the actual date inside p5–p95 in 85–97 % of "
        "cases, at or before p85 in 80–92 %, and a mean CRPS (days; lower is better) at most 0.9× the "
        "throughput Monte Carlo's.</p>",
        table(
            ["method", "cases", "inside p5–p95", "≤ p85", "mean CRPS", "mean pinball", "median p5–p95 width"],
            rows,
            numeric=(1, 2, 3, 4, 5, 6),
        ),
        f"<p>Model CRPS / throughput CRPS on the same cases: {esc('—' if ratio is None else f'{ratio:.2f}')}.</p>",
        "<h2>Every case</h2>",
        table(
            [
                "cut",
                "N",
                "actual (days)",
                "model p5–p95",
                "in",
                "model CRPS",
                "throughput p5–p95",
                "in",
                "throughput CRPS",
            ],
            _case_rows(result["cases"]),
            numeric=(1, 2, 5, 8),
        ),
    ]
    dora = summary.get("dora") or {}
    dora_rows = [[key, v["cases"], _pct(v["inside_p10_p90"])] for key, v in dora.items() if v.get("cases")]
    if dora_rows:
        sections += [
            f"<h2>The next {result['horizon_days']} days' DORA metrics</h2>",
            table(["metric", "cuts", "inside the model's p10–p90"], dora_rows, numeric=(1, 2)),
        ]
    if result.get("not_judged"):
        sections += [
            "<h2>Not judged</h2>",
            table(
                ["cut", "N", "why"], [[n["cut"], n["n"] or "—", n["reason"]] for n in result["not_judged"]]
            ),
        ]
    return page("How well does dorasim forecast this team?", subtitle, sections)


def _case_rows(cases: list[Mapping[str, Any]]) -> list[list[Any]]:
    rows = []
    for case in cases:
        if "not_judged" in case:
            continue
        row: list[Any] = [case["cut"], case["n"], case["actual_days"]]
        for method in ("model", "throughput"):
            scored = case.get(method)
            if scored is None:
                row += ["—", "—", "—"]
            else:
                row += [
                    f"{scored['p5']:.0f}–{scored['p95']:.0f}",
                    _mark(bool(scored["in_p5_p95"])),
                    f"{scored['crps']:.1f}",
                ]
        rows.append(row)
    return rows
