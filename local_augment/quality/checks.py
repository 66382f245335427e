"""The model-free checks, one unit each: a function of (pair, its method's settings) that
returns a reason or None.

Each reads its own switch from the typed `CheckSettings` (`qc`, or `qc.methods.<method>`), so a
check's settings, its reason and its test sit together, like a datatrove filter. The chain runs
`LEXICAL_CHECKS` in order and keeps the first reason found; a new check is one function here,
its field in config/checks.py and one test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from local_augment.quality import lexical, reasons
from local_augment.quality.pair import Pair, Verdict

if TYPE_CHECKING:
    from local_augment.config.checks import CheckSettings

Check = Callable[[Pair, "CheckSettings"], "str | None"]


def empty(p: Pair, _c: CheckSettings) -> str | None:
    return reasons.EMPTY if not p.variant.strip() else None


def artifacts(p: Pair, c: CheckSettings) -> str | None:
    """Prompt or answer-format text the source lacks; for requests also a dangling colon or a
    truncation; for outputs the instruction echoed."""
    if not c.artifacts:
        return None
    text, src = p.variant, p.source
    what = lexical.artifact(text, src, labels=c.artifact_labels, numbering=c.artifact_numbering)
    if what is None and p.is_instruction and (p.instruction or p.source) == p.source \
            and lexical.dangling_colon(text, src):
        what = "dangling_colon"  # a row with an input may end "…this sentence:"
    if what is None and p.is_instruction and lexical.truncated(text, src):
        what = "truncated"
    if what is None and p.field == "output" and p.instruction and \
            lexical.instruction_echo(text, p.instruction) and \
            not lexical.instruction_echo(src, p.instruction):
        what = "instruction_echo"
    return reasons.artifact(what) if what is not None else None


def kind(p: Pair, c: CheckSettings) -> str | None:
    """An output variant that is not its kind: a brief one not shorter or in notes, a bulleted
    one no list, or a list that restates its source in other words."""
    if not (c.kind and p.field == "output"):
        return None
    what = lexical.not_its_kind(p.kind, p.variant, p.source, c.brief_max_ratio,
                                c.list_drift_max)
    return reasons.not_its_kind(what) if what is not None else None


def trivial_copy(p: Pair, c: CheckSettings) -> str | None:
    """Only case, punctuation or a filler word changed; a list of the source's own sentences
    (`Pair.reformatted`) changed its form, which is what a bulleted variant is for."""
    if not c.trivial_copy or p.reformatted:
        return None
    return reasons.TRIVIAL_COPY if lexical.trivial_copy(p.variant, p.source) else None


def answered(p: Pair, c: CheckSettings) -> str | None:
    """A request that restates itself and answers, or is rewritten as its answer."""
    if c.answered and p.is_instruction and (lexical.restates_then_answers(p.variant, p.source)
                                            or lexical.answers_how(p.variant, p.source)):
        return reasons.ANSWERED_INSTEAD
    return None


def details(p: Pair, c: CheckSettings) -> str | None:
    if not (c.lost_detail or c.added_detail):
        return None
    return lexical.detail_change(p.variant, p.source, lost=c.lost_detail, added=c.added_detail,
                                 request=p.is_instruction)


def negation(p: Pair, c: CheckSettings) -> str | None:
    return reasons.NEGATION_FLIP if c.negation and lexical.negation_flip(p.variant, p.source) \
        else None


def perspective(p: Pair, c: CheckSettings) -> str | None:
    if c.perspective and p.is_instruction and (lexical.perspective_changed(p.variant, p.source)
                                               or lexical.assistant_voice(p.variant, p.source)):
        return reasons.PERSPECTIVE_CHANGED
    return None


def asks_how(p: Pair, c: CheckSettings) -> str | None:
    if c.perspective and p.is_instruction and lexical.asks_how_instead(p.variant, p.source):
        return reasons.ASKS_HOW
    return None


def length(p: Pair, c: CheckSettings) -> str | None:
    ratio = lexical.length_ratio(p.variant, p.source)  # unrounded, unlike the score
    return None if c.length_ratio_min <= ratio <= c.length_ratio_max \
        else reasons.length_ratio(ratio)


def new_words(p: Pair, c: CheckSettings) -> str | None:
    fresh = lexical.new_word_count(p.variant, p.source)
    return reasons.few_new_words(fresh) if fresh < c.min_new_words else None


LEXICAL_CHECKS: tuple[Check, ...] = (empty, artifacts, kind, trivial_copy, answered, details,
                                     negation, perspective, asks_how, length, new_words)


def lexical_reason(p: Pair, c: CheckSettings) -> str | None:
    """The first reason a lexical check gives for one pair, or None: what the chain would reject
    it for before any model reads it (a generator choosing among its samples asks this too)."""
    for check in LEXICAL_CHECKS:
        reason = check(p, c)
        if reason is not None:
            return reason
    return None


def run_lexical(p: Pair, c: CheckSettings, v: Verdict) -> None:
    """Every lexical check on one pair (the length scores first); the first reason wins."""
    v.scores.update(length_ratio=round(lexical.length_ratio(p.variant, p.source), 4),
                    new_words=float(lexical.new_word_count(p.variant, p.source)))
    reason = lexical_reason(p, c)
    if reason is not None:
        v.reject(reason)
