"""Instruction-format expansion: grammatical forms, names kept, questions stay questions."""

from __future__ import annotations

import re

import pytest

from local_augment.augmenters.base import Context
from local_augment.augmenters.templates import (
    TemplateAugmenter,
    load_template_sets,
    render,
    slots_for,
)
from local_augment.config import load_config
from local_augment.data.records import Example
from local_augment.errors import UserError
from local_augment.quality.lexical import trivial_copy

INSTRUCTIONS = [
    "How do I reset my password?",
    "How can I enable SSO for my team?",
    "What is the difference between TCP and UDP?",
    "Why is my AWS S3 bill so high?",
    "Explain how DNS works.",
    "Summarize the following article.",
    "List three uses of JSON",
    "My invoice shows the wrong VAT number.",
    "Write a haiku about Paris. Make it rhyme.",
    "iPhone app crashes on launch",
    "NASA mission timeline",
]


@pytest.fixture(scope="module")
def sets():
    return load_template_sets(None)


def _all_renderings(sets):
    for text in INSTRUCTIONS:
        slots = slots_for(text)
        for form, templates in sets.items():
            for t in templates:
                out = render(t, slots)
                if out:
                    yield text, form, out


def test_no_broken_grammar(sets):
    for _source, _form, out in _all_renderings(sets):
        assert not re.search(r"\b(can|could|would) you (how|what|why|who|where)\b", out, re.I), out
        assert "??" not in out and "?." not in out and ".." not in out, out
        assert out[0].isupper(), out


def test_names_and_acronyms_keep_their_case(sets):
    for source, _form, out in _all_renderings(sets):
        for token in ("SSO", "TCP", "UDP", "AWS", "S3", "DNS", "JSON", "VAT", "Paris", "iPhone",
                      "NASA"):
            if token in source:
                assert token in out, (source, out)


def test_questions_stay_questions(sets):
    for source, form, out in _all_renderings(sets):
        if form == "question":
            assert out.endswith("?"), out
        if source.endswith("?") and source in out:
            assert out.endswith("?"), out  # an embedded question keeps its mark


def test_only_known_verbs_are_lowercased():
    assert slots_for("Explain how DNS works.")["task"] == "explain how DNS works"
    assert "task" not in slots_for("NASA mission timeline")
    assert "task" not in slots_for("iPhone app crashes on launch")
    assert slots_for("How do I reset my password?")["indirect"] == "how to reset my password"
    assert slots_for("What is the capital of France?")["indirect"] == "what the capital of France is"


def test_augmenter_is_deterministic_and_records_provenance(manifest):
    cfg = load_config()
    ex = [Example(id=f"e{i}", line=i + 1, layout="alpaca",
                  row={"instruction": t, "input": "", "output": "Some answer here."})
          for i, t in enumerate(INSTRUCTIONS)]
    a = TemplateAugmenter(Context(cfg, manifest, seed=1)).generate(ex)
    b = TemplateAugmenter(Context(cfg, manifest, seed=1)).generate(ex)
    c = TemplateAugmenter(Context(cfg, manifest, seed=2)).generate(ex)
    assert [x.text for x in a] == [x.text for x in b]
    assert [x.text for x in a] != [x.text for x in c]
    per_source = {}
    for cand in a:
        per_source.setdefault(cand.source_id, []).append(cand)
        assert cand.method == "templates" and cand.field == "instruction"
        assert cand.params["form"] in ("question", "request", "imperative", "label")
        assert cand.row["output"] == "Some answer here."  # outputs untouched
        assert cand.text != cand.source_text
    assert all(len(v) <= cfg.templates.per_example for v in per_source.values())
    assert len({c.id for c in a}) == len(a)


def test_user_template_file(tmp_path, manifest):
    path = tmp_path / "t.yaml"
    path.write_text('request:\n  - "Kindly {task}."\n  - "I would like you to {task}."\n')
    cfg = load_config(overrides={"templates.file": str(path), "templates.per_example": 1})
    ex = Example(id="e", line=1, layout="alpaca",
                 row={"instruction": "Explain how DNS works.", "output": "..."})
    # "Kindly …" only adds a filler word: a trivial copy, never offered
    (cand,) = TemplateAugmenter(Context(cfg, manifest, seed=0)).generate([ex])
    assert cand.text == "I would like you to explain how DNS works."
    bad = tmp_path / "bad.yaml"
    bad.write_text("shouting:\n  - 'X'\n")
    with pytest.raises(UserError, match="unknown form 'shouting'"):
        load_template_sets(bad)


@pytest.mark.parametrize("instruction, bad", [
    ("What is SCIM and do you support it?", "what SCIM and do you support it is"),
    ("Switch me from monthly to annual billing.", "How can I fix this?"),
    ('Translate into French: "Where is the nearest train station?"', '?"?'),
    ("Classify the sentiment of this sentence:", ":?"),
    ("Check order {{order_id}} and reply to the customer.", "Could you check"),
])
def test_forms_only_where_the_structure_is_understood(manifest, instruction, bad):
    cfg = load_config(overrides={"templates.per_example": 10})
    ex = Example(id="e", line=1, layout="alpaca", row={"instruction": instruction, "output": "."})
    texts = [c.text for c in TemplateAugmenter(Context(cfg, manifest, seed=0)).generate([ex])]
    assert texts  # the label forms keep any instruction whole
    assert not any(bad.casefold() in t.casefold() for t in texts), texts
    assert not any(trivial_copy(t, instruction) for t in texts)


def test_lower_case_start_gets_sentence_case_and_capital_i(manifest):
    cfg = load_config(overrides={"templates.per_example": 10})
    ex = Example(id="e", line=1, layout="alpaca",
                 row={"instruction": "how do i export my contacts?", "output": "."})
    texts = [c.text for c in TemplateAugmenter(Context(cfg, manifest, seed=0)).generate([ex])]
    assert any("how to export my contacts" in t for t in texts)
    assert not any(" i " in t for t in texts if not t.startswith(("Task:", "Instruction:")))
