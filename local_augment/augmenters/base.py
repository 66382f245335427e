"""The augmenter interface and the context every augmenter is built with."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from local_augment.cache import ModelCache
from local_augment.config import Config
from local_augment.models import Manifest
from local_augment.records import Candidate, Example


@dataclass
class Context:
    """What an augmenter may use: the config, the model store, the run seed, shared engines.

    `shared` holds engines used by several methods (one LLM for paraphrase, outputs and
    refusals), created on first use and unloaded by the pipeline at the end of the run.
    `cache` holds model outputs by (model checksum, params, text): engines call `cache.map`.
    """

    config: Config
    manifest: Manifest
    seed: int
    shared: dict[str, Any] = field(default_factory=dict)
    cache: ModelCache = field(default_factory=lambda: ModelCache(None))


class Augmenter:
    """Turns a batch of Examples into Candidates.

    Heavy work (loading models) happens in `load()`, never at import or construction time.
    `generate` gets a whole shard at once and must batch its model calls over it. Candidates the
    augmenter already knows are unusable carry `reason` (and `raw`), they are never dropped.
    `standalone` produces rows that have no source example (refusals) once per run.
    """

    name: str = "augmenter"

    def load(self) -> None:
        """Load models; called once before the first batch."""

    def unload(self) -> None:
        """Free models; called once after the last batch."""

    def generate(self, batch: Sequence[Example]) -> list[Candidate]:
        return []

    def standalone(self, layout: str) -> list[Candidate]:
        return []

    def describe(self) -> dict[str, Any]:
        """Settings that change this augmenter's output (part of the resume fingerprint)."""
        return {}


def stable_rng_seed(*parts: object) -> int:
    """A 64-bit seed derived from the run seed and ids: same inputs, same choices, any executor."""
    blob = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(blob, digest_size=8).digest(), "big")


def sampled(seed: int, method: str, row_id: str, share: float) -> bool:
    """Whether a method runs on a row, for a `sample` share below 1: a seeded hash of the id."""
    if share >= 1:
        return True
    return stable_rng_seed(seed, method, row_id) / 2**64 < share


def sort_by_length(texts: Sequence[str]) -> tuple[list[int], list[int]]:
    """(order, inverse): `order` visits texts longest first; `inverse[i]` is where text i went."""
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    inverse = [0] * len(order)
    for pos, i in enumerate(order):
        inverse[i] = pos
    return order, inverse
