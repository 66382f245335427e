"""Per-candidate scores in one vectorised pass: similarity to its own source, length ratio, new words."""

from __future__ import annotations

import re

import numpy as np

from local_augment.config import QCConfig
from local_augment.records import Candidate

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def new_word_count(text: str, source: str) -> int:
    """Words of `text` that do not appear in `source` (case-insensitive)."""
    seen = set(words(source))
    return sum(1 for w in set(words(text)) if w not in seen)


def length_ratio(text: str, source: str) -> float:
    return len(text.strip()) / max(1, len(source.strip()))


def pair_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two (n, d) arrays of unit vectors."""
    return np.einsum("ij,ij->i", a, b)


def score_candidates(
    candidates: list[Candidate], sims: np.ndarray, qc: QCConfig
) -> list[str | None]:
    """Fill each candidate's scores and return its rejection reason (None = kept).

    Reasons are machine-readable: `out_of_window:0.991`, `length_ratio:3.40`, `few_new_words:0`.
    """
    reasons: list[str | None] = []
    windows: dict[str, dict[str, float]] = {}
    sims = np.clip(sims, -1.0, 1.0)  # float noise: a copy can score 1.0000001
    for cand, sim in zip(candidates, sims, strict=True):
        win = windows.setdefault(cand.method, qc.window(cand.method))
        ratio = length_ratio(cand.text, cand.source_text)
        fresh = new_word_count(cand.text, cand.source_text)
        cand.scores = {"similarity": float(sim), "length_ratio": ratio, "new_words": float(fresh)}
        if not win["similarity_min"] <= sim <= win["similarity_max"]:
            reasons.append(f"out_of_window:{sim:.3f}")
        elif not win["length_ratio_min"] <= ratio <= win["length_ratio_max"]:
            reasons.append(f"length_ratio:{ratio:.2f}")
        elif fresh < win["min_new_words"]:
            reasons.append(f"few_new_words:{fresh}")
        else:
            reasons.append(None)
    return reasons
