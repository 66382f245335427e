"""Benchmark near-duplicate search: `quality.dedup.find_near_duplicates` at 10k, 100k and 1M rows.

Vectors are clustered synthetic unit vectors, float32 × 384: topic centres with per-topic spread
(cosines inside a topic ≈ 0.4–0.7, like sentence embeddings of related texts), and 10 % of rows
rewritten as near-copies of another row with cosine spread over 0.97–0.999, so about two thirds
of those pairs sit above the 0.98 threshold and the rest just below it. A third of the rows are
protected (originals), as in a 1:2 mix.

Per size: time of index build, range search and the walk, the index kind (`DedupConfig.exact_max`
decides flat vs IVF), flagged rows, and recall of the above-threshold pairs against exact search
(`IndexFlatIP` range search in database chunks) on a random subset of query rows (all rows at
small sizes): recall = found pairs (i, j), i > j, i or j in the subset / exact such pairs.

Then: flat vs IVF at 10k/50k/100k (where exact search stops being affordable), and recall and
search time per `nprobe` on the largest IVF index. Plain-text tables; asserts nothing.

    python scripts/bench_dedup.py [--quick] [--sizes 10000,100000,1000000] [--exact-max N]
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from local_augment.config import DedupConfig  # noqa: E402
from local_augment.quality import dedup  # noqa: E402

CHUNK = 65_536


def clustered(n: int, d: int = 384, *, seed: int = 0, dup_frac: float = 0.10) -> np.ndarray:
    """(n, d) float32 unit vectors with topic structure and planted near-duplicates."""
    rng = np.random.default_rng(seed)
    topics = max(16, int(2 * math.sqrt(n)))
    centres = rng.standard_normal((topics, d), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    spread = rng.uniform(0.7, 1.2, topics).astype(np.float32)
    x = np.empty((n, d), dtype=np.float32)
    scale = np.float32(1 / math.sqrt(d))
    for s in range(0, n, CHUNK):
        e = min(n, s + CHUNK)
        t = rng.integers(0, topics, e - s)
        block = centres[t] + spread[t, None] * scale * rng.standard_normal((e - s, d),
                                                                          dtype=np.float32)
        x[s:e] = block / np.linalg.norm(block, axis=1, keepdims=True)
    n_dup = int(dup_frac * n)
    dups = rng.choice(n, n_dup, replace=False)
    src = rng.integers(0, n, n_dup)
    cos = rng.uniform(0.97, 0.999, n_dup)
    eps = np.sqrt(1 / cos**2 - 1).astype(np.float32)
    for s in range(0, n_dup, CHUNK):
        e = min(n_dup, s + CHUNK)
        block = x[src[s:e]] + eps[s:e, None] * scale * rng.standard_normal((e - s, d),
                                                                           dtype=np.float32)
        x[dups[s:e]] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return x


def exact_pairs(x: np.ndarray, queries: np.ndarray, threshold: float) -> tuple[set, float]:
    """Exact pairs (i, j), i > j, cosine ≥ threshold, i or j among the query rows: IndexFlatIP
    range search in database chunks (one chunk's copy in memory at a time). Returns (pairs, s)."""
    import faiss

    t0 = time.perf_counter()
    radius = threshold - 1e-6
    q = x[queries]
    found: set = set()
    for s in range(0, len(x), 4 * CHUNK):
        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x[s:s + 4 * CHUNK])
        lims, _, ids = index.range_search(q, radius)
        qi = np.repeat(queries, np.diff(lims).astype(np.int64))
        ids = ids + s
        keep = ids != qi
        a, b = np.maximum(qi[keep], ids[keep]), np.minimum(qi[keep], ids[keep])
        found.update(zip(a.tolist(), b.tolist(), strict=True))
    return found, time.perf_counter() - t0


class Probe:
    """Wraps dedup.build_index / dedup.neighbour_pairs during one call to time the stages and
    keep the pairs and the index."""

    def __init__(self) -> None:
        self.t_build = self.t_pairs = 0.0
        self.index = None
        self.pairs: tuple[np.ndarray, np.ndarray] | None = None

    def __enter__(self) -> Probe:
        self._build, self._pairs = dedup.build_index, dedup.neighbour_pairs

        def build(*a, **k):
            t0 = time.perf_counter()
            out = self._build(*a, **k)
            self.t_build += time.perf_counter() - t0
            self.index = out[0]
            return out

        def pairs(*a, **k):
            t0 = time.perf_counter()
            out = self._pairs(*a, **k)
            self.t_pairs += time.perf_counter() - t0
            self.pairs = (out[0], out[1])
            return out

        dedup.build_index, dedup.neighbour_pairs = build, pairs
        return self

    def __exit__(self, *exc: object) -> None:
        dedup.build_index, dedup.neighbour_pairs = self._build, self._pairs


def run_dedup(x: np.ndarray, protected: np.ndarray, threshold: float, exact_max: int,
              nprobe: int) -> dict:
    with Probe() as p:
        t0 = time.perf_counter()
        res = dedup.find_near_duplicates(x, protected, threshold, exact_max=exact_max,
                                         nprobe=nprobe)
        total = time.perf_counter() - t0
    return {"kind": res.index_kind, "build": p.t_build, "search": p.t_pairs - p.t_build,
            "walk": total - p.t_pairs, "total": total, "flagged": int((res.duplicate_of >= 0).sum()),
            "pairs": p.pairs, "index": p.index}


def recall(pairs: tuple[np.ndarray, np.ndarray], queries: np.ndarray, truth: set) -> float:
    if not truth:
        return float("nan")
    q, nb = pairs
    sel = np.isin(q, queries) | np.isin(nb, queries)
    got = set(zip(q[sel].tolist(), nb[sel].tolist(), strict=True))
    return len(got & truth) / len(truth)


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB


def fmt_n(n: int) -> str:
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 \
        else str(n)


def main(argv: list[str] | None = None) -> int:
    cfg = DedupConfig()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="sizes 10k and 100k")
    ap.add_argument("--sizes", default=None, help="comma-separated row counts")
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--threshold", type=float, default=cfg.threshold)
    ap.add_argument("--exact-max", type=int, default=cfg.exact_max,
                    help=f"flat index up to this many rows (default: DedupConfig, {cfg.exact_max})")
    ap.add_argument("--nprobe", type=int, default=cfg.nprobe)
    ap.add_argument("--queries", type=int, default=3000,
                    help="query rows for recall vs exact (all rows up to 4x this)")
    ap.add_argument("--crossover", default="10000,20000,50000,100000",
                    help="sizes for the flat vs IVF table ('' to skip)")
    ap.add_argument("--flat-full-max", type=int, default=50_000,
                    help="crossover: above this, flat time is extrapolated from the exact subset")
    ap.add_argument("--sweep", default="1,2,4,8,16,32", help="nprobe values ('' to skip)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("10000,100000" if args.quick
                                             else "10000,100000,1000000")).split(",")]
    cross = [int(s) for s in args.crossover.split(",") if s]
    sweep = [int(s) for s in args.sweep.split(",") if s]
    thr = args.threshold
    import faiss

    print(f"dedup benchmark: clustered synthetic unit vectors, float32 x {args.dim}, threshold "
          f"{thr}, exact_max {args.exact_max}, nprobe {args.nprobe}, faiss {faiss.__version__}, "
          f"{faiss.omp_get_max_threads()} threads")
    head = (f"{'rows':>6} {'index':<18} {'build s':>8} {'search s':>9} {'walk s':>7} "
            f"{'total s':>8} {'flagged':>8} {'pairs':>8} {'queries':>8} {'recall':>7} "
            f"{'peak GiB':>8}")
    lines = []
    measured: dict[tuple[int, str], dict] = {}
    last_ivf = None
    for n in sizes:
        t0 = time.perf_counter()
        x = clustered(n, args.dim, seed=args.seed)
        t_gen = time.perf_counter() - t0
        rng = np.random.default_rng(args.seed + 1)
        protected = rng.random(n) < 1 / 3
        r = run_dedup(x, protected, thr, args.exact_max, args.nprobe)
        queries = np.arange(n) if n <= 4 * args.queries else \
            np.sort(rng.choice(n, args.queries, replace=False))
        truth, t_exact = exact_pairs(x, queries, thr)
        rec = recall(r["pairs"], queries, truth)
        kind = "flat" if r["kind"] == "flat" else "ivf"
        measured[(n, kind)] = {"total": r["total"], "recall": rec}
        measured[(n, "exact_rate")] = {"s_per_query": t_exact / len(queries)}
        lines.append(f"{fmt_n(n):>6} {r['kind']:<18} {r['build']:>8.1f} {r['search']:>9.1f} "
                     f"{r['walk']:>7.1f} {r['total']:>8.1f} {r['flagged']:>8} "
                     f"{len(r['pairs'][0]):>8} {len(queries):>8} {rec:>7.4f} {peak_rss_gib():>8.2f}")
        print(f"  [{fmt_n(n)}: generated in {t_gen:.1f}s; exact on {len(queries)} queries "
              f"{t_exact:.1f}s, {len(truth)} pairs]", flush=True)
        if kind == "ivf" and sweep:
            last_ivf = (n, x, queries, truth, r["index"])
        else:
            del r
    print(head)
    print("\n".join(lines))
    print("recall: pairs (i, j), i > j, cosine >= threshold, i or j among the query rows, found / "
          "exact (IndexFlatIP range search); peak GiB: peak RSS of this process so far")

    if last_ivf is not None:
        n, x, queries, truth, index = last_ivf
        q = x[queries]
        print(f"\nnprobe sweep on the {fmt_n(n)} IVF index ({index.nlist} lists), "
              f"{len(queries)} query rows; search time extrapolated to all {fmt_n(n)} rows")
        print(f"{'nprobe':>6} {'search s (est)':>15} {'recall':>7}")
        for p in sweep:
            index.nprobe = min(p, index.nlist)
            t0 = time.perf_counter()
            lims, _, ids = index.range_search(q, thr - 1e-6)
            dt = time.perf_counter() - t0
            qi = np.repeat(queries, np.diff(lims).astype(np.int64))
            keep = ids != qi  # a pair found from either end (the pipeline keeps i > j only)
            rec = recall((np.maximum(qi[keep], ids[keep]), np.minimum(qi[keep], ids[keep])),
                         queries, truth)
            print(f"{p:>6} {dt * n / len(queries):>15.1f} {rec:>7.4f}")
        del last_ivf, index, x, q

    if cross:
        print("\nflat vs IVF (find_near_duplicates end to end; flat above "
              f"{fmt_n(args.flat_full_max)} is extrapolated from the exact-subset rate)")
        print(f"{'rows':>6} {'flat s':>9} {'ivf s':>7} {'ivf recall':>10}")
        for n in cross:
            x = clustered(n, args.dim, seed=args.seed)
            rng = np.random.default_rng(args.seed + 1)
            protected = rng.random(n) < 1 / 3
            queries = np.arange(n) if n <= 4 * args.queries else \
                np.sort(rng.choice(n, args.queries, replace=False))
            if (n, "flat") in measured:
                flat = f"{measured[(n, 'flat')]['total']:.1f}"
                truth = None
            elif n <= args.flat_full_max:
                flat = f"{run_dedup(x, protected, thr, n, args.nprobe)['total']:.1f}"
                truth = None
            else:
                truth, t_exact = exact_pairs(x, queries, thr)
                flat = f"~{t_exact * n / len(queries):.0f}"
            if (n, "ivf") in measured:
                ivf_t, ivf_r = measured[(n, "ivf")]["total"], measured[(n, "ivf")]["recall"]
            else:
                r = run_dedup(x, protected, thr, 0, args.nprobe)
                if truth is None:
                    truth, _ = exact_pairs(x, queries, thr)
                ivf_t, ivf_r = r["total"], recall(r["pairs"], queries, truth)
            print(f"{fmt_n(n):>6} {flat:>9} {ivf_t:>7.1f} {ivf_r:>10.4f}", flush=True)
    print(f"\npeak RSS {peak_rss_gib():.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
