"""Whether an output variant is its kind: a brief one shorter and in sentences, a bulleted one a list."""

from __future__ import annotations

import re

from local_augment.quality.lexical.words import STOPWORDS, content_words, stem, tokens

_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+\S", re.M)


def bullet_count(text: str) -> int:
    return len(_BULLET.findall(text))


# a list item that opens with a word joining it to the item before: a sentence cut in pieces
_FRAGMENT = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+((?:and|or|but|which|whose|since|because|"
                       r"while|whereas|although)\b.*)$", re.M | re.I)


def fragment_bullet(variant: str, source: str) -> str | None:
    """A list item that continues the item before it ("- Which is 20%", "- and the broken
    zipper", "- Since carriers sometimes…"), unless the source has that line itself, or None."""
    starts = [" ".join(re.sub(r"^\s*(?:[-*•>]|\d{1,2}[.)])?\s*", "", line).split()).casefold()
              for line in source.splitlines()]
    for m in _FRAGMENT.finditer(variant):
        item = " ".join(m.group(1).split()).casefold()
        if not any(start and item.startswith(start[:40]) for start in starts):
            return m.group(1)
    return None


def output_kind(variant: str, source: str) -> str:
    """"bulleted" when the variant is a list and its source is not, else "brief"."""
    return "bulleted" if bullet_count(variant) >= 2 > bullet_count(source) else "brief"


def list_drift(variant: str, source: str) -> tuple[int, int]:
    """(new, lost): distinct content-word stems of a list that its source lacks, and of the
    source that the list lacks. A list of the source's statements has few of either; a list
    that restates them in other words ("Open the Contacts app", "can cause you to log in with
    the old password") has many."""
    v = {stem(w) for w in content_words(variant)}
    s = {stem(w) for w in content_words(source)}
    return len(v - s), len(s - v)


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


def not_its_kind(kind: str | None, variant: str, source: str, brief_max_ratio: float,
                 list_drift_max: int | None = None) -> str | None:
    """A brief output that is not shorter or is notes instead of sentences; a bulleted one that
    is no list, has an item that is a piece of a sentence (`fragment_bullet`), or (with
    `list_drift_max`) a list that restates its source: more content-word
    stems new, or more of the source's lost, than `list_drift_max` (`list_drift`)."""
    if kind == "brief" and len(variant.strip()) > brief_max_ratio * len(source.strip()):
        return "brief"
    if kind == "brief" and bullet_count(variant) < 2 and telegraphic(variant, source):
        return "telegraphic"
    if kind == "bulleted" and bullet_count(variant) < 2:
        return "bulleted"
    if kind == "bulleted" and fragment_bullet(variant, source) is not None:
        return "fragment"
    if kind == "bulleted" and list_drift_max is not None and \
            max(list_drift(variant, source)) > list_drift_max:
        return "restated"
    return None
