"""Eval-set vectors are cached across runs by file content and embedder (no model needed)."""

from __future__ import annotations

import numpy as np

from local_augment.data.eval_sets import read_eval_set
from local_augment.quality.contamination import ContaminationGuard
from local_augment.quality.eval_vectors import EvalVectorCache
from tests.fakes import HashEmbedder


class Counting(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.encoded = 0

    def encode(self, texts, **kw):
        self.encoded += len(texts)
        return super().encode(texts, **kw)


def _guard(es, emb, cache):
    return ContaminationGuard([es], emb.encode, cache=cache)


def test_a_second_guard_reads_the_eval_vectors_instead_of_encoding(tmp_path):
    path = tmp_path / "bench.txt"
    path.write_text("What is the capital of France?\nName three primary colours.\n")
    es = read_eval_set(path)
    emb = Counting()
    cache = EvalVectorCache("hash", root=tmp_path / "cache")
    first = _guard(es, emb, cache)
    assert emb.encoded == 2 and first.notes == []
    second = _guard(es, emb, cache)
    assert emb.encoded == 2  # nothing encoded again
    assert second.timings["encode_eval"] == 0.0 and second.timings["eval_vectors_cached"] == 2
    assert "read from the cache" in second.notes[0] and "'bench'" in second.notes[0]
    texts = ["What's the capital city of France?"]
    vecs = emb.encode(texts)
    assert first.check(texts, vecs) == second.check(texts, vecs)


def test_a_changed_file_or_another_embedder_is_encoded_again(tmp_path):
    path = tmp_path / "bench.txt"
    path.write_text("What is the capital of France?\n")
    emb = Counting()
    cache = EvalVectorCache("hash", root=tmp_path / "cache")
    _guard(read_eval_set(path), emb, cache)
    path.write_text("What is the capital of Spain?\n")
    _guard(read_eval_set(path), emb, cache)
    assert emb.encoded == 2
    _guard(read_eval_set(path), emb, EvalVectorCache("other", root=tmp_path / "cache"))
    assert emb.encoded == 3
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 3


def test_a_truncated_entry_is_ignored(tmp_path):
    path = tmp_path / "bench.txt"
    path.write_text("a b c d\ne f g h\n")
    es = read_eval_set(path)
    cache = EvalVectorCache("hash", root=tmp_path / "cache")
    cache.save(es, np.zeros((1, 64)))  # one row for a two-prompt set
    assert cache.load(es) is None


def test_a_second_run_with_the_same_eval_set_encodes_no_eval_prompt(tmp_path, monkeypatch):
    import json

    from local_augment.config import load_config
    from local_augment.run.pipeline import run

    monkeypatch.setenv("LOCAL_AUGMENT_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Explain topic number {i} in detail.",
                                        "output": f"Topic {i} is explained here."}) + "\n"
                            for i in range(6)))
    bench = tmp_path / "bench.txt"
    bench.write_text("".join(f"What is the answer to question {i}?\n" for i in range(50)))
    cfg = load_config(overrides={"qc.fluency": False, "qc.eval_sets": [str(bench)]})
    emb = Counting()
    first = run(cfg, data, tmp_path / "a", methods=["templates"], engines={"embedder": emb})
    encoded = emb.encoded
    second = run(cfg, data, tmp_path / "b", methods=["templates"], engines={"embedder": emb})
    assert first.report["timings"]["contamination_encode_eval"] > 0
    assert second.report["timings"]["contamination_encode_eval"] == 0
    assert emb.encoded - encoded == encoded - 50  # the 50 eval prompts were not encoded again
    assert any("read from the cache" in n for n in second.report["notices"])
    assert first.report["contamination"]["originals"] == second.report["contamination"][
        "originals"]
