"""Who speaks and whose things: the asker's things made the addressee's, the answerer's voice,
a task asked as how to do it."""

from __future__ import annotations

import re

from local_augment.quality.lexical.words import content_words, stem, tokens

_FIRST = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours|ourselves)\b", re.I)
_FIRST_OWNER = re.compile(r"\b(?:my|mine|our|ours|me|us)\b", re.I)
_SECOND = re.compile(r"\b(?:you|your|yours|yourself|yourselves)\b", re.I)
_SECOND_OWNER = re.compile(r"\b(?:your|yours|yourself|yourselves)\b", re.I)


def perspective_changed(variant: str, source: str) -> bool:
    """Whose request it is changed: the source's things or doings are the asker's ("my
    account", "I signed up") and, with no first person left, the variant's are the addressee's
    or anyone's ("your account", "you signed up"). A wrapper that only addresses the assistant
    ("Do you know how to…", "Could you…") is not a change."""
    src, var = (_THANK_YOU.sub("thanks", t.replace("’", "'")) for t in (source, variant))
    if not _FIRST.search(src) or _SECOND.search(src):
        return False
    if not _FIRST.search(var) and _SECOND.search(_ADDRESSING.sub(" ", var)):
        # the asker's own doing made anyone's: "Why does the trial end on March 6 when you
        # signed up on…" for "…when I signed up on…", "How much change should you get?" for
        # "I bought… How much change should I get?"
        return True
    if not _FIRST_OWNER.search(src):
        return False
    if _SECOND_OWNER.search(var) and not _FIRST.search(var):
        return True
    # "Could you help me change your e-mail address?" for "… the e-mail address on my account":
    # a thing of the source's is now the addressee's ("your company" is a new thing, not one)
    theirs = {stem(m.group(1)) for m in _YOUR_THING.finditer(var)}
    return bool(theirs & {stem(t) for t in content_words(src)})


_THANK_YOU = re.compile(r"\bthank[-\s]you\b", re.I)  # "a thank-you note" addresses no one
# "you" that addresses the one asked, not the one the request is about: "Could you…", "Do you
# know…", "Would you mind…"
_ADDRESSING = re.compile(r"\b(?:can|could|would|will|do|did|are|were)\s+you\b|"
                         r"\byou\s+(?:know|mind)\b", re.I)
_YOUR_THING = re.compile(r"\byour\s+(?:own\s+|new\s+|current\s+)?([^\W\d_]+)", re.I)


_ASSISTANT_VOICE = re.compile(
    r"^\W*(?:(?:i'll|i will|let me|i can|i could|i'd be (?:happy|glad) to)\s+(?:gladly\s+)?"
    r"(?:explain|help|write|provide|show|give|create|draft|compose|make|tell|walk|summari[sz]e|"
    r"rewrite|translate|calculate|list|describe|assist|check|review|proofread|fix|do)\b|"
    r"here(?:'s| is| are| goes)\b)", re.I)


def assistant_voice(variant: str, source: str) -> bool:
    """The variant speaks as the one who answers ("I'll explain recursion as if…", "Here goes
    the shorter version…") where the source asks."""
    return bool(_ASSISTANT_VOICE.match(variant.replace("’", "'"))) and \
        not _ASSISTANT_VOICE.match(source.replace("’", "'"))


_HOW_CUE = re.compile(
    r"\b(?:explain|explanation|guide|describe|step-by-step|steps|formula|how\s+(?:to|do|does|"
    r"can|could|would|should|might)|what\s+is\s+the\s+(?:process|procedure|method|way))\b", re.I)
_GIVEN = re.compile(r"\b(?:this|these|the\s+following|below|above|attached|given)\b", re.I)
_ASKER_FIRST = frozenset({"i", "i'm", "i've", "i'd", "my", "we", "we're", "our"})


def asks_how_instead(variant: str, source: str) -> bool:
    """A task on material the source supplies ("Convert the following list comprehension…",
    "Switch this function…") asked as how to do it ("Could you give a step-by-step guide on
    converting…"): the answer the row holds is the work, not a guide. A customer's own
    statement ("I want to do a transfer to this bank") is not such a task."""
    first = tokens(source)[:1]
    return bool(_HOW_CUE.search(variant)) and not _HOW_CUE.search(source) and \
        bool(_GIVEN.search(source)) and not (first and first[0] in _ASKER_FIRST)
