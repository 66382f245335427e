"""Near-duplicates across shards: every `near_duplicate_of:<id>` names a row that really is one."""

from __future__ import annotations

import json

import numpy as np

from local_augment.config import load_config
from local_augment.data.records import Example
from local_augment.run import pipeline
from local_augment.shard.process import prompt_text


def test_cross_shard_duplicates_name_a_truly_similar_kept_row(tmp_path, embedder):
    base = ["How do I reset my password?", "Explain how DNS works.",
            "How can I export my invoices?", "Summarize the benefits of unit testing."]
    rows = []
    for copy in range(3):  # the same tasks again under other ids, in later shards
        for i, text in enumerate(base):
            rows.append({"id": f"c{copy}-{i}", "instruction": text,
                         "output": f"A careful answer about topic {i}, with the steps to follow."})
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = load_config(overrides={"run.shard_size": 3, "mix.per_original": 10, "mix.ratio": 10,
                                 "mix.max_share": 0.95, "templates.per_example": 3})
    out = tmp_path / "out"
    pipeline.run(cfg, data, out, methods=["templates"])
    kept = {}
    for line in (out / "augmented.jsonl").read_text().splitlines():
        r = json.loads(line)
        kept[r["_provenance"]["id"]] = r
    dups = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    dups = [d for d in dups if d["reason"].startswith("near_duplicate_of:")]
    assert dups, "identical tasks under other ids must produce near-duplicates"

    def vec(row):
        ex = Example(id="x", line=0, layout="alpaca", row=row)
        a, b = embedder.encode([prompt_text(ex), ex.output])
        v = a + b
        return v / np.linalg.norm(v)

    for d in dups:
        target = d["reason"].split(":", 1)[1]
        assert target in kept, "the named row must be in the output"
        row = {k: v for k, v in kept[target].items() if k not in ("_provenance", "id")}
        assert float(vec(d["row"]) @ vec(row)) >= cfg.dedup.threshold - 1e-3
    # originals are never dropped, even exact repeats of each other under other ids
    assert sum(1 for r in kept.values() if r["_provenance"]["method"] == "original") == len(rows)
