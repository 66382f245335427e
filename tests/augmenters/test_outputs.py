"""Output variants: the method's own checks on literal strings, and a real run on SmolLM2 (slow);
lost or invented facts are QC's (test_qc_chain)."""

from __future__ import annotations

import pytest

from local_augment.augmenters import outputs
from local_augment.augmenters.base import Context
from local_augment.config import Config
from local_augment.data.records import Example

LONG = ("The Eiffel Tower in Paris is 330 metres tall and was finished in 1889 for the World Fair. "
        "Use `pip install requests` to fetch its NASA page, said Gustave Eiffel.")
EX = Example(id="o1", line=1, layout="alpaca",
             row={"instruction": "Tell me about the Eiffel Tower.", "input": "", "output": LONG})


def augmenter(manifest) -> outputs.OutputsAugmenter:
    cfg = Config()
    cfg.outputs.brief_max_words = 10
    ctx = Context(config=cfg, manifest=manifest, seed=3)
    return outputs.OutputsAugmenter(ctx, llm=None, prompts=outputs.load_prompts(  # type: ignore[arg-type]
        outputs.VARIANTS, None))


def test_checks(manifest):
    aug = augmenter(manifest)
    assert aug.check("brief", LONG, "") == "empty_output"
    assert aug.check("brief", LONG, LONG + " ") == "copy_of_source"
    assert aug.check("brief", LONG, " ".join(["w"] * 11)) == "too_long:11"
    assert aug.check("bulleted", LONG, "Just one line 330 1889") == "not_bulleted"
    ok = ("- The Eiffel Tower in Paris: 330 m\n- Finished 1889, World Fair\n"
          "- `pip install requests`, NASA, Gustave Eiffel")
    assert aug.check("bulleted", LONG, ok) is None
    assert outputs.clean_variant("Sure! Here is the list:\n- a\n- b") == "- a\n- b"


@pytest.mark.slow
def test_outputs_on_smollm2(llm_ctx):
    llm_ctx.config.outputs.min_output_words = 12
    aug = outputs.create(llm_ctx)
    short = Example(id="o2", line=2, layout="alpaca",
                    row={"instruction": "Hi?", "input": "", "output": "Hello there."})
    cands = aug.generate([EX, short])
    assert {c.source_id for c in cands} == {"o1"}  # the short output is skipped
    assert sorted(c.index for c in cands) == [0, 1]
    for c in cands:
        assert c.field == "output" and c.row["instruction"] == EX.instruction
        assert c.row["output"] == c.text and c.source_text == LONG
        assert c.params["variant"] in ("brief", "bulleted")
        assert c.reason is None or c.reason.split(":")[0] in (
            "too_long", "not_bulleted", "empty_output", "copy_of_source")
        assert c.model["engine"].startswith("vllm") and c.seed == 0


def test_which_outputs_can_take_which_variant(manifest):
    aug = augmenter(manifest)
    aug.cfg.brief_min_words = 30
    two_sentences = "Use the json module. It reads the file into a dict."
    code_only = "```python\n" + "x = 1\n" * 40 + "```"
    a_list = "- one point here\n- another point there\n- a third one"
    def fits(variant: str, output: str, instruction: str = "Tell me about it.") -> bool:
        return aug.fits(variant, Example(id="f", line=1, layout="alpaca", row={
            "instruction": instruction, "input": "", "output": output}))

    assert fits("brief", LONG) and fits("bulleted", LONG)
    assert not fits("brief", two_sentences) and fits("bulleted", two_sentences)
    assert not fits("brief", code_only) and not fits("bulleted", code_only)
    assert not fits("bulleted", a_list)
    assert not fits("bulleted", "Positive, because the review praises the battery.")
    # a piece of prose asked for as such takes a brief version, not a list
    assert fits("brief", LONG, "Write a short e-mail to my team about the tower.")
    assert not fits("bulleted", LONG, "Write a short e-mail to my team about the tower.")


@pytest.mark.parametrize("instruction, prose", [
    ("Draft an out-of-office reply for December 23 to January 2.", True),
    ("Reword this canned response so it sounds less robotic.", True),
    ("Please proofread this paragraph and correct any errors.", True),
    ("Can you turn these bullet points into a short paragraph?", True),
    ("write a two-sentence bio for a freelance graphic designer named Priya", True),
    ("Expand this one-line summary into a short paragraph for the release notes.", True),
    ('Translate "Thank you for your patience" into Spanish and French.', True),
    ("How do I write a follow-up e-mail after a sales demo without sounding pushy?", False),
    ("Write a regex that finds every e-mail address in a block of text.", False),
    ("How do I change the e-mail address on my account?", False),
    ("Why was my card declined with code 51?", False),
])
def test_deliverable_prose_is_read_off_the_request(instruction, prose):
    assert outputs.deliverable_prose(instruction, "An answer. It has two sentences.") is prose


def test_deliverable_prose_is_read_off_a_letter():
    letter = "Hi Marcus,\n\nYour refund is approved.\n\nBest regards,\nCustomer Support"
    assert outputs.deliverable_prose("My apology e-mail to a client sounds too defensive.",
                                     "Dear Ms. Lee,\n\nI am sorry for the delay.\n")
    assert outputs.deliverable_prose("Tell the customer the refund is approved.", letter)


def test_a_brief_variant_is_clearly_shorter_and_keeps_code_whole():
    assert outputs.brief_budget(" ".join(["w"] * 100), 50, 0.6) == 50
    assert outputs.brief_budget(" ".join(["w"] * 40), 50, 0.6) == 24  # not 50: clearly shorter
    code = "```sql\nSELECT a FROM t;\n```"
    assert outputs.brief_budget(" ".join(["w"] * 40) + "\n" + code, 50, 0.6) == 24 + 6  # its 6 words
    assert outputs.sentences("One. Two; three.\n\nFour") == 4
    assert outputs.prose("a ```x``` b").split() == ["a", "b"]


def test_several_samples_the_first_that_keeps_the_facts_is_kept(manifest):
    from local_augment.augmenters.llm_base import Request
    from local_augment.engines.llm import Sampling
    from tests.fakes import FakeLLM

    aug = augmenter(manifest)
    aug.llm = FakeLLM()
    aug.cfg.brief_max_words, aug.cfg.brief_share = 30, 0.9  # 27 words
    req = Request(EX, [], Sampling(n=3), tag="brief")
    answers = ["The Eiffel Tower is tall.",  # lost 330, 1889, the code span and names
               "Sure! The Eiffel Tower in Paris, 330 m, finished 1889 for the World Fair; use "
               "`pip install requests` for its NASA page, said Gustave Eiffel.",
               "Another one."]
    (cand,) = aug.parse(req, answers)
    assert cand.params["chosen"] == "2/3" and cand.text.startswith("The Eiffel Tower in Paris")
    assert cand.reason is None


def test_of_several_lists_the_one_in_the_sources_words_is_kept(manifest):
    """Every sample keeps the facts; the one closest to a list of the source's own statements
    (fewest content words new or lost) wins, not the first."""
    from local_augment.augmenters.llm_base import Request
    from local_augment.engines.llm import Sampling
    from tests.fakes import FakeLLM

    aug = augmenter(manifest)
    aug.llm = FakeLLM()
    req = Request(EX, [], Sampling(n=3), tag="bulleted")
    answers = ["- Paris landmark: 330 m, built 1889 for the World Fair\n"
               "- Fetch its NASA page with `pip install requests`, per Gustave Eiffel",
               "- The Eiffel Tower in Paris is 330 metres tall.\n- It was finished in 1889 for "
               "the World Fair.\n- Use `pip install requests` to fetch its NASA page, said "
               "Gustave Eiffel.",
               "- Just a list"]
    (cand,) = aug.parse(req, answers)
    assert cand.params["chosen"] == "2/3" and cand.reason is None
    assert cand.text.startswith("- The Eiffel Tower in Paris is 330 metres tall.")


def pick_list(manifest, src: str, samples: list[str]):
    """The candidate the outputs augmenter makes of `samples`, bulleted variants of `src`."""
    from local_augment.augmenters.llm_base import Request
    from local_augment.engines.llm import Sampling
    from tests.fakes import FakeLLM

    aug = augmenter(manifest)
    aug.llm = FakeLLM()
    ex = Example(id="o2", line=2, layout="alpaca",
                 row={"instruction": "How do I change my e-mail?", "input": "", "output": src})
    (cand,) = aug.parse(Request(ex, [], Sampling(n=len(samples)), tag="bulleted"), samples)
    return cand


def test_of_two_lists_in_the_sources_words_the_one_that_breaks_fewer_sentences_is_kept(manifest):
    src = "Go to Settings > Account and click Edit. The change takes effect at once."
    pieces = "- Go to Settings\n- Account\n- And click Edit.\n- The change takes effect at once."
    whole = "- Go to Settings > Account and click Edit.\n- The change takes effect at once."
    cand = pick_list(manifest, src, [pieces, whole])
    assert cand.params["chosen"] == "2/2" and cand.text == whole


def test_a_list_with_a_piece_of_a_sentence_as_an_item_is_passed_over(manifest):
    """A sample that cuts "…$36, which is 20%" into "- Which is 20%" is a flaw: a later sample
    without one is kept even when the first has fewer bullets."""
    src = "The annual plan costs $144. It saves $36 a year, which is 20%."
    cut = "- The annual plan costs $144. It saves $36 a year\n- Which is 20%."
    whole = "- The annual plan costs $144.\n- It saves $36 a year.\n- That is 20%."
    cand = pick_list(manifest, src, [cut, whole])
    assert cand.params["chosen"] == "2/2" and cand.text == whole


def test_a_brief_sample_quality_control_would_reject_is_passed_over(manifest):
    """A brief sample in budget that comments on its own edit (artifact:meta, a reason of QC's
    model-free checks) yields to the next sample that is clean."""
    from local_augment.augmenters.llm_base import Request
    from local_augment.engines.llm import Sampling
    from tests.fakes import FakeLLM

    aug = augmenter(manifest)
    aug.llm = FakeLLM()
    aug.cfg.brief_max_words = 40
    src = ("Yes. The annual plan costs $144 a year. If you pay monthly instead, at $15 a month, "
           "you pay $180 over the same twelve months, so choosing the annual plan saves you $36 "
           "in a year, which works out to 20% of what you would otherwise spend.")
    ex = Example(id="o3", line=3, layout="alpaca",
                 row={"instruction": "Is the annual plan cheaper?", "input": "", "output": src})
    samples = ["I've shortened the text: yes, the annual plan, $144 a year against $180 at $15 a "
               "month, saves $36 (20%).",
               "Yes: at $144 a year against $180 for $15 a month, the annual plan saves $36, "
               "or 20%."]
    (cand,) = aug.parse(Request(ex, [], Sampling(n=2), tag="brief"), samples)
    assert cand.params["chosen"] == "2/2" and cand.text == samples[1]
