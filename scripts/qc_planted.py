"""Planted defects for scripts/bench_qc_quality.py: known-bad variants made from real requests.

Each kind copies a request and breaks it the way generators do; QC must reject every kind.
Made from the BANKING77 sources and examples/instructions.jsonl, seeded, with no model.
"""

from __future__ import annotations

import random
import re

_AUX = re.compile(r"\b(is|are|was|were|can|does|do|did|will|should|could|would|has|have)\b")
_NEG = re.compile(r"\b(not|never)\s+|n't\b|\bcannot\b", re.I)
_NUM = re.compile(r"(?<![\w.])\d+(?![\w])")
_QUOTE = re.compile(r'"[^"\n]{2,80}"|`[^`\n]+`')
ARTIFACTS = ("Rewritten instruction: {s}", "Sure! Here is the rewrite: {s}", "{s}\n\n2. {s}",
             "Paraphrase: {s}")


def negation(s: str) -> str | None:
    """Negated where the source is not, or the source's first negation removed."""
    m = _NEG.search(s)
    if m:
        word = m.group(0)
        if word.lower() == "cannot":
            return s[: m.start()] + "can" + s[m.end():]
        if word == "n't":
            head = s[: m.start()]
            head = head[:-2] + "can" if head.endswith("ca") else \
                head[:-2] + "will" if head.endswith("wo") else head
            return head + s[m.end():]
        return s[: m.start()] + s[m.end():]
    m = _AUX.search(s)
    if m is None:
        return None
    at = m.end()
    after = re.match(r"\s+(I|you|we|they|it|he|she)\b", s[at:])
    if after:  # an inverted question: "How do I not reset it?"
        at += after.end()
    return s[:at] + " not" + s[at:]


def number(s: str) -> str | None:
    m = _NUM.search(s)
    return s[: m.start()] + str(int(m.group(0)) + 7) + s[m.end():] if m else None


def quote(s: str) -> str | None:
    m = _QUOTE.search(s)
    return " ".join((s[: m.start()] + "it" + s[m.end():]).split()) if m else None


def truncated(s: str) -> str | None:
    words = s.split()
    return " ".join(words[: max(2, len(words) // 3)]) if len(words) >= 9 else None


def plant(sources: list[tuple[str, str]], seed: int = 0) -> list[dict]:
    """Planted (kind, source, variant, output) lines for `local-augment qc`.

    `sources`: (request, its output or "")."""
    rng = random.Random(seed)
    out: list[dict] = []
    n = len(sources)
    for k, (s, o) in enumerate(sources):
        made = {"negation": negation(s), "number": number(s), "quote": quote(s),
                "truncated": truncated(s),
                "artifact": ARTIFACTS[k % len(ARTIFACTS)].format(s=s),
                "swapped": sources[(k + n // 2) % n][0],
                "answered": f"{s} {o}" if len(o.split()) >= 12 else None}
        for kind, v in made.items():
            if v is not None and v.strip() != s.strip():
                out.append({"pid": f"planted-{kind}-{k}", "kind_planted": kind, "method": "paraphrase",
                            "source_instruction": s, "source_output": o,
                            "variant_instruction": v, "variant_output": o})
    rng.shuffle(out)
    return out
