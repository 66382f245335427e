"""The two records that flow through a run: an input Example and a generated Candidate."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

ALPACA = "alpaca"
MESSAGES = "messages"
LAYOUTS = (ALPACA, MESSAGES)
PROVENANCE_KEY = "_provenance"


def content_id(row: dict[str, Any]) -> str:
    """A stable id for a row without one: a short hash of its canonical JSON."""
    blob = json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "h" + hashlib.sha1(blob.encode("utf-8")).hexdigest()[:12]


def _turn_index(messages: list[dict[str, Any]], role: str, start: int = 0) -> int | None:
    for i in range(start, len(messages)):
        if messages[i].get("role") == role:
            return i
    return None


@dataclass(frozen=True)
class Example:
    """One usable input row, in either layout, with a stable id and its source line."""

    id: str
    line: int
    layout: str
    row: dict[str, Any]

    @property
    def instruction(self) -> str:
        if self.layout == ALPACA:
            return self.row["instruction"]
        i = _turn_index(self.row["messages"], "user")
        return self.row["messages"][i]["content"] if i is not None else ""

    @property
    def input(self) -> str:
        return self.row.get("input") or "" if self.layout == ALPACA else ""

    @property
    def output(self) -> str:
        if self.layout == ALPACA:
            return self.row.get("output") or ""
        msgs = self.row["messages"]
        u = _turn_index(msgs, "user")
        a = _turn_index(msgs, "assistant", (u or 0) + 1)
        return msgs[a]["content"] if a is not None else ""

    def replaced(
        self,
        instruction: str | None = None,
        input: str | None = None,
        output: str | None = None,
    ) -> dict[str, Any]:
        """A copy of the row with some texts replaced; extra fields are kept, `id` is dropped.

        In the messages layout the instruction is the first user turn and the output the first
        assistant turn after it; the other turns are kept as they are.
        """
        row = json.loads(json.dumps(self.row))
        row.pop("id", None)
        row.pop(PROVENANCE_KEY, None)
        if self.layout == ALPACA:
            if instruction is not None:
                row["instruction"] = instruction
            if input is not None:
                row["input"] = input
            if output is not None:
                row["output"] = output
            return row
        msgs = row["messages"]
        u = _turn_index(msgs, "user")
        if instruction is not None and u is not None:
            msgs[u]["content"] = instruction
        if output is not None:
            a = _turn_index(msgs, "assistant", (u or 0) + 1)
            if a is not None:
                msgs[a]["content"] = output
        return row


def prompt_text(ex: Example) -> str:
    """What a row asks: the instruction, plus its input when there is one."""
    return ex.instruction + ("\n\n" + ex.input if ex.input else "")


def row_example(row: dict[str, Any]) -> Example:
    """A row as an Example, its layout read off its fields (for rows read back from a run)."""
    return Example(id=str(row.get("id", "")), line=0,
                   layout=MESSAGES if "messages" in row else ALPACA, row=row)


def build_row(layout: str, instruction: str, output: str, system: str | None = None) -> dict:
    """A fresh row in the given layout (used for rows with no source example, e.g. refusals)."""
    if layout == ALPACA:
        return {"instruction": instruction, "input": "", "output": output}
    msgs = [{"role": "system", "content": system}] if system else []
    msgs += [{"role": "user", "content": instruction}, {"role": "assistant", "content": output}]
    return {"messages": msgs}


@dataclass
class Candidate:
    """A generated variant and where it came from.

    `field` names the text that changed (`instruction`, `input`, `output`, or `row` for rows that
    have no source example); `text`/`source_text` are what quality control compares. An augmenter
    that already knows the candidate is unusable sets `reason` (and `raw` for model output).
    """

    source_id: str
    method: str
    index: int
    row: dict[str, Any]
    field: str
    text: str
    source_text: str
    params: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] | None = None
    seed: int | None = None
    reason: str | None = None
    raw: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        """An output variant's kind ("brief", "bulleted"); None for every other candidate."""
        kind = self.params.get("variant") if self.field == "output" else None
        return kind if isinstance(kind, str) else None

    @property
    def generator(self) -> str:
        """What wrote the candidate, as the low-yield gate judges it: the method, and for an
        output variant its kind ("outputs:brief"), each with its own prompt and failure rate."""
        return f"{self.method}:{self.kind}" if self.kind else self.method

    @property
    def id(self) -> str:
        return f"{self.source_id}.{self.method}.{self.index}"

    def provenance(self) -> dict[str, Any]:
        prov: dict[str, Any] = {
            "id": self.id,
            "source_id": self.source_id,
            "method": self.method,
            "field": self.field,
            "params": self.params,
        }
        if self.model:
            prov["model"] = self.model
        prov["seed"] = self.seed
        prov.update({k: round(float(v), 4) for k, v in self.scores.items()})
        return prov

    def to_state(self) -> dict[str, Any]:
        """A JSON-able form, for shard files (resume)."""
        return {
            "source_id": self.source_id, "method": self.method, "index": self.index,
            "row": self.row, "field": self.field, "text": self.text,
            "source_text": self.source_text, "params": self.params, "model": self.model,
            "seed": self.seed, "reason": self.reason, "raw": self.raw, "scores": self.scores,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Candidate:
        return cls(**state)

