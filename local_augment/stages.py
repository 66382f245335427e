"""The per-shard stages as plain functions: generate candidates, embed, score, build row vectors.

They take loaded engines and return data, so the local executor and a Ray executor run the same
code over the same shards.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from local_augment.augmenters.base import Augmenter
from local_augment.config import QCConfig
from local_augment.quality.similarity import pair_similarity, score_candidates
from local_augment.records import MESSAGES, Candidate, Example
from local_augment.shards import ShardResult

log = logging.getLogger("local_augment.stages")
Encoder = Callable[[Sequence[str]], np.ndarray]


def prompt_text(ex: Example) -> str:
    """What a row asks: the instruction, plus its input when there is one."""
    return ex.instruction + ("\n\n" + ex.input if ex.input else "")


def as_example(cand: Candidate, layout: str) -> Example:
    row_layout = MESSAGES if "messages" in cand.row else layout
    return Example(id=cand.id, line=0, layout=row_layout, row=cand.row)


class TextTable:
    """Collects texts, embeds each distinct one once."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def add(self, text: str) -> int:
        return self.index.setdefault(text, len(self.index))

    def encode(self, encode: Encoder) -> np.ndarray:
        return encode(list(self.index))


def _row_vectors(vecs: np.ndarray, pairs: list[tuple[int, int]]) -> np.ndarray:
    """normalize(e(prompt) + e(output)): rows match when both what is asked and answered match."""
    if not pairs:
        return np.zeros((0, vecs.shape[1] if vecs.ndim == 2 else 0), dtype=np.float32)
    p = np.array(pairs)
    summed = vecs[p[:, 0]] + vecs[p[:, 1]]
    norms = np.linalg.norm(summed, axis=1, keepdims=True)
    return summed / np.maximum(norms, 1e-12)


def generate(
    augmenters: Sequence[Augmenter], examples: Sequence[Example], timings: dict[str, float]
) -> list[Candidate]:
    """Every augmenter over the whole shard; each batches its own model calls."""
    out: list[Candidate] = []
    for aug in augmenters:
        t0 = time.perf_counter()
        made = aug.generate(examples)
        timings[f"generate.{aug.name}"] = timings.get(f"generate.{aug.name}", 0.0) + (
            time.perf_counter() - t0)
        out.extend(made)
    return out


def score(
    key: str, examples: Sequence[Example], candidates: list[Candidate], layout: str,
    encode: Encoder, qc: QCConfig, timings: dict[str, float],
) -> tuple[np.ndarray, np.ndarray]:
    """Embed every distinct text once, score candidates, return (orig row vecs, cand row vecs)."""
    t0 = time.perf_counter()
    table = TextTable()
    orig_pairs = [(table.add(prompt_text(ex)), table.add(ex.output)) for ex in examples]
    live = [i for i, c in enumerate(candidates) if c.reason is None]
    sim_pairs, cand_pairs = [], []
    for i in live:
        c = candidates[i]
        ex = as_example(c, layout)
        sim_pairs.append((table.add(c.text), table.add(c.source_text)))
        cand_pairs.append((table.add(prompt_text(ex)), table.add(ex.output)))
    vecs = table.encode(encode)
    timings["embed"] = timings.get("embed", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    dim = vecs.shape[1]
    cand_vecs = np.zeros((len(candidates), dim), dtype=np.float32)
    if live:
        sp = np.array(sim_pairs)
        sims = pair_similarity(vecs[sp[:, 0]], vecs[sp[:, 1]])
        reasons = score_candidates([candidates[i] for i in live], sims, qc)
        rows = _row_vectors(vecs, cand_pairs)
        for k, (i, reason) in enumerate(zip(live, reasons, strict=True)):
            candidates[i].reason = reason
            if reason is None:
                cand_vecs[i] = rows[k]
    timings["qc"] = timings.get("qc", 0.0) + time.perf_counter() - t0
    log.debug("shard %s: %d originals, %d candidates", key, len(examples), len(candidates))
    return _row_vectors(vecs, orig_pairs), cand_vecs


def process_shard(
    key: str, examples: Sequence[Example], bad: list[dict[str, Any]],
    augmenters: Sequence[Augmenter], encode: Encoder, qc: QCConfig, layout: str,
    standalone: bool = False,
) -> ShardResult:
    """Generate and score one shard (or, with `standalone`, the rows with no source example)."""
    timings: dict[str, float] = {}
    if standalone:
        candidates = []
        for aug in augmenters:
            t0 = time.perf_counter()
            candidates.extend(aug.standalone(layout))
            timings[f"generate.{aug.name}"] = time.perf_counter() - t0
    else:
        candidates = generate(augmenters, examples, timings)
    orig_vecs, cand_vecs = score(key, examples, candidates, layout, encode, qc, timings)
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
