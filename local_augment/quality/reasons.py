"""Quality-control reject reasons, machine-readable: `kind` or `kind:detail`.

The kind (before the first colon) is what reports count; the detail says what was found.
"""

from __future__ import annotations

EMPTY = "empty"
TRIVIAL_COPY = "trivial_copy"
ANSWERED_INSTEAD = "answered_instead"
NEGATION_FLIP = "negation_flip"
PERSPECTIVE_CHANGED = "perspective_changed"
ASKS_HOW = "task_changed:asks_how"
EVAL_CONTAMINATION = "eval_contamination"
CONTAMINATED_SOURCE = "contaminated_source"

# generators' own reasons (before QC): what a model's answer could not give
EMPTY_OUTPUT = "empty_output"
COPY_OF_SOURCE = "copy_of_source"
UNPARSEABLE = "unparseable_llm_output"
NOT_BULLETED = "not_bulleted"


def too_long(words: int) -> str:
    return f"too_long:{words}"

# every kind the chain can give, cheapest check first (reports list them in this order)
KINDS = (
    EMPTY, "artifact", "not_its_kind", TRIVIAL_COPY, ANSWERED_INSTEAD, "lost_detail", "added_detail",
    NEGATION_FLIP, PERSPECTIVE_CHANGED, "task_changed", "length_ratio", "few_new_words", "wrong_language", "out_of_window",
    "meaning_changed", "disfluent", "output_unfit", "judge_rejected", "judge_uncertain",
    "low_yield_method",
    EVAL_CONTAMINATION, CONTAMINATED_SOURCE,
)
# kinds that say a candidate is too close to its source, not that its generator failed
NEAR_COPY = frozenset({TRIVIAL_COPY, "few_new_words", "identical_to_source", "same_as_sibling"})


def kind(reason: str) -> str:
    """`artifact:label:answer` -> `artifact`."""
    return reason.split(":", 1)[0]


def artifact(what: str) -> str:
    return f"artifact:{what}"


def wrong_language(code: str) -> str:
    return f"wrong_language:{code}"


def length_ratio(ratio: float) -> str:
    return f"length_ratio:{ratio:.2f}"


def few_new_words(n: int) -> str:
    return f"few_new_words:{n}"


def out_of_window(sim: float) -> str:
    return f"out_of_window:{sim:.3f}"


def meaning_changed(score: float) -> str:
    return f"meaning_changed:{score:.3f}"


def disfluent(score: float) -> str:
    return f"disfluent:{score:.2f}"


def output_unfit(score: float) -> str:
    return f"output_unfit:{score:.2f}"


def judge_rejected(p_yes: float) -> str:
    return f"judge_rejected:{p_yes:.2f}"


def judge_uncertain(p_yes: float) -> str:
    """A model's own variant above the bar fitted on people's pairs, below the generated bar."""
    return f"judge_uncertain:{p_yes:.4f}"


def not_its_kind(what: str) -> str:
    return f"not_its_kind:{what}"


def low_yield_method(passed: int, judged: int) -> str:
    return f"low_yield_method:{passed}/{judged}"


def eval_contamination(set_name: str, eval_id: str, how: str, score: float) -> str:
    """A row that matches eval prompt `eval_id` of set `set_name` (how: ngram or embedding)."""
    return f"{EVAL_CONTAMINATION}:{set_name}:{eval_id}:{how}:{score:.2f}"


def contaminated_source(source_id: str) -> str:
    """A variant of a contaminated original: never kept."""
    return f"{CONTAMINATED_SOURCE}:{source_id}"
