"""How varied a set of instructions is: distinct-n and mean pairwise embedding distance."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)


class DistinctN:
    """Distinct-1 and distinct-2: unique n-grams over all n-grams, counted as texts stream by.

    At most `max_texts` texts are counted (the first ones), so memory stays bounded on big sets.
    """

    def __init__(self, max_texts: int = 50_000) -> None:
        self.max_texts = max_texts
        self.texts = 0
        self.total = [0, 0]
        self.seen: list[set] = [set(), set()]

    def add(self, text: str) -> None:
        if self.texts >= self.max_texts:
            return
        self.texts += 1
        toks = _WORD.findall(text.casefold())
        for n, grams in ((1, toks), (2, list(itertools.pairwise(toks)))):
            self.total[n - 1] += len(grams)
            self.seen[n - 1].update(grams)

    def extend(self, texts: Iterable[str]) -> None:
        for t in texts:
            self.add(t)

    def result(self) -> dict[str, float]:
        return {f"distinct_{n}": round(len(self.seen[n - 1]) / self.total[n - 1], 4)
                if self.total[n - 1] else 0.0 for n in (1, 2)}


def mean_pairwise_distance(vectors: np.ndarray, rows: np.ndarray | None = None,
                           max_rows: int = 2000, seed: int = 0) -> float:
    """Mean cosine distance (1 − cos) between distinct rows (all, or the indices `rows`) of unit
    vectors, on a seeded sample of at most `max_rows`: only the sample is copied."""
    rows = np.arange(len(vectors)) if rows is None else np.asarray(rows)
    n = len(rows)
    if n < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    idx = rows[np.sort(rng.choice(n, size=min(n, max_rows), replace=False))]
    v = np.asarray(vectors[idx], dtype=np.float32)
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    sims = v @ v.T
    m = len(v)
    mean_sim = (sims.sum() - np.trace(sims)) / (m * (m - 1))
    return round(float(1.0 - mean_sim), 4)


class Novelty:
    """What the kept variants of each method add: new content words per variant (against its
    own source), distinct-2 of the added rows alone, and the share that is more than a wrapper
    (does not hold its source word for word, and says at least one content word it lacks)."""

    def __init__(self) -> None:
        self.kept: dict[str, int] = {}
        self.new_words: dict[str, int] = {}
        self.reworded: dict[str, int] = {}
        self.distinct: dict[str, DistinctN] = {}

    def add(self, method: str, variant: str, source: str) -> None:
        from local_augment.quality.lexical import new_content_words, tokens

        fresh = new_content_words(variant, source)
        src = " ".join(tokens(source))
        wrapped = bool(src) and src in " ".join(tokens(variant))
        self.kept[method] = self.kept.get(method, 0) + 1
        self.new_words[method] = self.new_words.get(method, 0) + fresh
        self.reworded[method] = self.reworded.get(method, 0) + (fresh > 0 and not wrapped)
        self.distinct.setdefault(method, DistinctN()).add(variant)

    def result(self) -> dict[str, dict[str, float]]:
        return {m: {"kept": n,
                    "new_content_words_per_variant": round(self.new_words[m] / n, 2),
                    "distinct_2_added": self.distinct[m].result()["distinct_2"],
                    "reworded_share": round(self.reworded[m] / n, 4)}
                for m, n in sorted(self.kept.items())}
