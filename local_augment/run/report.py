"""report.json and a self-contained report.html (inline SVG plots, no scripts, no network)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from local_augment.data.atomic import atomic_write

COLOURS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f")


def write_report(report: dict[str, Any], output_dir: Path) -> None:
    for name, text in (("report.json", json.dumps(report, indent=2, ensure_ascii=False)),
                       ("report.html", render_html(report))):
        atomic_write(output_dir / name, text)


def _bars(values: list[float], width: int = 560, height: int = 140, colour: str = COLOURS[0],
          marks: tuple[float, ...] = (), lo: float = 0.0, hi: float = 1.0, unit: str = "") -> str:
    """An SVG bar chart of equal-width bins over [lo, hi]; `marks` draws vertical lines; the
    y axis is labelled with counts (0 and the tallest bar), the x axis at both ends and middle."""
    n = len(values) or 1
    top = max(values) if values and max(values) > 0 else 1
    bw = width / n
    left = 34
    parts = [f'<svg viewBox="0 0 {width + left} {height + 30}" width="100%" role="img" '
             f'style="max-width:{width + left}px"><g transform="translate({left},0)">']
    for i, v in enumerate(values):
        h = (v / top) * height
        parts.append(f'<rect x="{i * bw:.1f}" y="{height - h:.1f}" width="{max(bw - 1, 1):.1f}" '
                     f'height="{h:.1f}" fill="{colour}"><title>{v}</title></rect>')
    for m in marks:
        x = (m - lo) / (hi - lo) * width
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height}" stroke="#c00" '
                     'stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x + 2:.1f}" y="12" font-size="11" fill="#c00">{m:g}</text>')
    parts.append(f'<line x1="0" x2="{width}" y1="{height}" y2="{height}" stroke="#999"/>')
    parts.append(f'<text x="-4" y="10" font-size="11" text-anchor="end">{top:g}</text>')
    parts.append(f'<text x="-4" y="{height}" font-size="11" text-anchor="end">0</text>')
    for frac, val in ((0, lo), (0.5, (lo + hi) / 2), (1, hi)):
        anchor = "start" if frac == 0 else "end" if frac == 1 else "middle"
        parts.append(f'<text x="{frac * width:.1f}" y="{height + 14}" font-size="11" '
                     f'text-anchor="{anchor}">{val:g}</text>')
    parts.append(f'<text x="{width / 2:.1f}" y="{height + 28}" font-size="11" '
                 f'text-anchor="middle">{html.escape(unit)} (bar height: candidates)</text>')
    parts.append("</g></svg>")
    return "".join(parts)


def _hbars(items: dict[str, tuple[int, int]]) -> str:
    """Accepted of generated, one horizontal bar per method."""
    rows = []
    for i, (name, (acc, gen)) in enumerate(items.items()):
        frac = acc / gen if gen else 0.0
        rows.append(
            f'<tr><td>{html.escape(name)}</td><td><svg viewBox="0 0 300 14" width="100%" '
            f'style="max-width:300px;min-width:80px">'
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


def _esc(text: Any, limit: int = 400) -> str:
    s = str(text)
    return html.escape(s if len(s) <= limit else s[: limit - 1] + "…")


def _rows_table(rows: list[dict[str, Any]], with_reason: bool) -> str:
    head = "<tr><th>source</th><th>variant</th>" + ("<th>reason</th>" if with_reason else "") \
        + "<th>scores</th></tr>"
    body = []
    for r in rows:
        scores = ", ".join(f"{k} {v:g}" for k, v in r.get("scores", {}).items()
                           if k in ("similarity", "meaning", "fluency", "length_ratio"))
        cells = [_esc(r.get("source", "")), _esc(r.get("variant", ""))]
        if with_reason:
            cells.append(_esc(r.get("reason", "")))
        cells.append(_esc(scores))
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<div class='wide'><table class='rows'>{head}{''.join(body)}</table></div>"


def _samples(report: dict[str, Any]) -> list[str]:
    """Per method: a few kept rows, and a few rejected rows of each reason."""
    out: list[str] = []
    for method, s in report.get("samples", {}).items():
        out.append(f"<h3>{html.escape(method)}</h3>")
        if s.get("kept"):
            out.append("<h4>Kept rows</h4>" + _rows_table(s["kept"], False))
        rejected = [r for rows in s.get("rejected", {}).values() for r in rows]
        if rejected:
            out.append("<h4>Rejected rows (a few of each reason)</h4>" +
                       _rows_table(rejected, True))
    return out


def _diversity(report: dict[str, Any]) -> str:
    d = report.get("diversity", {})
    if not d:
        return ""
    before, after = d.get("before", {}), d.get("after", {})
    rows = [("distinct-1 of instructions", "distinct_1"), ("distinct-2 of instructions",
                                                           "distinct_2"),
            ("mean pairwise embedding distance", "mean_distance"), ("rows", "rows")]
    body = "".join(f"<tr><td>{label}</td><td>{before.get(k, '')}</td><td>{after.get(k, '')}"
                   f"</td></tr>" for label, k in rows)
    gained = d.get("originals_with_variant_share")
    extra = f"<p>Originals that gained at least one variant: {gained:.0%}</p>" \
        if gained is not None else ""
    novelty = d.get("novelty") or {}
    per = "".join(
        f"<tr><td>{html.escape(m)}</td><td>{v['kept']}</td>"
        f"<td>{v['new_content_words_per_variant']}</td><td>{v['distinct_2_added']}</td>"
        f"<td>{v['reworded_share']:.0%}</td></tr>" for m, v in novelty.items())
    added = ("<h3>What the kept variants add, per method</h3><table><tr><th>method</th>"
             "<th>kept</th><th>new content words per variant</th><th>distinct-2 of the added "
             "rows</th><th>more than a wrapper</th></tr>" + per + "</table>"
             "<p class='note'>new content words: words the variant has and its own source "
             "lacks (function words not counted); more than a wrapper: a variant that does not "
             "hold its source word for word and adds a content word. distinct-2 of the whole "
             "set falls when variants share their sources' words; these say what the variants "
             "added.</p>") if per else ""
    return (f"<table><tr><th></th><th>input</th><th>output</th></tr>{body}</table>{extra}"
            "<p class='note'>distinct-n: unique n-grams over all n-grams (first 50,000 "
            "instructions); distance: mean 1 − cosine between rows (prompt + answer embedding), "
            "on a sample of 2,000.</p>" + added)


def _contamination(c: dict[str, Any]) -> str:
    """What the guard checked and found: counts, then the contaminated originals."""
    summary = {
        "eval sets (prompts)": ", ".join(f"{k} ({v})" for k, v in c.get("sets", {}).items()),
        "contaminated originals": c.get("originals", 0),
        "dropped originals": c.get("dropped_originals", 0),
        "contaminated candidates (rejected)": c.get("candidates", 0),
        "variants of contaminated originals (rejected)": c.get("variants_of_contaminated", 0),
        "match": f"{c.get('ngram')}-grams; embedding cosine ≥ {c.get('threshold')} "
                 f"({c.get('index')})",
    }
    per_set = "".join(f"<tr><td>{html.escape(s)}</td><td>{k.get('ngram', 0)}</td>"
                      f"<td>{k.get('embedding', 0)}</td></tr>"
                      for s, k in c.get("originals_per_set", {}).items())
    out = [_table(summary), "<table><tr><th>set</th><th>ngram</th><th>embedding</th></tr>"
           f"{per_set}</table>"]
    rows = c.get("rows", [])
    if rows:
        body = "".join(
            "<tr>" + "".join(f"<td>{_esc(v)}</td>" for v in (
                r["id"], r["text"], f"{r['set']}:{r['eval_id']}", r["eval_text"], r["kind"],
                r["score"], "dropped" if r["dropped"] else "kept")) + "</tr>" for r in rows)
        more = c.get("originals", 0) - len(rows)
        out.append("<div class='wide'><table class='rows'><tr><th>row</th><th>text</th>"
                   "<th>eval prompt</th><th>eval text</th><th>kind</th><th>score</th><th></th>"
                   f"</tr>{body}</table></div>"
                   + (f"<p class='note'>{more} more in contaminated.jsonl</p>" if more > 0
                      else "<p class='note'>all of them are in contaminated.jsonl</p>"))
    return "".join(out)


def _histograms(hist: dict[str, Any], window: dict[str, Any]) -> list[str]:
    """Similarity to source (keep window dashed) and length ratio, per method."""
    sections: list[str] = []
    bins = hist.get("similarity_bins", [0, 1])
    for i, (method, values) in enumerate(hist.get("similarity", {}).items()):
        w = window.get(method, {})
        marks = tuple(v for v in (w.get("similarity_min"), w.get("similarity_max"))
                      if v is not None and bins[0] <= v <= bins[-1])
        sections.append(f"<h3>Similarity to source: {html.escape(method)} "
                        "(keep window dashed)</h3>")
        sections.append(_bars(values, colour=COLOURS[i % len(COLOURS)], marks=marks,
                              lo=bins[0], hi=bins[-1], unit="cosine to source"))
    rbins = hist.get("length_ratio_bins", [0, 4])
    for i, (method, values) in enumerate(hist.get("length_ratio", {}).items()):
        sections.append(f"<h3>Length ratio: {html.escape(method)}</h3>")
        sections.append(_bars(values, colour=COLOURS[i % len(COLOURS)], marks=(1.0,),
                              lo=rbins[0], hi=rbins[-1], unit="length ratio, variant/source"))
    return sections


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
    if report.get("downstream"):
        sections[:0] = ["<h2>Does it help? (scripts/bench_downstream.py)</h2><ul>" + "".join(
            f"<li>{html.escape(d)}</li>" for d in report["downstream"]) + "</ul>"]
    if report.get("qc_regime"):
        sections[:0] = ["<h2>Quality-control regime</h2>",
                        f"<p>{html.escape(str(report['qc_regime'].get('note', '')))}</p>"]
    if report.get("diagnosis"):
        sections[:0] = ["<h2>Diagnosis</h2><ul>" + "".join(
            f"<li>{html.escape(d)}</li>" for d in report["diagnosis"]) + "</ul>"]
    sections += _histograms(hist, window)
    if report.get("diversity"):
        sections[1:1] = ["<h2>Diversity</h2>", _diversity(report)]
    if report.get("samples"):
        sections += ["<h2>Rows, per method</h2>", *_samples(report)]
    if report.get("contamination"):
        sections[:0] = ["<h2>Eval-set contamination</h2>", _contamination(report["contamination"])]
    sections += ["<h2>Near-duplicates</h2>", _table(report.get("dedup", {})),
                 "<h2>Timings (s)</h2>", _table(report.get("timings", {})),
                 "<h2>Accounting</h2>", _table(report.get("accounting", {}))]
    if report.get("models"):
        sections += ["<h2>Models</h2>", _table({k: ", ".join(f"{a}: {b}" for a, b in v.items())
                                                  for k, v in report["models"].items()})]
    if report.get("settings"):
        sections += ["<h2>Settings</h2>", "<pre>" + html.escape(json.dumps(
            report["settings"], indent=1, ensure_ascii=False)) + "</pre>"]
    if report.get("notices"):
        sections.insert(0, "<h2>Notices</h2><ul>" + "".join(
            f"<li>{html.escape(n)}</li>" for n in report["notices"]) + "</ul>")
    return _page(report, sections)


def _page(report: dict[str, Any], sections: list[str]) -> str:
    style = ("body{font-family:system-ui,sans-serif;margin:1em auto;padding:0 1em;max-width:980px}"
             "pre{white-space:pre-wrap;font-size:12px;overflow-x:auto}.note{color:#555;"
             "font-size:13px}table.rows td{vertical-align:top;font-size:13px;min-width:8em}"
             "table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd}"
             ".wide{overflow-x:auto}th{text-align:left;font-weight:600}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>local_augment report"
            f"</title><style>{style}</style></head><body><h1>local_augment report</h1>"
            f"<p>{html.escape(str(report.get('input', '')))} → "
            f"{html.escape(str(report.get('output', '')))}</p>{''.join(sections)}</body></html>")
