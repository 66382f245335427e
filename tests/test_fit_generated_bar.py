"""scripts/fit_generated_bar.py: the bar for a generator's own paraphrases, and the shipped
value in examples/judged.yaml against the Qwen rows it was fitted on (read by people)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from local_augment.config import load_config

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("fit_generated_bar",
                                               ROOT / "scripts" / "fit_generated_bar.py")
fgb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fgb)  # type: ignore[union-attr]


def row(source: str, eq: float, label: str) -> dict:
    return {"source_id": source, "source": "a b", "variant": "a c", "equivalence": eq,
            "label": label}


def test_the_lowest_bar_reaching_precision():
    rows = [row(f"s{i}", i / 20, "good" if i >= 8 else "bad") for i in range(20)]
    assert fgb.lowest_bar(rows, 0.9) == 0.35  # 13 kept from 0.35: 12 good (0.92)
    assert fgb.lowest_bar(rows, 1.0) == 0.4
    assert fgb.lowest_bar(rows[:5], 0.9) == 1.0  # never enough kept


def test_folds_never_split_a_source():
    rows = [row(f"s{i % 10}", i / 40, "good" if i % 3 else "bad") for i in range(40)]
    kept, bars = fgb.cross_validate(rows, 0.5, seeds=2)
    assert len(bars) == 10 and all(0 <= b <= 1 for b in bars)
    assert all(r in rows for r in kept)


def test_the_shipped_bar_keeps_about_one_good_row_per_source():
    rows = [json.loads(x) for x in fgb.DEFAULT.read_text(encoding="utf-8").splitlines() if x]
    bar = load_config(ROOT / "examples" / "judged.yaml").qc.judge_min_generated
    assert bar == fgb.lowest_bar(rows, 0.9)
    s = fgb.summary([r for r in rows if r["equivalence"] >= bar], 160)
    assert s["precision"] >= 0.9 and s["per_source"] >= 1.0
