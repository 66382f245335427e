"""The lexical checks on variants Qwen2.5-Coder-1.5B-Instruct really wrote for
examples/instructions.jsonl (qwen_variants.jsonl, copied verbatim from bench_methods runs; lists
checked with the default list_drift_max, 2): the
faults a competent model makes are caught, its good rows are not. No model needed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_augment.quality import lexical

ROWS = [json.loads(line) for line in
        (Path(__file__).parent / "qwen_variants.jsonl").read_text(encoding="utf-8").splitlines()]


def lexical_reason(row: dict) -> str | None:
    """The first lexical reason, in the chain's order, for one row (None: none fires)."""
    v, s = row["variant"], row["source"]
    request = row["method"] != "outputs"
    if row["kind"]:
        what = lexical.not_its_kind(row["kind"], v, s, 0.9, 2)
        if what:
            return f"not_its_kind:{what}"
    change = lexical.detail_change(v, s, request=request)
    if change:
        return change.split(":", 1)[0]
    if lexical.negation_flip(v, s):
        return "negation_flip"
    if request and (lexical.perspective_changed(v, s) or lexical.assistant_voice(v, s)):
        return "perspective_changed"
    if request and lexical.asks_how_instead(v, s):
        return "task_changed"
    if request and lexical.answers_how(v, s):
        return "answered_instead"
    return None


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['method']}-{i}" for i, r in enumerate(ROWS)])
def test_real_model_variants(row):
    assert lexical_reason(row) == row["want"], row["variant"]
