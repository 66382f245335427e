"""Words as the checks count them: tokens, content words, stems, new words, length, trivial copies."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept inside words)."""
    return [t.replace("’", "'") for t in _WORD.findall(text.casefold())]


def new_word_count(text: str, source: str) -> int:
    """Words of `text` that do not appear in `source` (case-insensitive)."""
    seen = set(tokens(source))
    return sum(1 for w in set(tokens(text)) if w not in seen)


def content_words(text: str) -> list[str]:
    """The words of `text` that carry content (no function words)."""
    return [t for t in tokens(text) if t not in STOPWORDS]


def new_content_words(text: str, source: str) -> int:
    """Distinct content words of `text` that `source` does not have: what a variant adds."""
    return len(set(content_words(text)) - set(tokens(source)))


def length_ratio(text: str, source: str) -> float:
    """Content words of `text` per content word of `source` (each plus one): people's wordings
    of one request differ in length by more than 2x in characters, mostly in filler and
    function words ("Hi, can you tell me why…"), so content is what is compared."""
    return (len(content_words(text)) + 1) / (len(content_words(source)) + 1)


FILLERS = frozenset({"please", "kindly", "pls", "hey", "hi", "hello", "basically", "actually"})
_FUNCTION = frozenset({"a", "an", "the", "my", "your", "our", "this", "that", "its", "their"})


def trivial_copy(variant: str, source: str) -> bool:
    """True when only case, punctuation, filler words ("please") or one determiner differ."""
    a = [t for t in tokens(variant) if t not in FILLERS]
    b = [t for t in tokens(source) if t not in FILLERS]
    if a == b:
        return True
    if len(a) != len(b):
        return False
    diff = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(diff) == 1 and diff[0][0] in _FUNCTION and diff[0][1] in _FUNCTION


STOPWORDS = frozenset(
    ["a", "an", "the", "to", "of", "in", "on", "at", "for", "and", "or", "but", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "doing", "i", "me", "my", "we", "us", "our", "you", "your", "it", "its", "this", "that", "these", "those", "there", "here", "what", "which", "who", "whom", "how", "why", "when", "where", "can", "could", "would", "should", "will", "shall", "may", "might", "must", "have", "has", "had", "having", "with", "from", "by", "as", "if", "so", "just", "any", "some", "all", "yet", "still", "even", "also", "very", "really", "too", "more", "most", "much", "many", "one", "ones", "get", "got", "getting", "able", "anything", "something", "it's", "i'm", "i've", "i'd", "i'll"])


def stem(word: str) -> str:
    """A crude English stem: enough to match work/works/working/worked, card/cards."""
    w = word.casefold().replace("’", "'")
    for suffix in ("ing", "ed", "es", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    return w.rstrip("e") if len(w) > 3 else w


def overlap(a: set[str], b: set[str]) -> float:
    """Jaccard overlap of two word sets (1.0 when both are empty)."""
    return len(a & b) / len(a | b) if a | b else 1.0
