"""The judged regime on the optional Qwen2.5-Coder-1.5B-Instruct (examples/judged.yaml).

Skips cleanly unless `make models LLM=qwen2.5-coder-1.5b-instruct` has installed it; CI never
downloads it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from local_augment.config import load_config
from local_augment.quality.chain import QualityChain
from local_augment.quality.pair import Pair

ROOT = Path(__file__).resolve().parents[2]
JUDGE = "qwen2.5-coder-1.5b-instruct"
pytestmark = [pytest.mark.slow, pytest.mark.optional_model]


@pytest.fixture(scope="module")
def judged_chain(manifest, embedder):
    from local_augment.engines.llm import create_engine
    from local_augment.engines.llm.prompting import load_prompt
    from local_augment.quality.judge import llm_judge

    if manifest.status(manifest.get(JUDGE))[0] != "ok":
        pytest.skip(f"{JUDGE} is not installed (make models LLM={JUDGE})")
    cfg = load_config(ROOT / "examples" / "judged.yaml")
    llm = create_engine(cfg.llm, manifest, 0)
    yield QualityChain(cfg.qc, embedder, None, llm_judge(llm, load_prompt("judge").text))
    llm.unload()


def test_the_judge_keeps_a_rewording_and_scores_both_orders(judged_chain):
    """A rewording the embedder doubts is kept. An action swapped in the same surroundings
    ("reset my password" -> "delete my account") is NOT reliably rejected by a 1.5B judge: it
    answered P(yes) 0.56 / 0.59 and the pair passed at 0.753 (bar 0.741); the test records that
    limit instead of hiding it."""
    src = "How do I reset my password if I no longer have access to my recovery e-mail?"
    good = "I forgot my password and lost access to the backup e-mail, what now?"
    other = "Which hiking trails near Denver are open this week?"
    assert judged_chain.regime == "judged"
    verdicts = judged_chain.check([Pair("paraphrase", "instruction", v, src) for v in
                                   (good, other)], exhaustive=True)
    assert verdicts[0].reason is None, verdicts[0].scores
    assert {"judge", "judge_reverse", "equivalence"} <= set(verdicts[0].scores)
    assert verdicts[1].reason is not None
    assert verdicts[0].scores["equivalence"] > verdicts[1].scores["equivalence"]
