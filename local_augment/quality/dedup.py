"""Near-duplicates across the whole set with FAISS: originals are never dropped, the first wins.

Rows are compared by inner product of unit vectors. Below `exact_max` vectors the search is exact
(`IndexFlatIP`); above it an IVF index (nlist ≈ 2·√n, `nprobe` cells searched) whose recall
against exact search `make bench` measures. Both answer range queries, so a group of any size is
seen whole.

The row vectors are float16 (as the shards store them), so the IVF index keeps float16 codes
(`IndexIVFScalarQuantizer`, `QT_fp16`, not by residual): it decodes to exactly the stored
vectors, at half the memory of float32 storage. Vectors are converted to float32 chunk by chunk,
never as a whole second copy.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("local_augment.dedup")


@dataclass
class DedupResult:
    """`duplicate_of[i]`: index of the earlier kept row that row i duplicates, or -1 if kept.

    `original_pairs` counts originals that are near-duplicates of an earlier row (kept anyway).
    """

    duplicate_of: np.ndarray
    similarity: np.ndarray
    original_pairs: int
    index_kind: str


def _f32(block: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(block, dtype=np.float32)


def build_index(
    vectors: np.ndarray, *, exact_max: int, nprobe: int, seed: int = 0, chunk: int = 65_536,
):
    """A FAISS inner-product index over `vectors` (float16 or float32), added chunk by chunk."""
    import faiss

    n, d = vectors.shape
    if n <= exact_max:
        index = faiss.IndexFlatIP(d)
        for start in range(0, n, chunk):
            index.add(_f32(vectors[start:start + chunk]))
        return index, "flat"
    # 2·√n lists: at nprobe 4 a query scans ~2·√n rows plus 2·√n centroids (balanced), and
    # k-means trains on 40·nlist rows: ~10 s at 1M on 2 cores (4·√n took ~100 s)
    nlist = max(16, int(2 * math.sqrt(n)))
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_fp16,
                                          faiss.METRIC_INNER_PRODUCT, False)
    rng = np.random.default_rng(seed)
    train_n = min(n, max(nlist * 40, 50_000))
    sample = _f32(vectors[np.sort(rng.choice(n, size=train_n, replace=False))])
    index.cp.niter = 10
    index.cp.seed = seed
    index.train(sample)
    del sample
    for start in range(0, n, chunk):
        index.add(_f32(vectors[start:start + chunk]))
    index.nprobe = min(nprobe, nlist)
    return index, f"ivf{nlist}/nprobe{index.nprobe}"


def neighbour_pairs(
    vectors: np.ndarray, threshold: float, *, exact_max: int = 20_000, nprobe: int = 4,
    chunk: int = 8192, seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """All pairs (i, j, sim) with i > j and sim ≥ threshold, via range search in query chunks."""
    n = len(vectors)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32), "empty"
    index, kind = build_index(vectors, exact_max=exact_max, nprobe=nprobe, seed=seed)
    qs, ns, ss = [], [], []
    # a hair under the threshold so float noise does not hide a pair sitting on it
    radius = threshold - 1e-6
    for start in range(0, n, chunk):
        lims, dist, ids = index.range_search(_f32(vectors[start:start + chunk]), radius)
        counts = np.diff(lims).astype(np.int64)
        q = np.repeat(np.arange(start, start + len(counts)), counts)
        keep = ids < q
        qs.append(q[keep])
        ns.append(ids[keep])
        ss.append(dist[keep])
    return np.concatenate(qs), np.concatenate(ns).astype(np.int64), np.concatenate(ss), kind


def find_near_duplicates(
    vectors: np.ndarray, protected: np.ndarray, threshold: float, *,
    exact_max: int = 20_000, nprobe: int = 4, seed: int = 0, own_source: np.ndarray | None = None,
    absent: np.ndarray | None = None,
) -> DedupResult:
    """Walk rows in order; a row duplicates an earlier *kept* row if their cosine ≥ threshold.

    Protected rows (originals) are always kept. An unprotected row with a kept earlier neighbour is
    flagged and names its most similar kept neighbour; a row whose only close neighbours were
    themselves dropped is kept (it is not a duplicate of anything in the output).
    `own_source[i]`: the row index of row i's own source original (-1: none). A variant is never a
    duplicate of its own source or of a sibling (another variant of that source): they share the
    output by design, so the row vector (prompt + output) calls them duplicates even when the
    prompts differ; QC has compared each with the source, and the pipeline drops siblings that
    are lexical copies of each other. Every other row is compared as usual.
    `absent[i]`: row i is not in the output (a dropped original): nothing duplicates it.
    """
    n = len(vectors)
    q, nb, sim, kind = neighbour_pairs(vectors, threshold, exact_max=exact_max, nprobe=nprobe,
                                       seed=seed)
    order = np.lexsort((-sim, q))  # by row, most similar neighbour first
    q, nb, sim = q[order], nb[order], sim[order]
    starts = np.searchsorted(q, np.arange(n + 1))
    dup_of = np.full(n, -1, dtype=np.int64)
    dup_sim = np.zeros(n, dtype=np.float32)
    kept = np.ones(n, dtype=bool) if absent is None else ~absent
    original_pairs = 0
    for i in np.unique(q):
        if absent is not None and absent[i]:
            continue
        lo, hi = starts[i], starts[i + 1]
        for j, s in zip(nb[lo:hi], sim[lo:hi], strict=True):
            if own_source is not None and own_source[i] >= 0 and (
                    own_source[i] == j or own_source[i] == own_source[j]):
                continue
            if kept[j]:
                if protected[i]:
                    original_pairs += 1
                else:
                    kept[i] = False
                    dup_of[i] = j
                    dup_sim[i] = s
                break
    log.info("dedup: %d rows, %d near-duplicates, index %s", n, int((~kept).sum()), kind)
    return DedupResult(dup_of, dup_sim, original_pairs, kind)
