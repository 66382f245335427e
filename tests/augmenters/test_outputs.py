"""Output variants: the method's own checks on literal strings, and a real run on SmolLM2 (slow);
lost or invented facts are QC's (test_qc_chain)."""

from __future__ import annotations

import pytest

from local_augment.augmenters import outputs
from local_augment.augmenters.base import Context
from local_augment.config import Config
from local_augment.records import Example

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
