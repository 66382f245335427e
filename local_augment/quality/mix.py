"""The mix: originals:augmented near a target ratio, a hard cap on the augmented share.

When there are more accepted variants than the budget allows, variants are chosen to add
diversity: within one source, methods take turns and the lower similarity (inside the window) goes
first; across sources, rounds give every source its next best variant in a seeded order, rows of
supplied refusal cases first.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

from local_augment.config import MixConfig
from local_augment.methods import METHODS, STANDALONE_METHODS


@dataclass(frozen=True)
class Pick:
    """A candidate as the mixer sees it."""

    id: str
    source_id: str
    method: str
    similarity: float


def budget(n_originals: int, cfg: MixConfig) -> int:
    """Augmented rows allowed: the target ratio, never above the share cap."""
    target = math.floor(cfg.ratio * n_originals + 1e-9)
    if cfg.max_share >= 1:
        return target
    cap = math.floor(cfg.max_share / (1 - cfg.max_share) * n_originals + 1e-9)
    return min(target, cap)


def _source_order(picks: list[Pick]) -> list[Pick]:
    """Methods take turns (canonical order), lowest similarity first within a method."""
    by_method: dict[str, list[Pick]] = defaultdict(list)
    for p in sorted(picks, key=lambda p: (p.similarity, p.id)):
        by_method[p.method].append(p)
    methods = sorted(by_method, key=lambda m: (METHODS.index(m) if m in METHODS else 99, m))
    out: list[Pick] = []
    for r in range(max((len(v) for v in by_method.values()), default=0)):
        out.extend(by_method[m][r] for m in methods if r < len(by_method[m]))
    return out


def mix(picks: list[Pick], n_originals: int, cfg: MixConfig, seed: int) -> dict[str, str | None]:
    """For every candidate id: None when selected, else `per_original_cap` or `ratio_cap`."""
    groups: dict[str, list[Pick]] = defaultdict(list)
    for p in picks:
        groups[p.source_id].append(p)
    verdict: dict[str, str | None] = {}
    queues: dict[str, list[Pick]] = {}
    for source in sorted(groups):
        ordered = _source_order(groups[source])
        for p in ordered[cfg.per_original:]:
            verdict[p.id] = "per_original_cap"
        queues[source] = ordered[: cfg.per_original]
    sources = sorted(queues)
    random.Random(seed).shuffle(sources)
    # rows with no source row (refusal cases the user supplied) are served first in every round,
    # so each case keeps several distinct requests however tight the budget
    sources.sort(key=lambda s: not all(p.method in STANDALONE_METHODS for p in groups[s]))
    left = budget(n_originals, cfg)
    depth = max((len(q) for q in queues.values()), default=0)
    for r in range(depth):
        for s in sources:
            if r < len(queues[s]):
                p = queues[s][r]
                if left > 0:
                    verdict[p.id] = None
                    left -= 1
                else:
                    verdict[p.id] = "ratio_cap"
    return verdict
