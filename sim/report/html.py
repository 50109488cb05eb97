"""The page of a self-contained HTML report (docs/app.md) and its pieces: styles, escaping, tables, band
badges and charts.

One file, no network: styles are inline and every chart is an inline SVG drawn offline from a
Vega-Lite spec by ``vl-convert`` (the ``report`` extra). Without it, the report says the charts
are missing and keeps its tables. Each report (:mod:`sim.report.compare`, :mod:`sim.report.plan`,
:mod:`sim.report.forecast`, :mod:`sim.report.backtest`) carries the settings, the results with their
spread (p10–p90, or p50/p85/p95 dates), the stability of every run, and the assumptions with their
sources (:mod:`sim.report.sections`), and prints to PDF from a browser (A4, charts kept whole).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sim

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
NO_CHARTS = (
    "Charts are not included: install the report extra (pip install 'dorasim[report]') to draw them. "
    "The tables hold every number."
)


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
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<h1>{esc(title)}</h1><p class="meta">{esc(subtitle)}<br>Made with dorasim {esc(sim.__version__)} '
        f"on {generated}. Every number is simulated by a discrete-event model and scored with the DORA "
        f"definitions; it is a what-if, not a measurement.</p>" + "".join(sections) + "</body></html>\n"
    )
