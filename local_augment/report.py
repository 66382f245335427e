"""report.json and a self-contained report.html (inline SVG plots, no scripts, no network)."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f")


def write_report(report: dict[str, Any], output_dir: Path) -> None:
    for name, text in (("report.json", json.dumps(report, indent=2, ensure_ascii=False)),
                       ("report.html", render_html(report))):
        tmp = output_dir / (name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, output_dir / name)


def _bars(values: list[float], width: int = 560, height: int = 140, colour: str = COLOURS[0],
          marks: tuple[float, ...] = (), lo: float = 0.0, hi: float = 1.0) -> str:
    """An SVG bar chart of equal-width bins over [lo, hi]; `marks` draws vertical lines."""
    n = len(values) or 1
    top = max(values) if values and max(values) > 0 else 1
    bw = width / n
    parts = [f'<svg width="{width}" height="{height + 18}" role="img">']
    for i, v in enumerate(values):
        h = (v / top) * height
        parts.append(f'<rect x="{i * bw:.1f}" y="{height - h:.1f}" width="{max(bw - 1, 1):.1f}" '
                     f'height="{h:.1f}" fill="{colour}"><title>{v}</title></rect>')
    for m in marks:
        x = (m - lo) / (hi - lo) * width
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height}" stroke="#c00" '
                     'stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x + 2:.1f}" y="12" font-size="11" fill="#c00">{m:g}</text>')
    parts.append(f'<text x="0" y="{height + 14}" font-size="11">{lo:g}</text>')
    parts.append(f'<text x="{width - 24}" y="{height + 14}" font-size="11">{hi:g}</text></svg>')
    return "".join(parts)


def _hbars(items: dict[str, tuple[int, int]]) -> str:
    """Accepted of generated, one horizontal bar per method."""
    rows = []
    for i, (name, (acc, gen)) in enumerate(items.items()):
        frac = acc / gen if gen else 0.0
        rows.append(
            f'<tr><td>{html.escape(name)}</td><td><svg width="300" height="14">'
            f'<rect width="300" height="14" fill="#eee"/><rect width="{300 * frac:.1f}" height="14" '
            f'fill="{COLOURS[i % len(COLOURS)]}"/></svg></td><td>{acc} / {gen} '
            f'({frac:.0%})</td></tr>')
    return "<table>" + "".join(rows) + "</table>"


def _table(mapping: dict[str, Any]) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{html.escape(str(v))}</td></tr>"
                   for k, v in mapping.items())
    return f"<table>{rows}</table>"


def _reason_matrix(report: dict[str, Any]) -> str:
    """Candidates per method (rows) rejected by each check (columns), cheapest check first."""
    from local_augment.quality.reasons import KINDS

    per = report.get("rejected_per_method", {})
    seen = {k for counts in per.values() for k in counts}
    cols = [k for k in KINDS if k in seen] + sorted(seen - set(KINDS))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["method", "candidates", "kept", *cols])
    rows = []
    for m, n in report.get("candidates_per_method", {}).items():
        cells = [m, n, report.get("accepted_per_method", {}).get(m, 0)]
        cells += [per.get(m, {}).get(c, "") for c in cols]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in cells) + "</tr>")
    return f"<div class='wide'><table><tr>{head}</tr>{''.join(rows)}</table></div>"


def render_html(report: dict[str, Any]) -> str:
    counts = report.get("counts", {})
    hist = report.get("histograms", {})
    window = report.get("qc_settings", {})
    sections = [
        "<h2>Counts</h2>", _table(counts),
        "<h2>Acceptance per method</h2>",
        _hbars({m: (report.get("accepted_per_method", {}).get(m, 0), n)
                for m, n in report.get("candidates_per_method", {}).items()}),
        "<h2>Rejected per method and check</h2>", _reason_matrix(report),
        "<h2>Rejected, per reason</h2>", _table(report.get("rejected_per_reason", {})),
    ]
    if report.get("diagnosis"):
        sections[:0] = ["<h2>Diagnosis</h2><ul>" + "".join(
            f"<li>{html.escape(d)}</li>" for d in report["diagnosis"]) + "</ul>"]
    bins = hist.get("similarity_bins", [0, 1])
    for i, (method, values) in enumerate(hist.get("similarity", {}).items()):
        w = window.get(method, {})
        marks = tuple(v for v in (w.get("similarity_min"), w.get("similarity_max"))
                      if v is not None and bins[0] <= v <= bins[-1])
        sections.append(f"<h3>Similarity to source: {html.escape(method)} "
                        "(keep window dashed)</h3>")
        sections.append(_bars(values, colour=COLOURS[i % len(COLOURS)], marks=marks,
                              lo=bins[0], hi=bins[-1]))
    rbins = hist.get("length_ratio_bins", [0, 4])
    for i, (method, values) in enumerate(hist.get("length_ratio", {}).items()):
        sections.append(f"<h3>Length ratio: {html.escape(method)}</h3>")
        sections.append(_bars(values, colour=COLOURS[i % len(COLOURS)], marks=(1.0,),
                              lo=rbins[0], hi=rbins[-1]))
    sections += ["<h2>Near-duplicates</h2>", _table(report.get("dedup", {})),
                 "<h2>Timings (s)</h2>", _table(report.get("timings", {})),
                 "<h2>Accounting</h2>", _table(report.get("accounting", {}))]
    if report.get("notices"):
        sections.insert(0, "<h2>Notices</h2><ul>" + "".join(
            f"<li>{html.escape(n)}</li>" for n in report["notices"]) + "</ul>")
    style = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:900px}"
             "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd}"
             ".wide{overflow-x:auto}th{text-align:left;font-weight:600}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>local_augment report"
            f"</title><style>{style}</style></head><body><h1>local_augment report</h1>"
            f"<p>{html.escape(str(report.get('input', '')))} → "
            f"{html.escape(str(report.get('output', '')))}</p>{''.join(sections)}</body></html>")
