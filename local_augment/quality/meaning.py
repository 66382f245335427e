"""A meaning score that beats sentence cosine: token alignment both ways, combined with the cosine.

BERTScore-style: each token of one text is matched to its most similar token of the other (by
the embedder's own contextual token vectors), giving precision (the variant's tokens are found
in the source) and recall (the source's tokens survive in the variant). A variant that drops or
adds content loses on one side even when the pooled sentence vectors stay close. The score is
`weight · cosine + (1 − weight) · F1(precision, recall)`; `scripts/bench_qc.py` measures it on
STS-B dev against the cosine alone.

A mean lets many well-matched tokens hide a part of one text that the other lacks.
`precision_low` and `recall_low` read each side at its weakest matches (the `LOW_QUANTILE`
quantile of its best-match similarities); the request-equivalence model weighs those
(quality/equivalence.py), which separated people's bank-request rewordings from changed
requests better than the means did.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOW_QUANTILE = 0.15  # the weakest-matched share of tokens the *_low sides read


@dataclass(frozen=True)
class Alignment:
    """Mean best-match similarity of each side, and its low quantile (the weakest matches)."""

    precision: float
    recall: float
    precision_low: float
    recall_low: float

    @property
    def f1(self) -> float:
        s = self.precision + self.recall
        return 2 * self.precision * self.recall / s if s > 0 else 0.0


def align(variant: np.ndarray, source: np.ndarray) -> Alignment:
    """Greedy token alignment of two (n, d) arrays of unit token vectors."""
    if len(variant) == 0 or len(source) == 0:
        return Alignment(0.0, 0.0, 0.0, 0.0)
    sims = variant @ source.T
    p, r = sims.max(axis=1), sims.max(axis=0)
    return Alignment(float(p.mean()), float(r.mean()), float(np.quantile(p, LOW_QUANTILE)),
                     float(np.quantile(r, LOW_QUANTILE)))


def meaning_score(cosine: float, alignment: Alignment, weight: float = 0.5) -> float:
    """Higher means more alike; in [-1, 1]."""
    return weight * cosine + (1 - weight) * alignment.f1
