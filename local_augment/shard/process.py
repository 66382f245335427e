"""The per-shard stages as plain functions: generate candidates, embed, score, build row vectors.

They take loaded engines and return data, so the local executor and a Ray executor run the same
code over the same shards.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from local_augment.augmenters.base import Augmenter
from local_augment.augmenters.llm_base import LLMAugmenter
from local_augment.data.records import MESSAGES, Candidate, Example, prompt_text
from local_augment.engines.protocols import Encoder
from local_augment.quality.chain import QualityChain
from local_augment.quality.pair import Pair
from local_augment.shard.store import ShardResult

log = logging.getLogger("local_augment.shard.process")


def as_example(cand: Candidate, layout: str) -> Example:
    row_layout = MESSAGES if "messages" in cand.row else layout
    return Example(id=cand.id, line=0, layout=row_layout, row=cand.row)


class TextTable:
    """Collects texts, embeds each distinct one once."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int:
        return self.index.setdefault(text, len(self.index))

    def encode(self, encoder: Encoder, keep_tokens: Collection[str] = ()) -> np.ndarray:
        """Every distinct text's vector; `keep_tokens` as in `Encoder.encode`."""
        if keep_tokens:
            return encoder.encode(list(self.index), keep_tokens=keep_tokens)
        return encoder.encode(list(self.index))


def _row_vectors(vecs: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """normalize(e(prompt) + e(output)): rows match when both what is asked and answered match."""
    if not pairs:
        return np.zeros((0, vecs.shape[1] if vecs.ndim == 2 else 0), dtype=np.float32)
    p = np.array(pairs)
    summed = vecs[p[:, 0]] + vecs[p[:, 1]]
    norms = np.linalg.norm(summed, axis=1, keepdims=True)
    return summed / np.maximum(norms, 1e-12)


def generate(
    augmenters: Sequence[Augmenter], examples: Sequence[Example], timings: dict[str, float],
    answers: dict[str, list[list[str]]] | None = None,
) -> list[Candidate]:
    """Every augmenter over the whole shard; each batches its own model calls.

    `answers`: per LLM method, the answers to its `requests` already served elsewhere (Ray's
    `ray.data.llm`); those methods parse them instead of asking their engine.
    """
    out: list[Candidate] = []
    for aug in augmenters:
        t0 = time.perf_counter()
        served = (answers or {}).get(aug.name)
        if served is not None and isinstance(aug, LLMAugmenter):
            made = aug.respond(aug.requests(examples), served)
        else:
            made = aug.generate(examples)
        timings[f"generate.{aug.name}"] = timings.get(f"generate.{aug.name}", 0.0) + (
            time.perf_counter() - t0)
        out.extend(made)
    return out


def pair_of(cand: Candidate, source: Example | None) -> Pair:
    """The candidate as quality control sees it, with its source row for context."""
    if source is None:  # a row with no source example (refusals)
        return Pair(cand.method, cand.field, cand.text, cand.source_text, kind=cand.kind,
                    generated=True)
    return Pair(cand.method, cand.field, cand.text, cand.source_text,
                instruction=prompt_text(source), output=source.output, kind=cand.kind,
                generated=True)


def score(
    key: str, examples: Sequence[Example], candidates: list[Candidate], layout: str,
    chain: QualityChain, timings: dict[str, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Embed every distinct text once, run the QC chain, return (orig row vecs, cand row vecs)."""
    t0 = time.perf_counter()
    by_id = {ex.id: ex for ex in examples}
    table = TextTable()
    orig_pairs = [(table.add(prompt_text(ex)), table.add(ex.output)) for ex in examples]
    live = [i for i, c in enumerate(candidates) if c.reason is None]
    pairs = [pair_of(candidates[i], by_id.get(candidates[i].source_id)) for i in live]
    qc_idx, cand_pairs = [], []
    for i, p in zip(live, pairs, strict=True):
        ex = as_example(candidates[i], layout)
        qc_idx.append((table.add(p.variant), table.add(p.source), table.add(p.output)))
        cand_pairs.append((table.add(prompt_text(ex)), table.add(ex.output)))
    vecs = table.encode(chain.embedder, chain.token_texts(pairs))
    timings["embed"] = timings.get("embed", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    dim = vecs.shape[1]
    cand_vecs = np.zeros((len(candidates), dim), dtype=np.float32)
    if live:
        q = np.array(qc_idx)
        before = dict(chain.timings)
        verdicts = chain.check(pairs, (vecs[q[:, 0]], vecs[q[:, 1]], vecs[q[:, 2]]))
        for name, took in chain.timings.items():
            timings[name] = timings.get(name, 0.0) + took - before.get(name, 0.0)
        rows = _row_vectors(vecs, cand_pairs)
        for k, (i, verdict) in enumerate(zip(live, verdicts, strict=True)):
            candidates[i].reason = verdict.reason
            candidates[i].scores = verdict.scores
            if verdict.reason is None:
                cand_vecs[i] = rows[k]
    timings["qc"] = timings.get("qc", 0.0) + time.perf_counter() - t0
    log.debug("shard %s: %d originals, %d candidates", key, len(examples), len(candidates))
    return _row_vectors(vecs, orig_pairs), cand_vecs


def process_shard(
    key: str, examples: Sequence[Example], bad: list[dict[str, Any]],
    augmenters: Sequence[Augmenter], chain: QualityChain, layout: str, standalone: bool = False,
    answers: dict[str, list[list[str]]] | None = None,
) -> ShardResult:
    """Generate and score one shard (or, with `standalone`, the rows with no source example);
    `answers`: LLM answers served elsewhere, see `generate`."""
    timings: dict[str, float] = {}
    if standalone:
        candidates = []
        for aug in augmenters:
            t0 = time.perf_counter()
            candidates.extend(aug.standalone(layout))
            timings[f"generate.{aug.name}"] = time.perf_counter() - t0
    else:
        candidates = generate(augmenters, examples, timings, answers)
    orig_vecs, cand_vecs = score(key, examples, candidates, layout, chain, timings)
    stats = {
        "timings": timings,
        "candidates": dict(Counter(c.method for c in candidates)),
    }
    return ShardResult(
        key=key,
        originals=[{"id": ex.id, "line": ex.line, "row": ex.row, "layout": ex.layout}
                   for ex in examples],
        bad=bad, candidates=candidates, orig_vecs=orig_vecs, cand_vecs=cand_vecs, stats=stats,
    )
