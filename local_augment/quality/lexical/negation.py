"""Negation flips: what one text negates and the other asserts, not whether "not" appears."""

from __future__ import annotations

import re
import unicodedata

from local_augment.quality.lexical.words import STOPWORDS, overlap, stem, tokens

_NEGATORS = frozenset({"not", "no", "never", "none", "nothing", "nobody", "nowhere", "neither",
                       "nor", "cannot", "without", "fail", "fails", "failed", "failing", "unable"})


def _is_negator(tok: str) -> bool:
    return tok in _NEGATORS or tok.endswith("n't")


_PRONOUNS = frozenset({"i", "you", "it", "we", "they", "he", "she", "there", "this", "that"})
_DETERMINERS = frozenset({"a", "an", "the", "my", "your", "our", "their", "his", "her", "its",
                          "this", "that", "these", "those", "any", "some"})
_BOUNDARY = re.compile(r"[.,;:!?()\n]|\b(?:and|but|or|so|because|since|from|to|for|with|at|"
                       r"in|on|of|by|after|before|when|while|if|although|though|yet)\b", re.I)


def negated_heads(text: str) -> list[str]:
    """The stem of what each negation negates: "I don't know how" -> know, "the card is not
    working" -> work, "Why can't I pay" -> pay, "Why wasn't my card payment accepted" -> accept,
    "no fee" -> fee. A pronoun after an inverted auxiliary is skipped; after a determiner the
    noun phrase is, up to the clause's last word before a boundary."""
    clean = unicodedata.normalize("NFKC", text).replace("’", "'")
    heads: list[str] = []
    for clause in _BOUNDARY.split(clean):
        toks = tokens(clause)
        for i, tok in enumerate(toks):
            if not _is_negator(tok):
                continue
            rest = [t for t in toks[i + 1:] if not _is_negator(t)]
            if rest and rest[0] in _PRONOUNS:
                rest = rest[1:]
            if rest and rest[0] in _DETERMINERS:
                words = [t for t in rest if t not in STOPWORDS]
                head = words[-1] if words else None
            elif rest and rest[0] not in STOPWORDS:
                head = rest[0]
            else:  # "I don't have a PIN", "could not get it to work": a light verb's object
                head = None  # is not what is negated, so nothing is compared
            if head is not None:
                heads.append(stem(head))
    return heads


def _asserted(text: str) -> set[str]:
    """Stems of the words of `text`'s clauses that hold no negation."""
    clean = unicodedata.normalize("NFKC", text).replace("’", "'")
    out: set[str] = set()
    for clause in _BOUNDARY.split(clean):
        toks = tokens(clause)
        if not any(_is_negator(t) for t in toks):
            out |= {stem(t) for t in toks}
    return out


def negation_flip(variant: str, source: str) -> bool:
    """What one text negates, the other asserts, and the other negates nothing.

    What is negated is compared, not whether "not" appears: "I don't know how to activate my
    card" / "How do I activate my card?" is the same request (know is negated, and the variant
    never says it); "Why does my card work?" / "Why does my card not work?" is not (work is
    asserted in one, negated in the other). When both texts negate something ("won't work" /
    "can't get it to work"), they are the same request worded two ways. An answer that opens
    with the other of yes and no is a flip too.
    """
    v_first, s_first = tokens(variant)[:1], tokens(source)[:1]
    if {*v_first, *s_first} == {"yes", "no"}:  # "No. After you close…" / "Yes, your data…"
        return True
    v_neg, s_neg = _negates(variant), _negates(source)
    if _negator_count(variant) % 2 != _negator_count(source) % 2 and \
            overlap(_unnegated_words(variant), _unnegated_words(source)) >= 0.8:
        return True  # the same words, one negation more or less ("did" / "didn't do")
    if v_neg == s_neg:
        return False
    heads, other = (negated_heads(variant), source) if v_neg else (negated_heads(source), variant)
    return bool(set(heads) & _asserted(other))


def _negates(text: str) -> bool:
    return _negator_count(text) > 0


def _negator_count(text: str) -> int:
    return sum(_is_negator(t) for t in tokens(unicodedata.normalize("NFKC", text)))


def _unnegated_words(text: str) -> set[str]:
    """Stems of `text`'s words with negators removed ("didn't" -> did)."""
    out = set()
    for t in tokens(unicodedata.normalize("NFKC", text)):
        if t.endswith("n't"):
            t = t[:-3]
        if t not in _NEGATORS and t:
            out.add(stem(t))
    return out
