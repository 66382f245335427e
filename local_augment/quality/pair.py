"""What quality control reads and writes: a candidate as a pair with its source, and a verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    @property
    def is_instruction(self) -> bool:
        return self.field in INSTRUCTION_FIELDS

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
