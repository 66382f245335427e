"""The quality-control check settings: one field per check, a per-method override model, and the
per-method defaults (qc.methods.<method>)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, create_model

from local_augment.config.fitted import load_model
from local_augment.config.sections import Section

EMBEDDED_BAR = load_model("embedded").threshold

# Which checks run and how strict they are; every field can be overridden per method under
# `qc.methods.<method>`. Defaults were chosen with scripts/bench_qc.py on ../shared/data: the
# judged candidates of a default run (judged/, 518 pairs read by a person) and STS-B dev.
CHECK_FIELDS: dict[str, Any] = {
    "similarity_min": (float, Field(0.3, ge=-1, le=1, description=(
        "embedder cosine below this: out_of_window (another request for certain: 1% of 174 "
        "people-written paraphrases of bank requests fall below 0.29). The equivalence "
        "decision decides above it"))),
    "similarity_max": (float, Field(0.995, ge=-1, le=1, description=(
        "cosine above this: out_of_window (a copy). Deterministic methods use trivial_copy "
        "instead (templates: 1.0), since format wrappers sit above 0.95 yet are valid"))),
    "length_ratio_min": (float, Field(0.3, gt=0, description=(
        "variant/source content words (each plus one), at least. On 174 people-written "
        "paraphrases of bank requests (../shared/data/paraphrase_pairs) 1% fall below 0.33"))),
    "length_ratio_max": (float, Field(4.0, gt=0, description=(
        "variant/source content words (each plus one), at most; 1% of those paraphrases are "
        "above 3.4 (a one-line request and its three-sentence wording)"))),
    "min_new_words": (int, Field(0, ge=0, description="words absent from the source, at least")),
    "artifacts": (bool, Field(True, description=(
        "artifact:<what>: prompt words (rewrite, JSON, list of 3), labels (Answer:, Sentence 2:), "
        "Question…Answer, [placeholders], assistant meta talk, new numbering, an empty list item, unbalanced "
        "brackets/quotes, degenerate repetition — each only when the source lacks it"))),
    "artifact_labels": (bool, Field(True, description=(
        "look for labels like 'Task:'; off for methods that add them on purpose (templates)"))),
    "artifact_numbering": (bool, Field(True, description=(
        "new list numbering is an artifact; off where lists are the point (outputs)"))),
    "language": (bool, Field(True, description="wrong_language:<code>: not in the source's language")),
    "language_confidence": (float, Field(0.9, gt=0.5, le=1, description=(
        "the identifier's probability for the other language, at least (py3langid)"))),
    "answered": (bool, Field(True, description=(
        "answered_instead: an instruction variant closer to the source's output than to the "
        "source instruction (embedder cosine), or one that contains the instruction followed by "
        "an answer"))),
    "lost_detail": (bool, Field(True, description=(
        "lost_detail:<span>: a number, quote, code, URL, e-mail, placeholder or name of the "
        "source is missing"))),
    "added_detail": (bool, Field(True, description="added_detail:<span>: such a span is new")),
    "negation": (bool, Field(True, description="negation_flip: negated where the source is not")),
    "perspective": (bool, Field(True, description=(
        "perspective_changed: a thing the source calls the asker's is the addressee's in the "
        "variant (my account -> your account), or the asker's own doing anyone's with no first "
        "person left (when I signed up -> when you signed up), or the variant speaks as the one "
        "who answers "
        "(\"I'll explain…\", \"Here goes…\"); task_changed:asks_how: a task on given material "
        "(\"Convert this loop\") asked as how to do it (\"Explain how to convert a loop\")"))),
    "kind": (bool, Field(True, description=(
        "not_its_kind:<kind>: a brief output variant that is not shorter than brief_max_ratio of "
        "its source or is in notes (telegraphic), a bulleted one with fewer than two list items, "
        "with an item that continues the one before (fragment: \"- Which is 20%\", \"- and "
        "the broken zipper\") or that restates its source (restated: list_drift_max)"))),
    "brief_max_ratio": (float, Field(0.9, gt=0, le=1, description=(
        "a brief output has at most this share of its source's characters"))),
    "list_drift_max": (int, Field(2, ge=0, description=(
        "not_its_kind:restated: a bulleted output variant with more content words (stems) than "
        "this that its source lacks, or more of the source's gone. A list of the source's "
        "statements keeps their words; of Qwen2.5-Coder-1.5B's kept lists, those that restate "
        "them read bad (an app, a click or a cause invented, a rationale dropped)"))),
    "trivial_copy": (bool, Field(True, description=(
        "trivial_copy: only case, punctuation, filler words (please) or one determiner differ"))),
    "fluency": (bool, Field(True, description=(
        "disfluent:<score>: per-token log-likelihood under the scorer LM, minus the source's"))),
    "fluency_min": (float, Field(-3.5, le=0, description=(
        "the lowest fluency score kept (nats per token relative to the source). People's own "
        "rewordings of bank requests score down to -3.7 ('i cannot get virtual card to work'): "
        "at -2.0 this check rejected 11.5% of 174 valid ones and caught none of the 7 rows "
        "judged disfluent in judged/; at -3.5 it rejects 1.7%. It rejects garbled text, not "
        "informal wording"))),
    "meaning": (bool, Field(True, description=(
        "meaning_changed:<score>: instruction variants: P(same request) of the equivalence "
        "model (quality/equivalence.py: cosine, token alignment both ways, content overlap and "
        "length, fitted on labelled request pairs); output variants: 0.5·cosine + 0.5·F1 of "
        "token-alignment precision and recall (BERTScore-style)"))),
    "meaning_min": (float, Field(0.88, ge=-1, le=1, description=(
        "output variants: the lowest meaning score kept (on STS-B dev, pairs scoring 0.875-0.9 "
        "are rated 4 of 5 on average by people, pairs near 0.75 only 3.3)"))),
    "list_support_min": (float, Field(0.94, ge=-1, le=1, description=(
        "a bulleted list of an output (Pair.reformatted): the lowest support kept, the 15 % "
        "quantile of how well each of its tokens matches the source (align_precision_low); a "
        "list of the source's statements has all of them well matched. Read on three runs of "
        "Qwen2.5-Coder-1.5B on examples/instructions.jsonl (lists with an item that continues "
        "the one before rejected, not_its_kind:fragment): at 0.94, 101 kept, 94 good (0.93); "
        "at 0.8, chosen on two runs, 137 kept, 121 good (0.88; the third run read 41 of 51)"))),
    "equivalence_min": (float, Field(EMBEDDED_BAR, ge=0, le=1, description=(
        "instruction variants: the lowest P(same request) kept in the embedded regime (no "
        "judge). The fitted operating point: cross-validated precision 0.87 on the BANKING77 "
        "pairs' mix (scripts/fit_equivalence.py)"))),
    "fit": (bool, Field(False, description=(
        "output_unfit:<score>: the source's output, scored by the scorer LM after the variant "
        "instruction, is much less likely than after the source instruction — the variant asks "
        "for something else (instruction variants only). Off by default: on judged/ it adds "
        "little beyond the meaning check and costs most of the chain's time on CPU"))),
    "fit_min": (float, Field(-0.25, le=0, description=(
        "the lowest output-fit score kept (nats per output token, variant minus source)"))),
    "survivor_precision_min": (float, Field(0.9, ge=0, le=1, description=(
        "low_yield_method:<passed>/<judged>: a method's survivors are dropped when their "
        "precision, estimated from how often its generator fails (the share of its candidates "
        "rejected, near-copies not counted) and QC's own error rates (qc_catch_rate, "
        "qc_false_reject_rate), is below this. A generator whose candidates mostly pass keeps "
        "its survivors; one that fails 95% of the time (SmolLM2 paraphrasing) makes survivors "
        "that are mostly QC's misses, and loses them. With the rates below, the bar falls at a "
        "pass rate of about 31%"))),
    "qc_catch_rate": (float, Field(0.95, gt=0, le=1, description=(
        "the share of bad candidates QC rejects, measured on judged/ (bench_qc_quality: the "
        "chain without the gate kept 17 of 363 bad candidates)"))),
    "qc_false_reject_rate": (float, Field(0.03, ge=0, lt=1, description=(
        "the share of good candidates QC rejects, measured on judged/ (4 of 155)"))),
    "min_judged": (int, Field(20, ge=1, description=(
        "candidates a method needs before low_yield_method is decided"))),
}


def _check_model(name: str, optional: bool) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for key, (typ, info) in CHECK_FIELDS.items():
        if optional:
            fields[key] = (typ | None, Field(None, description=info.description,
                                             **_bounds(info)))
        else:
            fields[key] = (typ, info)
    return create_model(name, __base__=Section, **fields)


def _bounds(info: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for meta in info.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if getattr(meta, attr, None) is not None:
                out[attr] = getattr(meta, attr)
    return out


CheckSettings = _check_model("CheckSettings", optional=False)
MethodChecks = _check_model("MethodChecks", optional=True)


def default_method_checks() -> dict[str, Any]:
    """Each method's own QC defaults, from its registry entry (`Method.qc`)."""
    from local_augment.methods import REGISTRY

    return {m.name: MethodChecks(**m.qc) for m in REGISTRY.values() if m.qc}
