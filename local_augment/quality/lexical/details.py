"""Details a rewritten request must keep: quotes, code, URLs, numbers, names, conditions, choices."""

from __future__ import annotations

import re
import unicodedata

from local_augment.quality.lexical.words import STOPWORDS, stem, tokens
from local_augment.quality.spans import PATTERNS, short

_SPAN_RE = re.compile("|".join(f"(?P<{k}>{p})" for k, p in PATTERNS if k != "mask_like"), re.S)
_QUOTED = re.compile(r'"([^"\n]{2,200})"|“([^”\n]{2,200})”')
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,}s?\b|\b[A-Z][a-z]+[A-Z]\w*\b")  # SSO, VAT, OAuth
_CAPWORD = re.compile(r"(?<![\w'’])[A-Z][\w'’-]*")
# a sentence starts after its end, an emoji, a line's bullet or number, and markdown emphasis
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\n¿¡\u2600-\u27bf\U0001f000-\U0001faff]|"
                             r"(?:^|\n)\s*(?:[-*•]|\d{1,2}[.)]))\s*[\"“”(*_]*\s*$")
_NOT_NAMES = frozenset({"I", "I'm", "I've", "I'd", "I'll", "OK"})
_NUM_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
              "seven": "7", "eight": "8", "nine": "9", "ten": "10", "twelve": "12"}


def _norm_number(span: str) -> str:
    return span.replace(",", "").lstrip("+")


def details(text: str) -> set[str]:
    """The spans of `text` a faithful rewrite must keep: code, URLs, e-mails, placeholders,
    numbers, quoted text and names (capitalised words that do not start a sentence, acronyms)."""
    return {span for spans in typed_details(text).values() for span in spans}


# exact spans: text a rewrite has no reason to change or invent (code, URLs, quotes, …)
EXACT_KINDS = ("code_block", "code", "url", "email", "placeholder", "quoted")


def _quote_stub(m: re.Match[str]) -> str:
    """What a quote leaves when names are read: its sentence end, if it has one ("Stop." Your)."""
    return " . " if re.search(r"[.!?]\s*$", m.group(1) or m.group(2)) else " "


def typed_details(text: str) -> dict[str, set[str]]:
    """`details` by kind: the exact kinds, "number" and "name"."""
    found: dict[str, set[str]] = {k: set() for k in (*EXACT_KINDS, "number", "name")}
    for m in _SPAN_RE.finditer(text):
        span, what = m.group(0), m.lastgroup or "code"
        found[what].add(_norm_number(span) if what == "number" else " ".join(span.split()))
    for m in _QUOTED.finditer(text):  # quotes whole, numbers and code inside them included
        found["quoted"].add(" ".join((m.group(1) or m.group(2)).split()))
    rest = _SPAN_RE.sub(" ", _QUOTED.sub(_quote_stub, text))
    for m in _ACRONYM.finditer(rest):
        found["name"].add(m.group(0).removesuffix("s") if m.group(0).endswith("s") and
                          m.group(0)[:-1].isupper() else m.group(0))
    for m in _CAPWORD.finditer(rest):
        word = m.group(0).rstrip("'’-")
        if word in _NOT_NAMES or len(word) < 2:
            continue
        if _SENTENCE_START.search(rest[: m.start()]):
            continue
        found["name"].add(word)
    return found


def _present(span: str, folded: str, numbers: set[str]) -> bool:
    if re.fullmatch(r"[-+]?\d+(?:[.,:/-]\d+)*%?", span):
        return span in numbers
    return span.casefold() in folded


def _numbers(text: str, folded: str) -> set[str]:
    nums = {_norm_number(m.group(0)) for m in _SPAN_RE.finditer(text) if m.lastgroup == "number"}
    return nums | {d for w, d in _NUM_WORDS.items() if re.search(rf"\b{w}\b", folded)}


def _counted_word(number: str, text: str) -> str | None:
    """The content word right after `number` in `text` ("3 tips" -> "tips"), if any."""
    m = re.search(rf"(?<![\w.]){re.escape(number)}(?![\w])\s*([^\W\d_]+)", text.replace(",", ""))
    if m is None or m.group(1).casefold() in STOPWORDS:
        return None
    return m.group(1).casefold()


def _is_name_of(word: str, folded: str) -> bool:
    """A capitalised word that is an ordinary word of the other text ("Transfers" / "transfer")."""
    return stem(word.casefold()) in {stem(t) for t in tokens(folded)}


_CONDITION = re.compile(
    r"(?:\b(?:without|except(?:\s+for)?|excluding|instead\s+of|rather\s+than|other\s+than|"
    r"unless)|(?:^|[.!?;:]\s*)(?:don't|don’t|do\s+not|never)|,\s*and\s+(?:then\s+)?(?=(?:give|"
    r"show|include|add|list|name|provide|suggest|explain|describe|return|cite|mention)\b))"
    r"\s*([^.,;:!?()\n]+)", re.I)


_LIMIT = re.compile(r"\b(?:under|at\s+most|no\s+more\s+than|less\s+than|fewer\s+than|within|"
                    r"up\s+to|in|exactly)\s+(\d+|one|two|three|four|five|six|seven|eight|nine|ten)"
                    r"\s+(?:words?|sentences?|characters?|lines?|paragraphs?|items?|bullets?|"
                    r"points?|steps?)\b", re.I)


def lost_condition(variant: str, source: str) -> str | None:
    """A condition the source sets ("without using loops", "instead of an INNER JOIN",
    "Don't explain", "under 20 words", "…, and give one example") of which the variant keeps no content word (for a
    length limit: not its number), or None."""
    v_words = {stem(t) for t in tokens(unicodedata.normalize("NFKC", variant))}
    for m in _LIMIT.finditer(source):
        n = _NUM_WORDS.get(m.group(1).casefold(), m.group(1))  # "three" -> "3"
        if not {stem(x) for x in (n, *(w for w, d in _NUM_WORDS.items() if d == n))} & v_words:
            return short(m.group(0), 40)
    for m in _CONDITION.finditer(unicodedata.normalize("NFKC", source)):
        content = [t for t in tokens(m.group(1)) if t not in STOPWORDS][:3]
        if content and not any(stem(t) in v_words for t in content):
            return short(m.group(0).strip(" .;:!?"), 40)
    return None


# How long or deep an answer should be: a demand a rewrite must not invent. A 1.5B model copies
# the "in a few lines" of a demonstration into requests that set no length, and turns "Explain X"
# into "a detailed explanation of X" (README, "Tuning for a competent model").
_DEMAND = re.compile(r"\b(?:brief(?:ly)?|concise(?:ly)?|succinct(?:ly)?|detailed|in\s+detail|"
                     r"in[\s-]depth|thorough(?:ly)?|comprehensive(?:ly)?|step[\s-]by[\s-]step|"
                     r"in\s+(?:a\s+few|one|a|two|three)\s+(?:words?|lines?|sentences?))\b", re.I)
# a source that already sets a length or depth: a rewrite may say it otherwise
_SETS_LENGTH = re.compile(r"\b(?:short(?:er|ly)?|quick(?:ly)?|long(?:er)?|full|summar(?:y|ies|ise|ize)|"
                          r"sum\s+up|overview|outline|tl;?dr)\b", re.I)


def added_demand(variant: str, source: str) -> str | None:
    """A demand on the answer's length or depth that the variant adds to a source that sets none
    ("Explain X" -> "Provide a detailed explanation of X", "Calculate, in a few words, …"): the
    source's answer no longer fits it. None when there is none, or the source sets one too."""
    m = _DEMAND.search(variant)
    if m is None or _DEMAND.search(source) or _SETS_LENGTH.search(source) or _LIMIT.search(source):
        return None
    return short(m.group(0), 40)


_ALTERNATIVE = re.compile(r"([^\W\d_][\w'-]*)\s*,?\s+or\s+(?:(?:by|the|a|an|to|in|on|via)\s+)?"
                          r"([^\W\d_][\w'-]*)", re.I)


_LIST_BEFORE = re.compile(r"([^\W\d_][\w'-]*)\s*,\s*$")  # "Billing, " before "Shipping, or …"


def lost_alternative(variant: str, source: str) -> str | None:
    """A choice the source offers with one side kept and the other gone ("formal or informal"
    -> "Is the tone informal?" asks another question), or a list of three or more options with
    every one gone ("as positive, negative, or neutral" -> "the sentiment": the labels the
    answer picks from are no longer named), or None. A two-way choice generalised ("card or
    transfer" -> "Which ways can I pay?") and a variant with a choice of its own ("formal or
    casual") keep it."""
    if "or" in tokens(variant):
        return None
    v_words = {stem(t) for t in tokens(variant)}
    for m in _ALTERNATIVE.finditer(source):
        a, b = (tokens(g) for g in m.groups())
        if not a or not b or a[-1] in STOPWORDS or b[0] in STOPWORDS:
            continue
        kept = (stem(a[-1]) in v_words, stem(b[0]) in v_words)
        if kept[0] != kept[1]:
            return short(m.group(0), 40)
        first = _LIST_BEFORE.search(source[: m.start()])
        if not any(kept) and first and stem(first.group(1).casefold()) not in v_words \
                and first.group(1).casefold() not in STOPWORDS:
            return short(first.group(0) + m.group(0), 40)
    return None


_VERDICT = re.compile(r"\s*(yes|no)\b\s*[.,!:;]", re.I)
_GIVES_VERDICT = re.compile(r"\s*(?:[-*•]\s*)?(?:yes|no)\b\s*[.,!:;]", re.I)  # "- No." too
_SAYS_YES = re.compile(r"\byes\b", re.I)
_SAYS_NO = re.compile(r"\b(?:no|not|never|cannot|none|neither|nor)\b|n't\b", re.I)


def lost_verdict(variant: str, source: str) -> str | None:
    """"Yes" or "No" when an answer opens with that verdict and its rewrite no longer gives it
    (no "yes"; for "No", no negation either), or None: a list of the reasons without the
    answer's "No." leaves the question unanswered. A rewrite that opens with the other verdict
    is a flip, negation_flip's to name."""
    m = _VERDICT.match(source)
    if m is None or _GIVES_VERDICT.match(variant):
        return None
    word = m.group(1).capitalize()
    return None if (_SAYS_YES if word == "Yes" else _SAYS_NO).search(variant) else word


def detail_change(variant: str, source: str, *, lost: bool = True, added: bool = True,
                  request: bool = True) -> str | None:
    """`lost_detail:<span>` or `added_detail:<span>` for a detail a faithful rewrite keeps.

    A statement (an answer, a refusal's reason; `request` false) keeps every detail: any span
    lost or added counts. People reword a request freely ("Will it take more than 3 days?" / "How long will it take?",
    "Is this open to all countries?" / "Can I get a card outside the UK?"), so only what no valid
    rewording does counts:
    - an exact span (code, URL, e-mail, placeholder, quoted text) lost, or one invented;
    - a number or a name *replaced*: the source's is gone and the variant has another of its kind
      (12 seats -> 6 seats; Visa -> Mastercard), or a new number where the source has numbers;
    - a number dropped from the phrase it counts, which the variant keeps ("3 tips" -> "tips"),
      or any number of a source that has several (the data of a sum: "A recipe for 4 uses 300 g;
      how much for 10?" -> "How much for 10 if it uses 300 g?");
    - a condition dropped whole ("without using loops", "instead of X", "Don't explain"), or one
      side of a choice ("formal or informal" -> "informal"), or every option of a list of three
      or more ("as positive, negative, or neutral" -> "the sentiment").
    - a demand on the answer's length or depth invented where the source sets none ("Explain X"
      -> "a detailed explanation of X", "Calculate, in a few words, …").
    Names are compared case-insensitively anywhere in the text, so a name that moved to the start
    of a sentence still counts as kept; a number written out in words ("four") counts as kept.
    """
    v_fold, s_fold = " ".join(variant.casefold().split()), " ".join(source.casefold().split())
    v_nums, s_nums = _numbers(variant, v_fold), _numbers(source, s_fold)
    src, var = typed_details(source), typed_details(variant)
    v_words = {stem(t) for t in tokens(variant)}
    gone = {k: sorted(x for x in src[k] if not _present(x, v_fold, v_nums)) for k in src}
    new = {k: sorted(x for x in var[k] if not _present(x, s_fold, s_nums)) for k in var}
    new["name"] = [x for x in new["name"] if not _is_name_of(x, s_fold)]
    gone["name"] = [x for x in gone["name"] if not _is_name_of(x, v_fold)]
    if not request:
        verdict = lost_verdict(variant, source) if lost else None
        if verdict is not None:
            return f"lost_detail:{verdict}"
        for spans in (gone.values() if lost else ()):
            if spans:
                return f"lost_detail:{short(spans[0], 40)}"
        for spans in (new.values() if added else ()):
            if spans:
                return f"added_detail:{short(spans[0], 40)}"
        return None
    if lost:
        for k in EXACT_KINDS:
            if gone[k]:
                return f"lost_detail:{short(gone[k][0], 40)}"
        for k in ("number", "name"):
            if gone[k] and new[k]:
                return f"lost_detail:{short(gone[k][0], 40)}"
        if new["number"] and src["number"]:  # "5 machines" -> "12 machines", a 5 still there
            return f"added_detail:{short(new['number'][0], 40)}"
        if len(s_nums) >= 2 and s_nums - v_nums:  # the data of a sum: each one counts
            return f"lost_detail:{short(sorted(s_nums - v_nums)[0], 40)}"
        for n in gone["number"]:
            word = _counted_word(n, source)
            if word is not None and stem(word) in v_words:
                return f"lost_detail:{short(n, 40)}"
        condition = lost_condition(variant, source) or lost_alternative(variant, source)
        if condition is not None:  # "… without using loops" -> "…": the task is another
            return f"lost_detail:{condition}"
    if added:
        for k in EXACT_KINDS:
            if new[k]:
                return f"added_detail:{short(new[k][0], 40)}"
        demand = added_demand(variant, source)
        if demand is not None:  # "Explain X" -> "a detailed explanation of X": another answer
            return f"added_detail:{demand}"
    return None
