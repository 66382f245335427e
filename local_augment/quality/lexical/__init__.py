"""Checks that need no model: prompt artifacts, trivial copies, lost or added details, negation.

Each returns the detail of a reason (`artifact:<what>`, `lost_detail:<span>`, …) or None. They
compare a variant with its source only; what counts as an artifact is text of a kind that model
prompts and answer formats produce *and the source does not have*, so a source that really
contains "JSON" or "Question:" can keep it in its variants. One module per concern; this package
names them all, so a caller reads `lexical.negation_flip`.
"""

from __future__ import annotations

from local_augment.quality.lexical.artifacts import (
    answers_how,
    artifact,
    continuation,
    dangling_colon,
    instruction_echo,
    repetition,
    restates_then_answers,
    truncated,
)
from local_augment.quality.lexical.details import (
    EXACT_KINDS,
    detail_change,
    details,
    lost_alternative,
    lost_condition,
    lost_verdict,
    typed_details,
)
from local_augment.quality.lexical.negation import (
    negated_heads,
    negation_flip,
)
from local_augment.quality.lexical.output_kind import (
    bullet_count,
    fragment_bullet,
    function_share,
    list_drift,
    not_its_kind,
    output_kind,
    telegraphic,
)
from local_augment.quality.lexical.perspective import (
    asks_how_instead,
    assistant_voice,
    perspective_changed,
)
from local_augment.quality.lexical.words import (
    FILLERS,
    STOPWORDS,
    content_words,
    length_ratio,
    new_content_words,
    new_word_count,
    overlap,
    stem,
    tokens,
    trivial_copy,
)

__all__ = [
    "EXACT_KINDS",
    "FILLERS",
    "STOPWORDS",
    "answers_how",
    "artifact",
    "asks_how_instead",
    "assistant_voice",
    "bullet_count",
    "content_words",
    "continuation",
    "dangling_colon",
    "detail_change",
    "details",
    "fragment_bullet",
    "function_share",
    "instruction_echo",
    "length_ratio",
    "list_drift",
    "lost_alternative",
    "lost_condition",
    "lost_verdict",
    "negated_heads",
    "negation_flip",
    "new_content_words",
    "new_word_count",
    "not_its_kind",
    "output_kind",
    "overlap",
    "perspective_changed",
    "repetition",
    "restates_then_answers",
    "stem",
    "telegraphic",
    "tokens",
    "trivial_copy",
    "truncated",
    "typed_details",
]
