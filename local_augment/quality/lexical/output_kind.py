"""Whether an output variant is its kind: a brief one shorter and in sentences, a bulleted one a list."""

from __future__ import annotations

import re

from local_augment.quality.lexical.words import STOPWORDS, tokens

_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+\S", re.M)


def bullet_count(text: str) -> int:
    return len(_BULLET.findall(text))


def output_kind(variant: str, source: str) -> str:
    """"bulleted" when the variant is a list and its source is not, else "brief"."""
    return "bulleted" if bullet_count(variant) >= 2 > bullet_count(source) else "brief"


def function_share(text: str) -> float:
    """The share of the text's words (numbers not counted) that are function words ("the",
    "is", "for"…)."""
    toks = [t for t in tokens(text) if not t.isdigit()]
    return sum(t in STOPWORDS for t in toks) / len(toks) if toks else 0.0


def telegraphic(variant: str, source: str) -> bool:
    """Prose shortened into notes ("Dashboard launch: June 3, load times 40%, old one till July
    1."): under a third of its source's share of function words, over at least six words."""
    share = function_share(source)
    return len(tokens(variant)) >= 6 and share >= 0.2 and function_share(variant) < share / 3


def not_its_kind(kind: str | None, variant: str, source: str, brief_max_ratio: float) -> str | None:
    """A brief output that is not shorter or is notes instead of sentences, a bulleted one that
    is no list."""
    if kind == "brief" and len(variant.strip()) > brief_max_ratio * len(source.strip()):
        return "brief"
    if kind == "brief" and bullet_count(variant) < 2 and telegraphic(variant, source):
        return "telegraphic"
    if kind == "bulleted" and bullet_count(variant) < 2:
        return "bulleted"
    return None
