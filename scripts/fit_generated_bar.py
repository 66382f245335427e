"""Fit the judged regime's bar for a generator's own paraphrases (`qc.judge_min_generated`).

`qc.judge_min` is fitted on people's request pairs, where a different request differs plainly.
A generator's errors are subtler (a part dropped, a detail changed with the words kept) and score
higher, so a bar for its rows is fitted on its own kept rows, read by people. Input: JSONL with
`source_id`, `source`, `variant`, `equivalence` (the run's P(same request)) and `label`
(good|bad) per kept row; default: `tests/quality/qwen_paraphrases_read.jsonl` (329 paraphrases
Qwen2.5-Coder-1.5B wrote for examples/instructions.jsonl, kept by examples/judged.yaml at
judge_min, each read against the rubric of ../shared/data/README.md).

The bar is the lowest equivalence whose kept rows reach `--precision` on the training folds;
folds are grouped by source (a source's rows never straddle folds), 5 folds × `--seeds` seeds,
and the held-out figures are what the chosen bars keep of rows they were not fitted on.

    python scripts/fit_generated_bar.py [--labels FILE] [--precision 0.9] [--sources 160]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT = ROOT / "tests" / "quality" / "qwen_paraphrases_read.jsonl"


def good(row: dict[str, Any]) -> bool:
    return row["label"] == "good"


def lowest_bar(rows: Sequence[dict[str, Any]], precision: float, min_kept: int = 10) -> float:
    """The lowest equivalence at which the rows kept (at least `min_kept`) reach `precision`;
    1.0 when none does."""
    for bar in sorted({r["equivalence"] for r in rows}):
        kept = [r for r in rows if r["equivalence"] >= bar]
        if len(kept) >= min_kept and sum(map(good, kept)) / len(kept) >= precision:
            return bar
    return 1.0


def summary(rows: Sequence[dict[str, Any]], n_sources: int) -> dict[str, float]:
    """Kept rows, per source, precision and new content words per kept row."""
    from local_augment.quality.lexical import new_content_words

    n = len(rows)
    return {"kept": n, "per_source": n / n_sources if n_sources else 0.0,
            "precision": sum(map(good, rows)) / n if n else 0.0,
            "new_content_words": (sum(new_content_words(r["variant"], r["source"]) for r in rows)
                                  / n if n else 0.0)}


def cross_validate(rows: Sequence[dict[str, Any]], precision: float, seeds: int = 4,
                   folds: int = 5) -> tuple[list[dict[str, Any]], list[float]]:
    """Per seed, the held-out rows each fold's bar keeps, and the bars chosen."""
    sources = sorted({r["source_id"] for r in rows})
    kept: list[dict[str, Any]] = []
    bars: list[float] = []
    for seed in range(seeds):
        order = sources[:]
        random.Random(seed).shuffle(order)
        for k in range(folds):
            test = set(order[k::folds])
            bar = lowest_bar([r for r in rows if r["source_id"] not in test], precision)
            bars.append(bar)
            kept += [r for r in rows if r["source_id"] in test and r["equivalence"] >= bar]
    return kept, bars


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, default=DEFAULT)
    ap.add_argument("--precision", type=float, default=0.9, help="target precision of kept rows")
    ap.add_argument("--sources", type=int, help="source rows of the run (default: those seen)")
    ap.add_argument("--seeds", type=int, default=4)
    args = ap.parse_args(argv)
    rows = [json.loads(x) for x in args.labels.read_text(encoding="utf-8").splitlines() if x]
    n_src = args.sources or len({r["source_id"] for r in rows})
    print(f"{args.labels.name}: {len(rows)} kept rows read, {sum(map(good, rows))} good, "
          f"{n_src} sources")
    print(f"{'bar':>8}{'kept':>6}{'per source':>11}{'precision':>10}{'new content':>12}")
    bars = sorted({0.0, 0.9, 0.95, 0.97, 0.98, 0.99, 0.9925, 0.995, 0.997})
    for bar in bars:
        s = summary([r for r in rows if r["equivalence"] >= bar], n_src)
        print(f"{bar:>8.4f}{s['kept']:>6}{s['per_source']:>11.2f}{s['precision']:>10.3f}"
              f"{s['new_content_words']:>12.2f}")
    held, chosen = cross_validate(rows, args.precision, args.seeds)
    s = summary(held, n_src * args.seeds)
    print(f"cross-validated ({args.seeds} seeds × 5 folds by source): bars "
          f"{min(chosen):.4f}-{max(chosen):.4f}; held-out kept {s['per_source']:.2f} per source, "
          f"precision {s['precision']:.3f}, new content words {s['new_content_words']:.2f}")
    bar = lowest_bar(rows, args.precision)
    s = summary([r for r in rows if r["equivalence"] >= bar], n_src)
    print(f"fit on all rows: qc.judge_min_generated = {bar:.4f} (kept {s['per_source']:.2f} per "
          f"source, precision {s['precision']:.3f}, new content words "
          f"{s['new_content_words']:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
