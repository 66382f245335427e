"""The contamination guard: is a row a copy, an edit or a rewording of an eval prompt?

Two matchers, over every prompt of every eval set:

- **n-grams** of normalised tokens (NFKC, lower case, runs of letters and digits; punctuation and
  spacing are ignored), `n` = 13 by default as in lm-evaluation-harness and NeMo Curator. A row
  sharing one n-gram with an eval prompt is contaminated; its score is the share of that prompt's
  n-grams found in the row. A prompt shorter than `n` is matched on all its tokens, in order; one
  shorter than `min_tokens` only when the row's whole prompt is exactly it (a two-word prompt such
  as "Define entropy." is inside too many unrelated rows). N-grams are 64-bit rolling hashes of
  token ids in sorted numpy arrays (12 bytes per eval n-gram), looked up with `searchsorted`.
- **embeddings**: the run's embedder encodes the eval prompts once into a FAISS inner-product index
  (exact `IndexFlatIP` up to `exact_max` prompts, IVF with float16 codes above, built by
  `quality.dedup.build_index`); a row whose prompt has cosine ≥ `threshold` with an eval prompt is
  contaminated. Queries go in blocks, so memory is the index plus one block.

Inside a run the rows' stored vectors (normalize(e(prompt) + e(output)), see `shard/process.py`) are a
cheap prefilter: only rows whose stored vector has cosine ≥ `prefilter` with some eval prompt have
their prompt encoded and checked against `threshold`; see `check`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from local_augment.data.eval_sets import EvalSet
from local_augment.engines.protocols import EncodeFn
from local_augment.quality.dedup import build_index
from local_augment.quality.eval_vectors import EvalVectorCache
from local_augment.quality.ngram_index import NgramTable, tokens, windows
from local_augment.quality.reasons import eval_contamination

BLOCK = 8192  # rows per FAISS query block
ENCODE_CHUNK = 65_536  # eval prompts per encode call (float32 only for one chunk)


@dataclass(frozen=True)
class Hit:
    """A row matched eval prompt `eval_id` of set `set_name` by `kind` (ngram|embedding)."""

    set_name: str
    eval_id: str
    kind: str
    score: float
    eval_text: str

    @property
    def reason(self) -> str:
        return eval_contamination(self.set_name, self.eval_id, self.kind, self.score)


class ContaminationGuard:
    """N-gram and embedding matching of rows against every prompt of the given eval sets."""

    def __init__(self, sets: Sequence[EvalSet], encode: EncodeFn | None, *, n: int = 13,
                 min_tokens: int = 3, threshold: float = 0.8, prefilter: float = 0.5,
                 exact_max: int = 50_000, nprobe: int = 16, seed: int = 0,
                 cache: EvalVectorCache | None = None) -> None:
        """`cache`: eval-set vectors kept across runs (a set found there is not encoded);
        `notes` says which sets were read from it."""
        self.n, self.min_tokens = n, min_tokens
        self.threshold, self.prefilter = threshold, prefilter
        self.encode = encode
        self.timings: Counter[str] = Counter()
        self.set_names = [s.name for s in sets]
        self.set_of = np.concatenate([np.full(len(s), k, dtype=np.int32)
                                      for k, s in enumerate(sets)]) if sets else np.zeros(0, int)
        self.sets = list(sets)
        self.cache = cache
        self.notes: list[str] = []
        self.ids = [i for s in sets for i in s.ids]
        self.prompts = [p for s in sets for p in s.prompts]
        t0 = time.perf_counter()
        self._build_ngrams()
        self.timings["ngram_index"] += time.perf_counter() - t0
        self.index, self.index_kind = None, "none"
        if encode is not None and self.prompts:
            self._build_embeddings(exact_max, nprobe, seed)

    # ---- n-grams ---------------------------------------------------------------------------
    def _build_ngrams(self) -> None:
        self.vocab: dict[str, int] = {}
        ids: list[np.ndarray] = []
        for text in self.prompts:
            ids.append(np.array([self.vocab.setdefault(t, len(self.vocab) + 1)
                                 for t in tokens(text)], dtype=np.int64))
        lens = np.array([len(a) for a in ids], dtype=np.int64)
        long_ = [a if len(a) >= self.n else a[:0] for a in ids]
        h, owner = windows(long_, self.n)
        self.long = NgramTable(h, owner)
        self.ngram_count = np.bincount(self.long.owners, minlength=len(ids))
        self.short: dict[int, NgramTable] = {}
        for m in sorted(set(lens[(lens >= self.min_tokens) & (lens < self.n)].tolist())):
            hs, ow = windows([a if len(a) == m else a[:0] for a in ids], m)
            self.short[m] = NgramTable(hs, ow)
        self.tiny: dict[tuple[int, ...], int] = {}
        for k in np.nonzero((lens > 0) & (lens < self.min_tokens))[0]:
            self.tiny.setdefault(tuple(ids[k].tolist()), int(k))

    def ngram_hits(self, texts: Sequence[str]) -> list[Hit | None]:
        """Per text, its best n-gram match (highest share of the eval prompt's n-grams)."""
        t0 = time.perf_counter()
        ids = [np.array([self.vocab.get(t, 0) for t in tokens(x)], dtype=np.int64) for x in texts]
        best = np.zeros(len(texts))
        which = np.full(len(texts), -1, dtype=np.int64)
        rows_all = np.arange(len(texts))
        h, owner = windows(ids, self.n)
        r, e, hh = self.long.lookup(h, rows_all[owner])
        if len(r):
            uniq = np.unique(np.stack([r, e, hh.view(np.int64)], axis=1), axis=0)
            pairs, counts = np.unique(uniq[:, :2], axis=0, return_counts=True)
            share = counts / np.maximum(self.ngram_count[pairs[:, 1]], 1)
            order = np.lexsort((pairs[:, 1], -share))  # best share first, lowest eval index
            for (row, ev), s in zip(pairs[order], share[order], strict=True):
                if which[row] < 0:
                    which[row], best[row] = ev, s
        for m, table in self.short.items():
            h, owner = windows(ids, m)
            r, e, _ = table.lookup(h, rows_all[owner])
            for row, ev in sorted(zip(r.tolist(), e.tolist(), strict=True)):
                if which[row] < 0 or (best[row] < 1.0):
                    which[row], best[row] = ev, 1.0
        if self.tiny:
            for row, a in enumerate(ids):
                ev = self.tiny.get(tuple(a.tolist()))
                if ev is not None and which[row] < 0:
                    which[row], best[row] = ev, 1.0
        self.timings["ngram"] += time.perf_counter() - t0
        return [self._hit(int(w), "ngram", float(s)) if w >= 0 else None
                for w, s in zip(which, best, strict=True)]

    # ---- embeddings ------------------------------------------------------------------------
    def _build_embeddings(self, exact_max: int, nprobe: int, seed: int) -> None:
        assert self.encode is not None
        parts = []
        self.timings["encode_eval"] += 0.0  # shown even when every set came from the cache
        for es in self.sets:
            t0 = time.perf_counter()
            got = self.cache.load(es) if self.cache is not None else None
            if got is not None:
                self.timings["eval_vectors_cached"] += len(es)
                self.timings["read_eval_cache"] += time.perf_counter() - t0
                self.notes.append(f"contamination: eval set {es.name!r}: {len(es):,} prompt "
                                  f"vectors read from the cache ({self.cache.path(es)}), "
                                  "not encoded again")
                parts.append(got.astype(np.float16, copy=False))
                continue
            t0 = time.perf_counter()
            vecs = self._encode(es.prompts)
            self.timings["encode_eval"] += time.perf_counter() - t0
            if self.cache is not None:
                self.cache.save(es, vecs)
            parts.append(vecs)
        mat = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float16)
        t0 = time.perf_counter()
        self.index, self.index_kind = build_index(mat, exact_max=exact_max, nprobe=nprobe,
                                                  seed=seed)
        self.timings["faiss_index"] += time.perf_counter() - t0

    def _encode(self, prompts: list[str]) -> np.ndarray:
        assert self.encode is not None
        mat: np.ndarray | None = None
        for start in range(0, len(prompts), ENCODE_CHUNK):
            vecs = self.encode(prompts[start:start + ENCODE_CHUNK])
            if mat is None:
                mat = np.empty((len(prompts), vecs.shape[1]), dtype=np.float16)
            mat[start:start + len(vecs)] = vecs
        assert mat is not None
        return mat

    def nearest(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cosine, eval prompt index) of each vector's nearest eval prompt, queried in blocks."""
        t0 = time.perf_counter()
        sims = np.full(len(vectors), -1.0, dtype=np.float32)
        idx = np.full(len(vectors), -1, dtype=np.int64)
        if self.index is not None and len(vectors):
            for start in range(0, len(vectors), BLOCK):
                block = np.ascontiguousarray(vectors[start:start + BLOCK], dtype=np.float32)
                d, i = self.index.search(block, 1)
                sims[start:start + len(block)], idx[start:start + len(block)] = d[:, 0], i[:, 0]
        self.timings["faiss_search"] += time.perf_counter() - t0
        return sims, idx

    def check(self, texts: Sequence[str], row_vectors: np.ndarray | None = None
              ) -> list[Hit | None]:
        """Per text (a row's prompt), its match or None: n-grams first, then embeddings.

        With `row_vectors` (the run's stored row vectors of the same rows) only rows whose
        vector is within `prefilter` of an eval prompt have their prompt encoded; without them
        every row not matched by n-grams is encoded.
        """
        hits = self.ngram_hits(texts)
        if self.index is None or self.encode is None:
            return hits
        todo = np.array([k for k, h in enumerate(hits) if h is None], dtype=np.int64)
        if row_vectors is not None and len(todo):
            sims, _ = self.nearest(row_vectors[todo])
            todo = todo[sims >= self.prefilter]
        self.timings["prefiltered_rows"] += len(todo)
        if not len(todo):
            return hits
        t0 = time.perf_counter()
        vecs = self.encode([texts[k] for k in todo])
        self.timings["encode_rows"] += time.perf_counter() - t0
        sims, idx = self.nearest(vecs)
        for k, s, e in zip(todo, sims, idx, strict=True):
            if e >= 0 and s >= self.threshold:
                hits[k] = self._hit(int(e), "embedding", float(s))
        return hits

    def _hit(self, k: int, kind: str, score: float) -> Hit:
        return Hit(self.set_names[self.set_of[k]], self.ids[k], kind, round(score, 4),
                   self.prompts[k])

    def describe(self) -> dict[str, object]:
        """For the report: the sets, the settings and the index used."""
        return {"sets": {n: int((self.set_of == k).sum()) for k, n in enumerate(self.set_names)},
                "ngram": self.n, "min_tokens": self.min_tokens, "threshold": self.threshold,
                "prefilter": self.prefilter, "index": self.index_kind}
