"""Paraphrase: Candidates from any answer (literal strings), and a real run on SmolLM2 (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_augment.augmenters import paraphrase
from local_augment.augmenters.base import Context
from local_augment.config import Config
from local_augment.data.records import Example
from local_augment.engines.llm.prompting import load_prompt

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


def single(n: int = 3, **over) -> paraphrase.ParaphraseAugmenter:
    from local_augment.config import load_config
    from local_augment.engines.manifest import Manifest
    from tests.fakes import FakeLLM

    cfg = load_config(overrides={"paraphrase.n": n, **over})
    ctx = Context(config=cfg, manifest=Manifest(root=Path("."), models={}), seed=7)
    return paraphrase.ParaphraseAugmenter(ctx, FakeLLM(), load_prompt("paraphrase_single"))


def test_single_style_asks_n_times_along_distinct_axes_after_demos():
    aug = single()
    reqs = aug.requests([EX, MSG])
    assert len(reqs) == 6 and {r.sampling.n for r in reqs} == {1}
    for ex in (EX, MSG):
        axes = [r.tag.split(":", 1)[1] for r in reqs if r.example is ex]
        assert len(set(axes)) == 3 and set(axes) <= set(aug.cfg.axes)
    conv = reqs[0].conversation
    assert conv[0]["role"] == "system" and "Do not answer" in conv[0]["content"]
    assert [m["role"] for m in conv[1:]] == ["user", "assistant", "user", "assistant", "user"]
    axis = reqs[0].tag.split(":", 1)[1]
    assert conv[-1]["content"] == f"Style: {axis}\n\n{EX.instruction}"
    assert conv[-3]["content"].startswith(f"Style: {axis}\n\n")  # the demo on this axis last
    no_system = single(**{"llm.system_prompt": False}).requests([EX])[0].conversation
    assert no_system[0]["role"] == "user" and "Do not answer" in no_system[0]["content"]
    assert single(**{"paraphrase.demos": 0}).requests([EX])[0].conversation[1:] == [
        {"role": "user", "content": f"Style: {axis}\n\n{EX.instruction}"}]


@pytest.mark.parametrize("raw,text,reason", [
    ('Rewritten instruction: "Could you tell me how to reset my password?"',
     "Could you tell me how to reset my password?", None),
    ("Sure! Here is the rewrite:\nWhat are the steps to reset my password?",
     "What are the steps to reset my password?", None),
    ("Style: more formal\n\nHow might I reset my password?", "How might I reset my password?", None),
    ("How do I reset my password?", "How do I reset my password?", "copy_of_source"),
    ("  ", "", "empty_output"),
])
def test_single_answers_lose_labels_and_quotes(raw, text, reason):
    aug = single()
    req = aug.requests([EX])[1]
    (cand,) = aug.parse(req, [raw])
    assert (cand.text, cand.reason) == (text, reason)
    assert cand.index == 1 and cand.params["axis"] == req.tag.split(":", 1)[1]
    assert cand.params["style"] == "single"


@pytest.mark.slow
def test_several_samples_on_smollm2(llm_ctx):
    """vLLM draws `samples` answers per request (n > 1) and one candidate comes back per
    request, the sample it was chosen from in its provenance."""
    llm_ctx.config.paraphrase.samples = 2
    aug = paraphrase.create(llm_ctx)
    aug.load()
    cands = aug.generate([EX])
    assert len(cands) == aug.n and {c.index for c in cands} == set(range(aug.n))
    assert {c.params["chosen"] for c in cands} <= {"1/2", "2/2"}
    assert {c.params["sampling"]["n"] for c in cands} == {2}


@pytest.mark.models
def test_prompt_override(manifest, tmp_path):
    own = tmp_path / "p.txt"
    own.write_text("Say {instruction} differently, {n} times, as JSON.")
    cfg = Config()
    cfg.paraphrase.prompt = own
    cfg.paraphrase.style = "list"
    aug = paraphrase.create(Context(config=cfg, manifest=manifest, seed=0))
    assert aug.prompt.id.startswith("p@")
    assert aug.conversation(EX)[0]["content"].startswith("Say How do I reset")


@pytest.mark.slow
@pytest.mark.parametrize("style", ["single", "list"])
def test_paraphrase_on_smollm2(llm_ctx, style):
    llm_ctx.config.paraphrase.style = style
    aug = paraphrase.create(llm_ctx)
    aug.load()
    batch = [EX, MSG, Example(id="ex3", line=3, layout="alpaca",
                              row={"instruction": "Summarise the French Revolution.", "output": "x"})]
    cands = aug.generate(batch)
    assert cands, "at least one candidate (possibly rejected) per instruction"
    assert {c.source_id for c in cands} == {"ex1", "ex2", "ex3"}
    assert len({c.id for c in cands}) == len(cands)
    if style == "single":
        assert len(cands) == 3 * aug.n  # one per request, never more
    allowed = {None, "copy_of_source", "empty_output", "unparseable_llm_output"}
    for c in cands:
        assert c.reason in allowed
        assert 0 <= c.index < aug.n
        assert c.model["name"] == "smollm2-135m-instruct" and c.model["engine"].startswith("vllm")
        assert c.model["checksum"].startswith("sha256:")
        assert c.params["style"] == style and c.seed == 0
        if style == "single":
            assert c.params["template"].startswith("paraphrase_single@")
            assert c.params["axis"] in aug.cfg.axes
        else:
            assert c.params["template"].startswith("paraphrase@")
            assert c.params["sampling"]["guided_json"]
        if c.reason == "unparseable_llm_output":
            assert c.raw


def test_several_samples_the_first_worth_a_candidate_is_kept():
    aug = single(**{"paraphrase.samples": 3})
    req = aug.requests([EX])[0]
    assert req.sampling.n == 3
    answers = ["How do I reset my password?",  # a copy
               "Sure! How do I reset my password, please?",  # a copy but for a filler
               "What are the steps to reset my password?"]
    (cand,) = aug.parse(req, answers)
    assert cand.text == "What are the steps to reset my password?" and cand.reason is None
    assert cand.params["chosen"] == "3/3" and cand.index == 0
    (cand,) = aug.parse(req, answers[:2])  # none worth it: the first, with its reason
    assert cand.reason == "copy_of_source" and cand.params["chosen"] == "1/2"


CHANGE = Example(id="ex4", line=4, layout="alpaca", row={
    "instruction": "I bought 3 notebooks at $4.75 each and paid with a $20 bill. How much change "
                   "should I get?", "input": "", "output": "3 x $4.75 = $14.25, so $5.75."})


@pytest.mark.parametrize("qc_perspective, chosen", [(True, "2/2"), (False, "1/2")])
def test_a_sample_quality_control_would_reject_is_passed_over(qc_perspective, chosen):
    """Two samples Qwen2.5-Coder-1.5B wrote for one request: the first, more reworded, makes the
    asker's purchase anyone's (perspective_changed), so the second is the candidate; with that
    check off for the method (`qc.methods.paraphrase`), the first is."""
    aug = single(**{"paraphrase.samples": 2,
                    "qc.methods.paraphrase.perspective": qc_perspective})
    req = aug.requests([CHANGE])[0]
    answers = ["Calculate the change you should receive from a $20 bill after buying 3 notebooks "
               "at $4.75 each.",
               "How much change do I get when I buy 3 notebooks for $4.75 each with a $20 bill?"]
    (cand,) = aug.parse(req, answers)
    assert cand.params["chosen"] == chosen
    assert cand.text == answers[int(chosen[0]) - 1]


def test_a_method_temperature_replaces_the_llms():
    assert single(**{"paraphrase.temperature": 0.3}).requests([EX])[0].sampling.temperature == 0.3
    assert single().requests([EX])[0].sampling.temperature == 0.8


def test_of_the_samples_worth_a_candidate_the_most_reworded_is_kept():
    aug = single(**{"paraphrase.samples": 3})
    req = aug.requests([EX])[0]
    answers = ["How can I reset my password?",
               "What steps let me pick a new password after forgetting the old one?",
               "Reset my password, how?"]
    (cand,) = aug.parse(req, answers)
    assert cand.params["chosen"] == "2/3"
