"""Planted defects for scripts/bench_qc_quality.py: known-bad variants made from real requests.

Each kind copies a request and breaks it the way generators do; QC must reject every kind in
`KINDS`. `LIMITS` are kinds measured to show a known limit, not counted with them: `action` swaps
the request's verb for another and keeps every other word ("activate my card" -> "cancel my
card"), which the embedder's signals are known to see poorly.
Made from the BANKING77 sources and examples/instructions.jsonl, seeded, with no model.
"""

from __future__ import annotations

import random
import re

_AUX = re.compile(r"\b(is|are|was|were|can|does|do|did|will|should|could|would|has|have)\b")
_NEG = re.compile(r"\b(not|never)\s+|n't\b|\bcannot\b", re.I)
_NUM = re.compile(r"(?<![\w.])\d+(?![\w])")
_QUOTE = re.compile(r'"[^"\n]{2,80}"|`[^`\n]+`')
# request verbs in groups of near-synonyms; a swap takes a verb of another group
_ACTION_GROUPS = (("activate", "open", "unblock"), ("block", "cancel", "close", "delete", "remove"),
                  ("change", "update", "reset"), ("add", "order"), ("check", "verify"),
                  ("describe", "explain"), ("compare",), ("list",), ("summarize",),
                  ("transfer",), ("translate",), ("write",))
_ACTIONS = tuple(v for group in _ACTION_GROUPS for v in group)
# a verb where a request puts one: first, or after "to", "I", "please", "can", "do", "you"...
_ACTION = re.compile(r"(?:^|\b(?:to|I|please|can|could|do|you|me|we)\s+)(" + "|".join(_ACTIONS)
                     + r")\b", re.I)
KINDS = ("answered", "artifact", "negation", "number", "quote", "swapped", "truncated")
LIMITS = ("action",)
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


def action(s: str, rng: random.Random) -> str | None:
    """The first request verb swapped for one of another meaning, every other word kept."""
    m = _ACTION.search(s)
    if m is None:
        return None
    word = m.group(1)
    group = next(g for g in _ACTION_GROUPS if word.lower() in g)
    new = rng.choice([a for a in _ACTIONS if a not in group])
    new = new.capitalize() if word[0].isupper() else new
    return s[: m.start(1)] + new + s[m.end(1):]


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
                "answered": f"{s} {o}" if len(o.split()) >= 12 else None,
                "action": action(s, rng)}
        for kind, v in made.items():
            if v is not None and v.strip() != s.strip():
                out.append({"pid": f"planted-{kind}-{k}", "kind_planted": kind, "method": "paraphrase",
                            "source_instruction": s, "source_output": o,
                            "variant_instruction": v, "variant_output": o})
    rng.shuffle(out)
    return out
