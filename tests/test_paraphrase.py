"""Paraphrase: Candidates from any answer (literal strings), and a real run on SmolLM2 (slow)."""

from __future__ import annotations

import pytest

from local_augment.augmenters import paraphrase
from local_augment.augmenters.base import Context
from local_augment.augmenters.prompting import load_prompt
from local_augment.config import Config
from local_augment.records import Example

META = {"params": {"template": "t"}, "model": {"name": "m", "checksum": "c", "engine": "e"},
        "seed": 7}
EX = Example(id="ex1", line=1, layout="alpaca",
             row={"instruction": "How do I reset my password?", "input": "", "output": "Click."})
MSG = Example(id="ex2", line=2, layout="messages", row={"messages": [
    {"role": "system", "content": "Be nice."},
    {"role": "user", "content": "Name three colours."},
    {"role": "assistant", "content": "Red, green, blue."}]})


def augmenter(manifest, n: int = 3) -> paraphrase.ParaphraseAugmenter:
    cfg = Config()
    cfg.paraphrase.n = n
    ctx = Context(config=cfg, manifest=manifest, seed=7)
    return paraphrase.ParaphraseAugmenter(ctx, llm=None, prompt=load_prompt("paraphrase"))  # type: ignore[arg-type]


@pytest.mark.parametrize("raw,reasons", [
    ('["What is the way to reset my password?", "How can my password be reset?", "Reset password how?"]',
     [None, None, None]),
    ('["How do I reset my password?", "Password reset steps?"]', ["copy_of_source", None]),
    ('["", "Steps to reset a password?"]', ["empty_output", None]),
    ("", ["empty_output"]),
    ("[[{{", ["unparseable_llm_output"]),
    ("I can't.\nNo really,\nI can't", ["unparseable_llm_output"]),
    ('["a", "b", "c", "d", "e"]', [None, None, None]),  # capped at n
])
def test_candidates_from_any_answer(manifest, raw, reasons):
    aug = augmenter(manifest)
    cands = aug.candidates(EX, raw, base=0, meta=META)
    assert [c.reason for c in cands] == reasons
    assert len({c.id for c in cands}) == len(cands)
    for c in cands:
        assert c.field == "instruction" and c.method == "paraphrase" and c.source_id == "ex1"
        assert c.row["instruction"] == c.text and c.row["output"] == "Click."
        assert c.seed == 7 and c.model["engine"] == "e"
        if c.reason in ("unparseable_llm_output", "empty_output"):
            assert c.raw == raw


def test_messages_layout_replaces_the_user_turn(manifest):
    cands = augmenter(manifest).candidates(MSG, '["List 3 colours.", "Which are 3 colours?"]',
                                           base=3, meta=META)
    assert [c.index for c in cands] == [3, 4]
    msgs = cands[0].row["messages"]
    assert msgs[0]["content"] == "Be nice." and msgs[1]["content"] == "List 3 colours."
    assert msgs[2]["content"] == "Red, green, blue."


@pytest.mark.models
def test_prompt_override(manifest, tmp_path):
    own = tmp_path / "p.txt"
    own.write_text("Say {instruction} differently, {n} times, as JSON.")
    cfg = Config()
    cfg.paraphrase.prompt = own
    aug = paraphrase.create(Context(config=cfg, manifest=manifest, seed=0))
    assert aug.prompt.id.startswith("p@")
    assert aug.conversation(EX)[0]["content"].startswith("Say How do I reset")


@pytest.mark.slow
def test_paraphrase_on_smollm2(llm_ctx):
    aug = paraphrase.create(llm_ctx)
    aug.load()
    batch = [EX, MSG, Example(id="ex3", line=3, layout="alpaca",
                              row={"instruction": "Summarise the French Revolution.", "output": "x"})]
    cands = aug.generate(batch)
    assert cands, "at least one candidate (possibly rejected) per instruction"
    assert {c.source_id for c in cands} == {"ex1", "ex2", "ex3"}
    assert len({c.id for c in cands}) == len(cands)
    allowed = {None, "copy_of_source", "empty_output", "unparseable_llm_output"}
    for c in cands:
        assert c.reason in allowed
        assert 0 <= c.index < aug.n
        assert c.model["name"] == "smollm2-135m-instruct" and c.model["engine"].startswith("vllm")
        assert c.model["checksum"].startswith("sha256:")
        assert c.params["template"].startswith("paraphrase@") and c.params["sampling"]["guided_json"]
        assert c.seed == 0
        if c.reason == "unparseable_llm_output":
            assert c.raw
