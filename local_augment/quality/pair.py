"""What quality control reads and writes: a candidate as a pair with its source, a verdict, and
the batch of them one pass of the chain works on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from local_augment.quality.lexical import output_kind

if TYPE_CHECKING:
    from local_augment.config.checks import CheckSettings

INSTRUCTION_FIELDS = ("instruction", "row")  # what a row asks (an input is its material)


@dataclass
class Pair:
    """A candidate as quality control sees it: the changed text, its source, the source row."""

    method: str
    field: str
    variant: str
    source: str
    instruction: str = ""  # the source row's prompt (what the output answers)
    output: str = ""  # the source row's output (what the instruction asks for)
    kind: str | None = None  # output variants: "brief" or "bulleted"
    generated: bool = False  # a model's own candidate (augment), not a supplied pair (qc)

    @property
    def is_instruction(self) -> bool:
        return self.field in INSTRUCTION_FIELDS

    @property
    def reformatted(self) -> bool:
        """An output variant whose change is its form: a bulleted list of a source that is none.
        It may keep every word and most of the cosine of its source (a list of the source's own
        sentences is the faithful one), so the copy checks (trivial_copy, the cosine window's
        upper bound) do not apply to it; `not_its_kind` checks that it is a list of the
        source's statements."""
        return (self.field == "output" and self.kind == "bulleted"
                and output_kind(self.variant, self.source) == "bulleted")

    @property
    def standalone(self) -> bool:
        """A whole new row with no source example (a method registered `standalone`)."""
        return self.field == "row"


@dataclass
class Verdict:
    """The first reason a pair was rejected (None: kept) and every score computed for it."""

    reason: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    def reject(self, reason: str) -> None:
        """Record `reason` unless an earlier check already gave one (first reason wins)."""
        if self.reason is None:
            self.reason = reason


@dataclass
class Batch:
    """One `check` call: the pairs, each pair's typed settings, the verdicts so far, and the
    embeddings once the embed stage has made them (rows aligned with `embedded`)."""

    pairs: Sequence[Pair]
    cfg: list[CheckSettings]
    out: list[Verdict]
    exhaustive: bool
    given: tuple[np.ndarray, ...] | None
    embedded: list[int] = field(default_factory=list)
    vectors: tuple[np.ndarray, ...] = ()

    def live(self) -> list[int]:
        """Pairs still undecided (every pair when exhaustive)."""
        return [i for i, v in enumerate(self.out) if self.exhaustive or v.reason is None]
