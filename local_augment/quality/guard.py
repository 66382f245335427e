"""The contamination guard as a run and the decontaminate command use it: what text of a row is
checked, building the guard (with its cross-run vector cache), a shard's hits, a variant's
verdict, contaminated.jsonl and the report's section."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.config import Config
from local_augment.data.atomic import write_jsonl_rows
from local_augment.data.eval_sets import EvalSet, read_eval_sets
from local_augment.data.records import MESSAGES, Candidate
from local_augment.engines.manifest import load_manifest
from local_augment.engines.protocols import Encoder
from local_augment.quality.contamination import ContaminationGuard, Hit
from local_augment.quality.eval_vectors import EvalVectorCache
from local_augment.quality.reasons import contaminated_source

CONTAMINATED = "contaminated.jsonl"
REPORT_ROWS = 50  # contaminated originals listed in the report


def checked_text(row: dict[str, Any], layout: str | None = None) -> str:
    """What a row asks, for the guard: instruction + input, or every user turn of a chat row
    (not only the first, as `data.records.prompt_text` takes for dedup: an eval prompt may sit
    in any turn)."""
    if layout == MESSAGES or (layout is None and "messages" in row):
        return "\n\n".join(t.get("content", "") for t in row.get("messages", [])
                           if isinstance(t, dict) and t.get("role") == "user")
    inp = row.get("input") or ""
    return row.get("instruction", "") + ("\n\n" + inp if inp else "")


def load_sets(cfg: Config) -> list[EvalSet]:
    """The configured eval sets, read and checked (a bad file is a UserError before any work)."""
    return read_eval_sets(cfg.qc.eval_sets)


def build_guard(cfg: Config, sets: list[EvalSet], embedder: Encoder | None) -> ContaminationGuard:
    """The guard over `sets`; with an `embedder` it also matches by embedding, and eval-set
    vectors are cached across runs, keyed by the embedder's model checksum and engine (None:
    n-grams only)."""
    q = cfg.qc
    cache = vector_cache(cfg, embedder) if embedder is not None else None
    encode = embedder.encode if embedder is not None else None
    return ContaminationGuard(sets, encode, n=q.eval_ngram, min_tokens=q.eval_min_tokens,
                              threshold=q.eval_threshold, prefilter=q.eval_prefilter,
                              exact_max=q.eval_exact_max, nprobe=q.eval_nprobe,
                              seed=cfg.run.seed, cache=cache)


def vector_cache(cfg: Config, embedder: Encoder) -> EvalVectorCache:
    """The eval-vector cache for this embedder: its manifest checksum (when it is the configured
    model) and what it says it is, so a stand-in embedder never shares entries with a model."""
    manifest = load_manifest(cfg.run.models_dir)
    spec = manifest.models.get(cfg.embedder.model)
    checksum = manifest.checksum(spec) if spec is not None else ""
    return EvalVectorCache(json.dumps([checksum, embedder.describe()], sort_keys=True))


def record(hit: Hit, row_id: str, line: int, text: str, dropped: bool) -> dict[str, Any]:
    """One line of contaminated.jsonl."""
    return {"set": hit.set_name, "eval_id": hit.eval_id, "kind": hit.kind,
            "score": round(hit.score, 4), "id": row_id, "line": line, "text": text,
            "eval_text": hit.eval_text, "dropped": dropped, "reason": hit.reason}


def scan_shard(guard: ContaminationGuard, shard: Any, orig_vecs: np.ndarray,
               cand_vecs: np.ndarray) -> tuple[list[Hit | None], dict[str, Hit]]:
    """(hit per original, {candidate id: hit}) for one stored shard (`shard.store.ShardResult`);
    candidates that QC
    rejected are not checked. The stored row vectors prefilter the embedding check."""
    live = [j for j, c in enumerate(shard.candidates) if c.reason is None]
    texts = [checked_text(o["row"], o.get("layout")) for o in shard.originals]
    texts += [checked_text(shard.candidates[j].row) for j in live]
    vecs: np.ndarray | None = None
    if orig_vecs.ndim == 2 and cand_vecs.ndim == 2:
        parts = [v for v in (orig_vecs, cand_vecs[live] if live else cand_vecs[:0])
                 if v.shape[0]]
        if parts and all(p.shape[1] for p in parts):
            vecs = np.concatenate(parts).astype(np.float32)
    if vecs is not None and len(vecs) != len(texts):
        vecs = None  # should not happen; encode every prompt rather than misalign
    hits = guard.check(texts, vecs) if texts else []
    n = len(shard.originals)
    cands: dict[str, Hit] = {}
    for j, h in zip(live, hits[n:], strict=True):
        if h is not None:
            cands[shard.candidates[j].id] = h
    return hits[:n], cands


def variant_verdict(c: Candidate, cand_hits: dict[str, Hit], source_hits: dict[str, Hit]
                    ) -> str | None:
    """The contamination reject reason of a candidate that passed QC, or None."""
    if c.id in cand_hits:
        return cand_hits[c.id].reason
    if c.source_id in source_hits:
        return contaminated_source(c.source_id)
    return None


def summary(guard: ContaminationGuard, records: list[dict[str, Any]], candidates: int,
            variants: int, dropped: bool, seconds: float) -> dict[str, Any]:
    """The report's `contamination` section."""
    by_set: dict[str, Counter[str]] = {n: Counter() for n in guard.set_names}
    for r in records:
        by_set[r["set"]][r["kind"]] += 1
    return {
        **guard.describe(),
        "originals": len(records), "candidates": candidates, "variants_of_contaminated": variants,
        "dropped_originals": sum(r["dropped"] for r in records), "drop": dropped,
        "originals_per_set": {k: dict(v) for k, v in by_set.items()},
        "rows": records[:REPORT_ROWS],
        "timings": {k: round(float(v), 3) for k, v in sorted(guard.timings.items())},
        "seconds": round(seconds, 3),
    }


def write_contaminated(output_dir: Path, records: list[dict[str, Any]]) -> None:
    write_jsonl_rows(output_dir / CONTAMINATED, iter(records))
