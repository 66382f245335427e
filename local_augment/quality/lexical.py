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

from local_augment.quality.spans import PATTERNS, short

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
    return {span for spans in typed_details(text).values() for span in spans}


# exact spans: text a rewrite has no reason to change or invent (code, URLs, quotes, …)
EXACT_KINDS = ("code_block", "code", "url", "email", "placeholder", "quoted")


def typed_details(text: str) -> dict[str, set[str]]:
    """`details` by kind: the exact kinds, "number" and "name"."""
    found: dict[str, set[str]] = {k: set() for k in (*EXACT_KINDS, "number", "name")}
    for m in _SPAN_RE.finditer(text):
        span, what = m.group(0), m.lastgroup or "code"
        found[what].add(_norm_number(span) if what == "number" else " ".join(span.split()))
    for m in _QUOTED.finditer(text):  # quotes whole, numbers and code inside them included
        found["quoted"].add(" ".join((m.group(1) or m.group(2)).split()))
    rest = _SPAN_RE.sub(" ", _QUOTED.sub(" ", text))
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


_ALTERNATIVE = re.compile(r"([^\W\d_][\w'-]*)\s*,?\s+or\s+(?:(?:by|the|a|an|to|in|on|via)\s+)?"
                          r"([^\W\d_][\w'-]*)", re.I)


def lost_alternative(variant: str, source: str) -> str | None:
    """One side of a choice the source offers ("formal or informal") kept and the other gone
    ("Is the tone informal?" asks another question), or None. A variant that offers a choice
    of its own ("formal or casual") keeps it."""
    if "or" in tokens(variant):
        return None
    v_words = {stem(t) for t in tokens(variant)}
    for m in _ALTERNATIVE.finditer(source):
        a, b = (tokens(g) for g in m.groups())
        if not a or not b or a[-1] in STOPWORDS or b[0] in STOPWORDS:
            continue
        if (stem(a[-1]) in v_words) != (stem(b[0]) in v_words):
            return short(m.group(0), 40)
    return None


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
      side of a choice ("formal or informal" -> "informal").
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
    return None


# ------------------------------------------------------------------------------------ negation

_NEGATORS = frozenset({"not", "no", "never", "none", "nothing", "nobody", "nowhere", "neither",
                       "nor", "cannot", "without", "fail", "fails", "failed", "failing", "unable"})
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


def overlap(a: set[str], b: set[str]) -> float:
    """Jaccard overlap of two word sets (1.0 when both are empty)."""
    return len(a & b) / len(a | b) if a | b else 1.0


# ------------------------------------------------------------------------------------ perspective

_FIRST = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours|ourselves)\b", re.I)
_FIRST_OWNER = re.compile(r"\b(?:my|mine|our|ours|me|us)\b", re.I)
_SECOND = re.compile(r"\b(?:you|your|yours|yourself|yourselves)\b", re.I)
_SECOND_OWNER = re.compile(r"\b(?:your|yours|yourself|yourselves)\b", re.I)


def perspective_changed(variant: str, source: str) -> bool:
    """Whose things the request is about changed: the source's are the asker's ("my account")
    and, with no first person left, the variant's are the addressee's ("your account"). A
    wrapper that only addresses the assistant ("Do you know how to…") is not a change."""
    src, var = (_THANK_YOU.sub("thanks", t.replace("’", "'")) for t in (source, variant))
    if not _FIRST_OWNER.search(src) or _SECOND.search(src):
        return False
    if _SECOND_OWNER.search(var) and not _FIRST.search(var):
        return True
    # "Could you help me change your e-mail address?" for "… the e-mail address on my account":
    # a thing of the source's is now the addressee's ("your company" is a new thing, not one)
    theirs = {stem(m.group(1)) for m in _YOUR_THING.finditer(var)}
    return bool(theirs & {stem(t) for t in content_words(src)})


_THANK_YOU = re.compile(r"\bthank[-\s]you\b", re.I)  # "a thank-you note" addresses no one
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


def dangling_colon(variant: str, source: str) -> bool:
    """The variant ends with a colon that introduces nothing (the source does not)."""
    return variant.rstrip().endswith(":") and not source.rstrip().endswith(":")
