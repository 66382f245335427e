"""Text a prompt or answer format left behind: prompt words, labels, meta talk, truncation, an
answer instead of the request; each counts only when the source lacks it."""

from __future__ import annotations

import re
from collections import Counter

from local_augment.quality.lexical.words import STOPWORDS, tokens
from local_augment.quality.spans import PATTERNS, short


def truncated(variant: str, source: str) -> bool:
    """The variant is the source cut off: its words are the source's first words, and at least
    two of the source's content words are missing after them."""
    v, src = tokens(variant), tokens(source)
    if not v or len(v) >= len(src) or src[: len(v)] != v:
        return False
    return len([t for t in src[len(v):] if t not in STOPWORDS]) >= 2


def continuation(variant: str, source: str) -> str | None:
    """What the variant says after repeating the whole source, if it does ("<source> Business.
    The headline is about…"); None when it does not start with the source, or when what follows
    is a question ("<statement> How can I fix this?" is a request form, not an answer)."""
    src = " ".join(source.split())
    var = " ".join(variant.split())
    if len(var) <= len(src) or not var.casefold().startswith(src.casefold()):
        return None
    rest = var[len(src):].strip()
    return rest if len(tokens(rest)) >= 3 and not rest.rstrip().endswith("?") else None


_HOW_TO_ANSWER = re.compile(
    r"^\W*to\s+[^\W\d_]+\b[^,?]{0,80},\s*(?:you\s+)?(?:can\s+|could\s+|should\s+|need\s+to\s+|"
    r"must\s+|just\s+)?[^\W\d_]+", re.I)


def answers_how(variant: str, source: str) -> bool:
    """A question rewritten as the start of its answer ("How do I reverse a string?" -> "To
    reverse a string in Python, use slicing.")."""
    return "?" in source and "?" not in variant and bool(_HOW_TO_ANSWER.match(variant))


def restates_then_answers(variant: str, source: str) -> bool:
    """The variant holds the source's words and goes on for as long again: an answer appended."""
    v, s = tokens(variant), tokens(source)
    if len(v) < 2 * len(s) or len(v) - len(s) < 10:
        return False
    return sum(1 for t in set(s) if t in set(v)) >= 0.8 * len(set(s))


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
    # commenting on its own edits: "I made several changes", "I've condensed the text"
    r"|i(?:'ve| have)? (?:made|kept|did) (?:a few |several |some |minor |small |these )?"
    r"(?:changes|edits|revisions|tweaks)"
    r"|i(?:'ve| have)? (?:condensed|shortened|simplified|rephrased|reworded|rewrote|rewritten|"
    r"reformatted|summari[sz]ed|edited|revised|converted|organi[sz]ed|turned|broke|broken) "
    r"(?:the|your|this|it) ?(?:original )?(?:text|answer|response|passage|content|paragraph|"
    r"information|output|down|into)?"
    r"|(?:the )?(?:edited|revised|rewritten|shortened|condensed|bulleted|brief) (?:text|version|"
    r"answer|response)(?: is)? (?:below|above)"
    r"|i(?:'ll| will) (?:do my best|simply|shorten|rewrite))\b",
    re.I | re.M,
)
_DOUBLED_END = re.compile(r"[.?!][\"”'’)]?[.?!]")
_NUMBERED_LINE = re.compile(r"(?:^|\n)\s*(?:\d{1,2}[.)]|[-*•])\s+\S")
_EMPTY_ITEM = re.compile(r"^[ \t]*(?:\d{1,2}[.)]|[-*•])[ \t]*$", re.M)  # "-" and nothing after it
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
    if _EMPTY_ITEM.search(variant) and not _EMPTY_ITEM.search(source):
        return "empty_item"
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


def dangling_colon(variant: str, source: str) -> bool:
    """The variant ends with a colon that introduces nothing (the source does not)."""
    return variant.rstrip().endswith(":") and not source.rstrip().endswith(":")
