"""The embedder on the real MiniLM, near-duplicates on real FAISS, and the mix's limits."""

from __future__ import annotations

import numpy as np
import pytest

from local_augment.config import MixConfig
from local_augment.quality.dedup import find_near_duplicates, neighbour_pairs
from local_augment.quality.mix import Pick, budget, mix


def test_embedder_returns_unit_float32_vectors(embedder):
    v = embedder.encode(["How do I reset my password?", "Reset password how?", ""])
    assert v.dtype == np.float32 and v.shape == (3, embedder.dim) and embedder.dim == 384
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert embedder.encode([]).shape == (0, 384)


def _clustered(n_clusters, per_cluster, dim=64, noise=0.01, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim))
    vecs = np.repeat(centres, per_cluster, axis=0) + rng.normal(scale=noise, size=(
        n_clusters * per_cluster, dim))
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs.astype(np.float32)


def test_dedup_keeps_first_and_never_drops_originals():
    vecs = _clustered(4, 5)  # 4 groups of 5 near-identical rows
    protected = np.zeros(20, dtype=bool)
    protected[[0, 1, 5]] = True  # two originals in group 0, one in group 1
    res = find_near_duplicates(vecs, protected, 0.98)
    kept = res.duplicate_of < 0
    assert kept[protected].all()
    for g in range(4):
        members = np.arange(g * 5, g * 5 + 5)
        assert kept[members[0]]  # the first of every group stays
        for i in members[~kept[members]]:
            j = res.duplicate_of[i]
            assert j < i and kept[j] and float(vecs[i] @ vecs[j]) >= 0.98
    assert kept.sum() == 4 + 1  # group 0 keeps both originals
    assert res.original_pairs == 1


def test_dedup_never_calls_a_variant_a_duplicate_of_its_source_or_sibling():
    vecs = _clustered(1, 4)  # an original, two variants of it, a variant of another row
    protected = np.array([True, False, False, False])
    own = np.array([-1, 0, 0, 7])
    res = find_near_duplicates(vecs, protected, 0.98, own_source=own)
    # rows 1 and 2 are variants of row 0 (source and sibling: exempt); row 3, another row's
    # variant, duplicates a kept row
    assert list(res.duplicate_of[:3]) == [-1, -1, -1] and res.duplicate_of[3] in (0, 1, 2)


def test_dedup_is_transitive_only_through_kept_rows():
    # a ~ b and b ~ c, but a !~ c: b goes, c stays (it duplicates nothing in the output)
    a = np.array([1.0, 0.0])
    c = np.array([np.cos(0.4), np.sin(0.4)])
    b = np.array([np.cos(0.2), np.sin(0.2)])
    vecs = np.stack([a, b, c]).astype(np.float32)
    res = find_near_duplicates(vecs, np.zeros(3, dtype=bool), 0.975)
    assert list(res.duplicate_of) == [-1, 0, -1]


def test_ivf_index_finds_the_same_pairs_as_exact():
    vecs = _clustered(300, 4, dim=48, noise=0.02, seed=3)
    exact = neighbour_pairs(vecs, 0.98, exact_max=10**9)
    approx = neighbour_pairs(vecs, 0.98, exact_max=100, nprobe=8)
    assert exact[3] == "flat" and approx[3].startswith("ivf")
    e = set(zip(exact[0].tolist(), exact[1].tolist(), strict=True))
    a = set(zip(approx[0].tolist(), approx[1].tolist(), strict=True))
    assert a <= e and len(a) / len(e) >= 0.99



def test_float16_rows_give_the_pairs_and_similarities_of_their_float32_values():
    """The pipeline hands dedup float16 rows (as the shards store them); the IVF index keeps
    float16 codes of them, so nothing differs from searching the same values as float32."""
    vecs = _clustered(300, 4, dim=48, noise=0.02, seed=3).astype(np.float16)
    for exact_max in (10**9, 100):  # flat, then IVF
        half = neighbour_pairs(vecs, 0.98, exact_max=exact_max, nprobe=8)
        full = neighbour_pairs(vecs.astype(np.float32), 0.98, exact_max=exact_max, nprobe=8)
        assert half[3] == full[3]
        assert half[0].tolist() == full[0].tolist() and half[1].tolist() == full[1].tolist()
        np.testing.assert_allclose(half[2], full[2], atol=1e-5)

def _picks(n_sources, per_source, methods=("templates", "paraphrase")):
    out = []
    for s in range(n_sources):
        for k in range(per_source):
            m = methods[k % len(methods)]
            out.append(Pick(f"s{s}.{m}.{k}", f"s{s}", m, 0.9 - 0.01 * k))
    return out


@pytest.mark.parametrize("ratio, share", [(2.0, 0.7), (5.0, 0.7), (1.0, 0.5), (0.5, 0.9)])
def test_mix_respects_ratio_share_and_per_original_cap(ratio, share):
    cfg = MixConfig(ratio=ratio, max_share=share, per_original=3)
    picks = _picks(20, 6)
    verdict = mix(picks, 20, cfg, seed=0)
    chosen = [p for p in picks if verdict[p.id] is None]
    assert len(verdict) == len(picks)
    assert len(chosen) == min(budget(20, cfg), 20 * 3)
    assert len(chosen) / (20 + len(chosen)) <= share + 1e-9
    assert len(chosen) <= ratio * 20
    per = {}
    for p in chosen:
        per[p.source_id] = per.get(p.source_id, 0) + 1
    assert max(per.values()) <= 3
    assert max(per.values()) - min(per.values()) <= 1  # spread evenly over sources
    assert {verdict[p.id] for p in picks} <= {None, "per_original_cap", "ratio_cap"}


def test_mix_prefers_method_variety_and_low_similarity_and_is_seeded():
    cfg = MixConfig(ratio=2.0, max_share=0.7, per_original=2)
    picks = [Pick("a.t.0", "a", "templates", 0.80), Pick("a.t.1", "a", "templates", 0.90),
             Pick("a.p.0", "a", "paraphrase", 0.94)]
    verdict = mix(picks, 1, cfg, seed=0)
    assert verdict["a.t.0"] is None and verdict["a.p.0"] is None
    assert verdict["a.t.1"] == "per_original_cap"
    many = _picks(50, 4)
    tight = MixConfig(ratio=1.5, max_share=0.7, per_original=4)
    assert mix(many, 50, tight, seed=1) == mix(many, 50, tight, seed=1)
    assert mix(many, 50, tight, seed=1) != mix(many, 50, tight, seed=2)


def test_embedder_reports_progress_and_keeps_order(embedder):
    from local_augment import progress
    from local_augment.engines import embedder as embedder_module

    seen = []
    texts = [f"question number {i} " + "word " * (i % 7) for i in range(50)]
    old = embedder_module.CHUNK
    embedder_module.CHUNK = 16
    try:
        with progress.reporting(lambda stage, done, total: seen.append((stage, done, total))):
            chunked = embedder.encode(texts)
    finally:
        embedder_module.CHUNK = old
    whole = embedder.encode(texts)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    assert seen[0] == ("embed", 0, 50) and seen[-1] == ("embed", 50, 50)
    assert len(seen) >= 5  # 4 chunks: the display moves
