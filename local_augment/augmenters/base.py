"""The augmenter interface; `Context` (engines/context.py), what every augmenter is built with,
is re-exported here for methods and plugins."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from local_augment.data.records import Candidate, Example
from local_augment.engines.context import Context  # noqa: F401 - re-exported
from local_augment.methods import REGISTRY


class Augmenter(ABC):
    """Turns a batch of Examples into Candidates.

    A subclass's `name` is its entry in `methods.REGISTRY`, and its constructor sets `settings`
    to its config section: `describe()` (the resume fingerprint) is that section plus `details()`
    (models, prompt ids), so no setting can be left out of it.

    Heavy work (loading models) happens in `load()`, never at import or construction time.
    `generate` gets a whole shard at once and must batch its model calls over it. Candidates the
    augmenter already knows are unusable carry `reason` (and `raw`), they are never dropped.
    `standalone` produces rows that have no source example (refusals) once per run.
    """

    name: str = "augmenter"
    settings: BaseModel

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        """Every concrete method is in the registry; `abstract=True` marks a shared base."""
        super().__init_subclass__(**kwargs)
        if not abstract and cls.name not in REGISTRY:
            raise TypeError(f"{cls.__name__}.name {cls.name!r} is not in methods.REGISTRY")

    def load(self) -> None:  # noqa: B027 - optional hook
        """Load models; called once before the first batch (none by default)."""

    def unload(self) -> None:  # noqa: B027 - optional hook
        """Free models; called once after the last batch (none by default)."""

    @abstractmethod
    def generate(self, batch: Sequence[Example]) -> list[Candidate]:
        """Candidates for a shard of examples (a standalone-only method returns [])."""

    def standalone(self, layout: str) -> list[Candidate]:  # noqa: ARG002 - for methods that make them
        """Rows with no source example, once per run, in the file's `layout` (none by default)."""
        return []

    def details(self) -> dict[str, Any]:
        """What else changes the output beyond the config section: models, prompt ids."""
        return {}

    def models(self) -> dict[str, str]:
        """The models of its own this run of the method uses, by role ("translator en-de"):
        their names in the manifest, recorded in the report. The run's shared LLM is recorded
        through `uses_llm`, not here (none by default)."""
        return {}

    @property
    def uses_llm(self) -> bool:
        """Whether this run of the method calls the LLM: its registry entry says so (a method
        that only sometimes does, like refusals filling in missing fields, overrides this)."""
        return REGISTRY[self.name].uses_llm

    def describe(self) -> dict[str, Any]:
        """Settings that change this augmenter's output (part of the resume fingerprint)."""
        return {"settings": self.settings.model_dump(mode="json"), **self.details()}


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
