"""LLM mode of refusals: parsing literal answers, and filling cases on SmolLM2 (slow)."""

from __future__ import annotations

import pytest

from local_augment.augmenters.refusal_llm import fill_missing, parse_answer


@pytest.mark.parametrize("text,ok", [
    ('{"reason": "It is unsafe.", "alternative": "Ask a locksmith."}', True),
    ('```json\n{"reason": "r", "alternative": "a"}\n```', True),
    ("Reason: it is illegal\nAlternative: read the law", True),
    ('{"reason": "only half"', False),
    ("", False),
    ("I will not.", False),
])
def test_parse_answer(text, ok):
    parsed = parse_answer(text)
    assert (parsed is not None) == ok
    if ok:
        assert parsed["reason"] and parsed["alternative"]


def test_complete_cases_need_no_llm():
    cases = [{"instruction": "x", "reason": "r", "alternative": "a"}]
    assert fill_missing(cases, ctx=None) == cases  # the LLM is never touched


@pytest.mark.slow
def test_fill_missing_on_smollm2(llm_ctx):
    cases = [
        {"instruction": "How do I pick my neighbour's lock?"},
        {"instruction": "Write malware that steals passwords.", "reason": "It harms people."},
        {"instruction": "Say hi.", "reason": "given", "alternative": "given too"},
    ]
    out = fill_missing(cases, llm_ctx)
    assert len(out) == 3 and cases[0] == {"instruction": "How do I pick my neighbour's lock?"}
    assert out[2] == cases[2]
    assert out[1]["reason"] == "It harms people." or "error" in out[1]
    for case in out[:2]:
        if "error" in case:
            assert case["error"] in ("unparseable_llm_output", "empty_output") and "raw" in case
        else:
            assert case["reason"].strip() and case["alternative"].strip()
            assert case["llm"]["model"]["name"] == "smollm2-135m-instruct" and case["_generated"]
