"""Checks that need no model: prompt artifacts, trivial copies, lost or added details, negation.

Each returns the detail of a reason (`artifact:<what>`, `lost_detail:<span>`, …) or None. They
compare a variant with its source only; what counts as an artifact is text of a kind that model
prompts and answer formats produce *and the source does not have*, so a source that really
contains "JSON" or "Question:" can keep it in its variants.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from local_augment.augmenters.spans import PATTERNS, short

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens (apostrophes kept inside words)."""
    return [t.replace("’", "'") for t in _WORD.findall(text.casefold())]


def new_word_count(text: str, source: str) -> int:
    """Words of `text` that do not appear in `source` (case-insensitive)."""
    seen = set(tokens(source))
    return sum(1 for w in set(tokens(text)) if w not in seen)


def restates_then_answers(variant: str, source: str) -> bool:
    """The variant holds the source's words and goes on for as long again: an answer appended."""
    v, s = tokens(variant), tokens(source)
    if len(v) < 2 * len(s) or len(v) - len(s) < 10:
        return False
    return sum(1 for t in set(s) if t in set(v)) >= 0.8 * len(set(s))


# ------------------------------------------------------------------------------------ artifacts

# Words of the methods' own prompts and answer formats: rewriting, JSON, lists of n strings.
_PROMPT_WORDS = re.compile(
    r"\b(?:re-?writ(?:e|es|ten|ing)|re-?phras(?:e|ed|ing)|paraphras(?:e|ed|es|ing)|json\w*"
    r"|(?:list|array) of (?:\d+|one|two|three|four|five)\b(?: \w+)?"
    r"|\d+ (?:json )?strings?|(?:first|second|third|fourth|fifth|final|last) "
    r"(?:rewrite|version|edit|variant|response|answer|option)"
    r"|(?:the|this|my|your) (?:original|given|above|following|previous) "
    r"(?:instructions?|answer|response|question|prompt|text|sentence)"
    r"|bullet(?:ed|s)? (?:list|points?)|shorten(?:ed|ing)? (?:answer|version|response)"
    r"|do not answer)\b",
    re.I,
)
# A label a model puts before its text: "Rewrite:", "Answer:", "Sentence 2:", "User input:".
_LABEL = re.compile(
    r"(?:^|\n|[.!?]\s+)\s*(?:the\s+)?(?:(?:first|second|third|final|last|new|original)\s+)?"
    r"(?P<label>question|answer|response|reply|output|input|user(?: input)?|assistant|instruction"
    r"|rewrite|re-write|version|edit|paraphrase|sentence \d+|example|note|title|summary|text"
    r"|result|solution|task|request)\s*\d*\s*:",
    re.I,
)
_QA = re.compile(r"\bquestion\s*:.*\banswer\s*:", re.I | re.S)
# Placeholders a model copies from a prompt or invents: "[insert …]", "[first rewrite]", "{…}".
_BRACKETED = re.compile(r"\[[^\[\]\n]{1,60}\]|\{[^{}\n]{0,60}\}|<[^<>\n]{1,40}>")
# An assistant talking about itself or the task instead of giving the text.
_META = re.compile(
    r"\b(?:as an ai|(?:i am|i'm|you're|you are) (?:a |an )?(?:helpful )?(?:ai|assistant|language model)"
    r"|^\s*here(?:'s| is| are) (?:the|a|an|your|my|some)\b"
    r"|helpful ai|hugging ?face|no response\.?$|here(?:'s| is| are) (?:the|a|an|your|my|some) "
    r"(?:\w+ ){0,3}(?:version|rewrite|answer|list|response|summary|rewrites|paraphrases?)"
    r"|the answer (?:is|to (?:this|the|your) question)|this task (?:is|requires|involves)"
    r"|i (?:made|have made) (?:the following|changes)|your request (?:was|is|has)"
    r"|i(?:'ll| will) (?:do my best|simply|shorten|rewrite))\b",
    re.I | re.M,
)
_DOUBLED_END = re.compile(r"[.?!][\"”'’)]?[.?!]")
_NUMBERED_LINE = re.compile(r"(?:^|\n)\s*(?:\d{1,2}[.)]|[-*•])\s+\S")
_PAIRS = {"(": ")", "[": "]", "{": "}"}


def _balanced(text: str) -> bool:
    depth = {k: 0 for k in _PAIRS}
    closer = {v: k for k, v in _PAIRS.items()}
    for ch in text:
        if ch in depth:
            depth[ch] += 1
        elif ch in closer:
            depth[closer[ch]] -= 1
            if depth[closer[ch]] < 0:
                return False
    if any(depth.values()):
        return False
    # straight double quotes pair up; curly ones must match in count
    return text.count('"') % 2 == 0 and text.count("“") == text.count("”")


def repetition(text: str, n: int = 3, times: int = 3) -> str | None:
    """An n-gram said `times` times or more, or one token making up over half a long text."""
    toks = tokens(text)
    if len(toks) >= 8:
        top, count = Counter(toks).most_common(1)[0]
        if count / len(toks) > 0.5:
            return top
    grams = Counter(tuple(toks[i:i + n]) for i in range(len(toks) - n + 1))
    if grams:
        gram, count = grams.most_common(1)[0]
        if count >= times:
            return " ".join(gram)
    return None


def artifact(variant: str, source: str, *, labels: bool = True, numbering: bool = True) -> str | None:
    """What in `variant` comes from a prompt or answer format and is not in `source`.

    `labels` off: the method adds labels on purpose (templates: "Task: …"). `numbering` off: lists
    are the point (bulleted outputs).
    """
    src = source.casefold()
    for m in _PROMPT_WORDS.finditer(variant):
        if m.group(0).casefold() not in src:
            return f"prompt_words:{short(m.group(0), 30)}"
    if labels:
        if _QA.search(variant) and not _QA.search(source):
            return "question_answer"
        for m in _LABEL.finditer(variant):
            label = m.group("label").casefold()
            if not re.search(rf"\b{re.escape(label)}\s*\d*\s*:", src):
                return f"label:{label}"
    for m in _BRACKETED.finditer(variant):
        if m.group(0).casefold() not in src and not _is_span(m.group(0)):
            return f"placeholder:{short(m.group(0), 30)}"
    m = _META.search(variant)
    if m and m.group(0).casefold() not in src:
        return f"meta:{short(m.group(0), 30)}"
    if numbering and _NUMBERED_LINE.search(variant) and not _NUMBERED_LINE.search(source):
        return "numbering"
    if not _balanced(variant) and _balanced(source):
        return "unbalanced"
    if _DOUBLED_END.search(variant.replace("...", "…")) and not _DOUBLED_END.search(
            source.replace("...", "…")):
        return "punctuation"
    rep = repetition(variant)
    if rep is not None and repetition(source) is None:
        return f"repetition:{short(rep, 30)}"
    return None


_SPAN_ONLY = re.compile("|".join(p for k, p in PATTERNS if k in ("placeholder", "code")), re.S)


def _is_span(text: str) -> bool:
    """A `{{placeholder}}`, `{name}` or `<VAR>` that the span patterns know (kept, not an echo)."""
    m = _SPAN_ONLY.fullmatch(text)
    return m is not None


def instruction_echo(variant: str, instruction: str) -> bool:
    """An output variant that repeats the instruction it answers (a "Question: …" echo)."""
    ins = " ".join(tokens(instruction))
    return len(ins) >= 12 and ins in " ".join(tokens(variant))


_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+\S", re.M)


def bullet_count(text: str) -> int:
    return len(_BULLET.findall(text))


def output_kind(variant: str, source: str) -> str:
    """"bulleted" when the variant is a list and its source is not, else "brief"."""
    return "bulleted" if bullet_count(variant) >= 2 > bullet_count(source) else "brief"


def not_its_kind(kind: str | None, variant: str, source: str, brief_max_ratio: float) -> str | None:
    """A brief output that is not shorter, a bulleted one that is no list."""
    if kind == "brief" and len(variant.strip()) > brief_max_ratio * len(source.strip()):
        return "brief"
    if kind == "bulleted" and bullet_count(variant) < 2:
        return "bulleted"
    return None


# ------------------------------------------------------------------------------- trivial copies

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


# ------------------------------------------------------------------------------------- details

_SPAN_RE = re.compile("|".join(f"(?P<{k}>{p})" for k, p in PATTERNS if k != "mask_like"), re.S)
_QUOTED = re.compile(r'"([^"\n]{2,200})"|“([^”\n]{2,200})”')
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,}s?\b|\b[A-Z][a-z]+[A-Z]\w*\b")  # SSO, VAT, OAuth
_CAPWORD = re.compile(r"(?<![\w'’])[A-Z][\w'’-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n¿¡]|(?:^|\n)\s*(?:[-*•]|\d{1,2}[.)]))\s*[\"“(]?\s*$")
_NOT_NAMES = frozenset({"I", "I'm", "I've", "I'd", "I'll", "OK"})
_NUM_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
              "seven": "7", "eight": "8", "nine": "9", "ten": "10", "twelve": "12"}


def _norm_number(span: str) -> str:
    return span.replace(",", "").lstrip("+")


def details(text: str) -> set[str]:
    """The spans of `text` a faithful rewrite must keep: code, URLs, e-mails, placeholders,
    numbers, quoted text and names (capitalised words that do not start a sentence, acronyms)."""
    found: set[str] = set()
    for m in _SPAN_RE.finditer(text):
        span = m.group(0)
        found.add(_norm_number(span) if m.lastgroup == "number" else " ".join(span.split()))
    for m in _QUOTED.finditer(text):  # quotes whole, numbers and code inside them included
        found.add(" ".join((m.group(1) or m.group(2)).split()))
    rest = _SPAN_RE.sub(" ", _QUOTED.sub(" ", text))
    for m in _ACRONYM.finditer(rest):
        found.add(m.group(0).removesuffix("s") if m.group(0).endswith("s") and
                  m.group(0)[:-1].isupper() else m.group(0))
    for m in _CAPWORD.finditer(rest):
        word = m.group(0).rstrip("'’-")
        if word in _NOT_NAMES or len(word) < 2:
            continue
        if _SENTENCE_START.search(rest[: m.start()]):
            continue
        found.add(word)
    return found


def _present(span: str, folded: str, numbers: set[str]) -> bool:
    if re.fullmatch(r"[-+]?\d+(?:[.,:/-]\d+)*%?", span):
        return span in numbers
    return span.casefold() in folded


def detail_change(variant: str, source: str, *, lost: bool = True, added: bool = True) -> str | None:
    """`lost_detail:<span>` for a source span the variant lacks, `added_detail:<span>` for a new one.

    Names are compared case-insensitively anywhere in the text, so a name that moved to the start
    of a sentence still counts as kept; a number written out in words ("four") counts as kept.
    """
    v_fold, s_fold = " ".join(variant.casefold().split()), " ".join(source.casefold().split())
    v_nums = {_norm_number(m.group(0)) for m in _SPAN_RE.finditer(variant) if m.lastgroup == "number"}
    s_nums = {_norm_number(m.group(0)) for m in _SPAN_RE.finditer(source) if m.lastgroup == "number"}
    v_nums |= {d for w, d in _NUM_WORDS.items() if re.search(rf"\b{w}\b", v_fold)}
    s_nums |= {d for w, d in _NUM_WORDS.items() if re.search(rf"\b{w}\b", s_fold)}
    if lost:
        for span in sorted(details(source)):
            if not _present(span, v_fold, v_nums):
                return f"lost_detail:{short(span, 40)}"
    if added:
        for span in sorted(details(variant)):
            if not _present(span, s_fold, s_nums):
                return f"added_detail:{short(span, 40)}"
    return None


# ------------------------------------------------------------------------------------ negation

_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nothing|nobody|nowhere|neither|nor|cannot|without)\b|n't\b", re.I)


def negation_count(text: str) -> int:
    return len(_NEGATION.findall(unicodedata.normalize("NFKC", text).replace("’", "'")))


def negation_flip(variant: str, source: str) -> bool:
    """The variant negates where the source does not, or the other way round (by parity)."""
    return negation_count(variant) % 2 != negation_count(source) % 2


# ------------------------------------------------------------------------------------ perspective

_FIRST = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours|ourselves)\b", re.I)
_FIRST_OWNER = re.compile(r"\b(?:my|mine|our|ours|me|us)\b", re.I)
_SECOND = re.compile(r"\b(?:you|your|yours|yourself|yourselves)\b", re.I)
_SECOND_OWNER = re.compile(r"\b(?:your|yours|yourself|yourselves)\b", re.I)


def perspective_changed(variant: str, source: str) -> bool:
    """Whose things the request is about changed: the source's are the asker's ("my account")
    and, with no first person left, the variant's are the addressee's ("your account"). A
    wrapper that only addresses the assistant ("Do you know how to…") is not a change."""
    src, var = source.replace("’", "'"), variant.replace("’", "'")
    return bool(_FIRST_OWNER.search(src)) and not _SECOND.search(src) and \
        bool(_SECOND_OWNER.search(var)) and not _FIRST.search(var)


def dangling_colon(variant: str, source: str) -> bool:
    """The variant ends with a colon that introduces nothing (the source does not)."""
    return variant.rstrip().endswith(":") and not source.rstrip().endswith(":")
