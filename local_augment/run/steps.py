"""The global steps of a run, over every stored shard: gather (with the contamination
guard's scan), screen (the low-yield gate, sibling copies), near-duplicates and diversity.
`pipeline.finish` runs them in order, then the mix and the output files."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from local_augment.config import Config
from local_augment.data.records import Candidate
from local_augment.quality.contamination import ContaminationGuard, Hit
from local_augment.quality.dedup import find_near_duplicates
from local_augment.quality.diversity import mean_pairwise_distance
from local_augment.quality.guard import checked_text, record, scan_shard, variant_verdict
from local_augment.quality.lexical import trivial_copy
from local_augment.quality.mix import Pick
from local_augment.shard.store import ShardStore


@dataclass
class Gathered:
    """What the global steps need from every stored shard, read once in shard order."""

    orig_ids: list[str] = field(default_factory=list)
    results: list[tuple[str, str | None]] = field(default_factory=list)  # (generator, reason)
    live: dict[str, list[tuple[int, Candidate]]] = field(default_factory=dict)  # QC passes
    source_hits: dict[str, Hit] = field(default_factory=dict)  # contaminated originals
    cand_hits: dict[str, Hit] = field(default_factory=dict)  # contaminated candidates
    contaminated: list[dict[str, Any]] = field(default_factory=list)  # contaminated.jsonl
    guard_seconds: float = 0.0


@dataclass
class Kept:
    """The candidates still in the running after gating, sibling copies and contamination."""

    verdicts: dict[str, str] = field(default_factory=dict)  # candidate id -> reason
    cand_ids: list[str] = field(default_factory=list)
    picks: dict[str, Pick] = field(default_factory=dict)
    live_by_key: dict[str, list[int]] = field(default_factory=dict)


def gather(store: ShardStore, keys: list[str], guard: ContaminationGuard | None,
           drop: bool) -> Gathered:
    """Read every shard once: ids, QC results, QC passes, and (with eval sets) the guard's scan
    of originals and QC passes, after QC and before dedup and the mix."""
    g = Gathered()
    for key in keys:
        shard = store.load(key)
        g.orig_ids.extend(o["id"] for o in shard.originals)
        g.results.extend((c.generator, c.reason) for c in shard.candidates)
        if guard is not None:
            t0 = time.perf_counter()
            orig_hits, hits = scan_shard(guard, shard, *store.vectors(key))
            g.cand_hits.update(hits)
            for o, h in zip(shard.originals, orig_hits, strict=True):
                if h is not None:
                    g.source_hits[o["id"]] = h
                    g.contaminated.append(record(h, o["id"], o["line"],
                                                 checked_text(o["row"], o.get("layout")), drop))
            g.guard_seconds += time.perf_counter() - t0
        g.live[key] = [(j, c) for j, c in enumerate(shard.candidates) if c.reason is None]
    return g


def screen(g: Gathered, gated: dict[str, str], guarded: bool) -> Kept:
    """Per QC pass, in order: contaminated (never kept), its generator gated as low-yield, or a
    lexical copy of a sibling (dedup does not compare siblings); the rest stay in the running."""
    k = Kept()
    for key, live in g.live.items():
        k.live_by_key[key] = []
        family: dict[str, list[Candidate]] = {}
        for j, c in live:
            bad = variant_verdict(c, g.cand_hits, g.source_hits) if guarded else None
            if bad is not None:
                k.verdicts[c.id] = bad
                continue
            if c.generator in gated:
                k.verdicts[c.id] = gated[c.generator]
                continue
            siblings = family.setdefault(c.source_id, [])
            twin = next((s for s in siblings if s.field == c.field
                         and trivial_copy(c.text, s.text)), None)
            if twin is not None:
                k.verdicts[c.id] = f"near_duplicate_of:{twin.id}"
                continue
            siblings.append(c)
            k.live_by_key[key].append(j)
            k.cand_ids.append(c.id)
            k.picks[c.id] = Pick(c.id, c.source_id, c.method, c.scores.get("similarity", 0.0))
    return k


def dedup(cfg: Config, store: ShardStore, keys: list[str], g: Gathered, k: Kept,
          dropped: dict[str, str]) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Near-duplicates across the set (FAISS; originals protected, a row never a duplicate of
    its own source): verdicts into `k`; the row matrix (originals, then candidates) and the
    report's part (the index used)."""
    ids = g.orig_ids + k.cand_ids  # originals first: candidates are checked against all of them
    if not ids:
        return None, {"dedup": {"index": "empty", "original_pairs": 0}}
    n_orig = len(g.orig_ids)
    matrix = gather_vectors(store, keys, k.live_by_key, n_orig, len(k.cand_ids))
    row_of = {oid: i for i, oid in enumerate(g.orig_ids)}
    families: dict[str, int] = {}  # rows with no source row (refusal cases): a family id
    own_source = np.array([row_of[s] if s in row_of else families.setdefault(
        s, len(ids) + len(families)) for s in (k.picks[cid].source_id for cid in k.cand_ids)],
        dtype=np.int64)
    own_source = np.concatenate([np.full(n_orig, -1, dtype=np.int64), own_source])
    result = find_near_duplicates(
        matrix, np.arange(len(ids)) < n_orig, cfg.dedup.threshold,
        exact_max=cfg.dedup.exact_max, nprobe=cfg.dedup.nprobe, seed=cfg.run.seed,
        own_source=own_source,
        absent=np.array([i in dropped for i in ids], dtype=bool) if dropped else None)
    for i in np.nonzero(result.duplicate_of >= 0)[0]:
        k.verdicts[ids[i]] = f"near_duplicate_of:{ids[result.duplicate_of[i]]}"
    return matrix, {"dedup": {"index": result.index_kind,
                              "original_pairs": result.original_pairs}}


def diversity(matrix: np.ndarray | None, g: Gathered, k: Kept, dropped: dict[str, str],
              seed: int) -> dict[str, Any]:
    """The report's part: mean pairwise distance of the originals, and of what the output
    keeps (nothing without rows)."""
    if matrix is None:
        return {}
    n_orig = len(g.orig_ids)
    kept = np.concatenate([np.array([o not in dropped for o in g.orig_ids], dtype=bool),
                           np.array([c not in k.verdicts for c in k.cand_ids], dtype=bool)])
    return {"diversity": {
        "before": {"mean_distance": mean_pairwise_distance(matrix, np.arange(n_orig), seed=seed)},
        "after": {"mean_distance": mean_pairwise_distance(matrix, np.nonzero(kept)[0], seed=seed)},
    }}


def gather_vectors(store: ShardStore, keys: list[str], live_by_key: dict[str, list[int]],
                   n_orig: int, n_cand: int) -> np.ndarray:
    """One float16 matrix, originals then live candidates in shard order, filled shard by shard.

    Peak memory is this matrix (2 bytes × dim per row) plus one shard's vectors; the shards store
    float16, so nothing is lost by keeping it.
    """
    matrix: np.ndarray | None = None
    o = c = 0
    for key in keys:
        orig, cand = store.vectors(key)
        live = live_by_key[key]
        for block in (orig, cand):
            if matrix is None and block.ndim == 2 and block.shape[0] and block.shape[1]:
                matrix = np.empty((n_orig + n_cand, block.shape[1]), dtype=np.float16)
        if matrix is None:
            continue
        if len(orig):
            matrix[o:o + len(orig)] = orig
            o += len(orig)
        if live:
            matrix[n_orig + c:n_orig + c + len(live)] = cand[live]
            c += len(live)
    if matrix is None or (o, c) != (n_orig, n_cand):
        raise RuntimeError(f"shard vectors do not match their rows ({o}/{n_orig}, {c}/{n_cand})")
    return matrix
