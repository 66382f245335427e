"""The run's report, assembled in one place from the parts its steps return.

Each step (write, dedup, gate, mix, diversity, guard, QC, the run's own facts, timings) returns
a small dict of the top-level sections it knows. `build_report` merges them (a section such as
`diversity` may take keys from two steps; no key may come twice) and then adds what is read
off the whole report: the diagnosis and whether the methods were shown to help.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from local_augment.quality.diagnosis import diagnose, shown_to_help

Part = Mapping[str, Any]


def assemble(parts: Iterable[Part]) -> dict[str, Any]:
    """The parts merged into one report, in the order given."""
    report: dict[str, Any] = {}
    for part in parts:
        _merge(report, part, "")
    return report


def _merge(into: dict[str, Any], part: Part, where: str) -> None:
    """`part` into `into`; nested sections are copied, never shared with the part."""
    for key, value in part.items():
        if isinstance(value, Mapping) and isinstance(into.setdefault(key, {}), dict):
            _merge(into[key], value, f"{where}{key}.")
        elif key not in into:
            into[key] = value
        else:
            raise RuntimeError(f"report: {where}{key} is given by two steps — this is a bug")


def build_report(parts: Iterable[Part], llm_model: str) -> dict[str, Any]:
    """The whole report: the steps' parts, then the diagnosis read off them."""
    report = assemble(parts)
    return assemble([report, {
        "diagnosis": diagnose(report, llm_model),
        "downstream": shown_to_help(report["methods"], llm_model),
    }])
