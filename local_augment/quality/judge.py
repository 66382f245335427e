"""The LLM judge: P(same request) for (source, variant) instruction pairs, asked in both orders.

The prompt (`prompts/judge.txt`) states the rubric: one correct reply to A must be a correct,
complete reply to B. Six demonstrations (`prompts/judge_demos.json`, written for this, none from
the data QC is measured on) come first as earlier turns, so a small model sees what "same"
means; the shared prefix is what vLLM's prefix cache keeps. The two orders' probabilities enter
the judged-regime equivalence model (`quality/equivalence.py`) as log-odds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from functools import cache

from local_augment.engines.llm.prompting import PROMPTS_DIR
from local_augment.engines.protocols import ChatModel

Judge = Callable[[list[tuple[str, str]]], list[tuple[float, float]]]


@cache
def _demos() -> tuple[tuple[str, str, str], ...]:
    rows = json.loads((PROMPTS_DIR / "judge_demos.json").read_text(encoding="utf-8"))
    return tuple((r["a"], r["b"], r["same"]) for r in rows)


def _ask(text: str, a: str, b: str) -> str:
    return text.replace("{source}", a).replace("{variant}", b)


def judge_conversations(text: str, pairs: Sequence[tuple[str, str]]) -> list[list[dict]]:
    """One chat per (A, B) pair: the demonstrations as earlier turns, then the pair."""
    prefix: list[dict] = []
    for a, b, same in _demos():
        prefix += [{"role": "user", "content": _ask(text, a, b)},
                   {"role": "assistant", "content": same}]
    return [[*prefix, {"role": "user", "content": _ask(text, a, b)}] for a, b in pairs]


def llm_judge(llm: ChatModel, text: str) -> Judge:
    """(P(yes) for source→variant, P(yes) for variant→source) per pair, from one batch."""
    def judge(pairs: list[tuple[str, str]]) -> list[tuple[float, float]]:
        both = judge_conversations(text, [*pairs, *((b, a) for a, b in pairs)])
        probs = llm.yes_probability(both)
        n = len(pairs)
        return list(zip(probs[:n], probs[n:], strict=True))
    return judge
