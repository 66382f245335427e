"""The code around the models, fast and with no model installed: the pipeline, the LLM
augmenter base and the model-output cache on a queued-answer LLM and a hash embedder.

The same behaviour on the real models is tested elsewhere (test_llm_pipeline, test_cli...)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from local_augment.augmenters.base import Context
from local_augment.augmenters.llm_base import serve
from local_augment.config import load_config
from local_augment.data.records import Example
from local_augment.engines.cache import ModelCache
from local_augment.engines.llm import CachedLLM, Sampling
from local_augment.engines.manifest import load_manifest
from tests.fakes import FakeLLM, HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
ROWS = [
    ("How do I reset my password if I lost my phone?",
     "Open the sign-in page, choose Forgot password, and follow the link we e-mail you. The link "
     "stays valid for thirty minutes, after which you can ask for a new one."),
    ("Explain what a race condition is in concurrent programs.",
     "A race condition happens when two threads use shared data at the same time and the result "
     "depends on which one runs first, which makes bugs hard to reproduce."),
    ("Summarise the benefits of annual billing for a small team.",
     "Annual billing costs less per month than monthly billing, gives the team one invoice a year "
     "to approve, and locks the price for twelve months."),
]


def rewrite(conversation: list[dict], sample: int) -> str:
    """A fake model: paraphrase prompts get a JSON list, output prompts a short reworded answer;
    the second row's paraphrase is unparseable prose, as weak models write."""
    text = conversation[-1]["content"]
    if "race condition" in text and "bullet" not in text.casefold() and "brief" not in text:
        return "I think the answer is that\nthreads race."
    if '"' in text and "rewrite" in text.casefold():
        return json.dumps(["Could you tell me how to reset my password after losing my phone?",
                           "What are the steps to reset my password if my phone is lost?",
                           "How can I reset my password when I no longer have my phone?"])
    return f"- point one of sample {sample}\n- point two"


def config(tmp: Path, **over):
    over = {"qc.fluency": False, "paraphrase.n": 3, "paraphrase.style": "list",
            "run.shard_size": 2, "outputs.brief_min_words": 1,  # short outputs: both kinds
            "outputs.bulleted_min_sentences": 1, **over}
    return load_config(overrides=over)


def write_rows(path: Path) -> Path:
    path.write_text("".join(json.dumps({"instruction": i, "input": "", "output": o}) + "\n"
                            for i, o in ROWS) + '{"instruction": 7}\n')
    return path


def test_run_on_fakes_accounts_for_every_row(tmp_path):
    from local_augment.run.pipeline import run

    llm = FakeLLM(answer=rewrite)
    src = write_rows(tmp_path / "in.jsonl")
    report = run(config(tmp_path), src, tmp_path / "out",
                 methods=["templates", "paraphrase", "outputs"],
                 engines={"llm": llm, "embedder": HashEmbedder()}).report
    assert set(report["accounting"].values()) == {"ok"}
    assert report["counts"]["input_rows"] == 4 and report["counts"]["bad_input_rows"] == 1
    assert set(report["candidates_per_method"]) == {"templates", "paraphrase", "outputs"}
    # one chat per distinct sampling setting per shard: paraphrase 1, outputs 2 (brief, bulleted)
    assert len(llm.calls) == 2 * 3
    rejected = [json.loads(x) for x in (tmp_path / "out" / "rejected.jsonl").open()]
    reasons = {r["reason"].split(":")[0] for r in rejected}
    assert "unparseable_llm_output" in reasons and "bad_input" in reasons
    out = [json.loads(x) for x in (tmp_path / "out" / "augmented.jsonl").open()]
    assert sum(r["_provenance"]["method"] == "original" for r in out) == 3


def test_served_answers_parse_like_generated_ones():
    """What ray.data.llm hands back goes through the same `parse` as the engine's answers."""
    from local_augment.augmenters.outputs import create as outputs
    from local_augment.augmenters.paraphrase import create as paraphrase

    cfg = config(Path("."))
    batch = [Example(id=f"r{i}", line=i, layout="alpaca",
                     row={"instruction": ins, "input": "", "output": out})
             for i, (ins, out) in enumerate(ROWS)]
    for create in (paraphrase, outputs):
        ctx = Context(config=cfg, manifest=load_manifest(ROOT / "models"), seed=0)
        ctx.engines.get("llm", lambda: FakeLLM(answer=rewrite))
        aug = create(ctx)
        requests = aug.requests(batch)
        answers = serve(FakeLLM(answer=rewrite), requests)
        assert [c.to_state() for c in aug.generate(batch)] == [
            c.to_state() for c in aug.respond(requests, answers)]


def test_cached_llm_asks_only_for_what_it_has_not_answered(tmp_path):
    cache = ModelCache(tmp_path / "c.sqlite")
    inner = FakeLLM(answer=lambda conv, s: f"{conv[0]['content']}#{s}")
    llm = CachedLLM(inner, cache)
    convs = [[{"role": "user", "content": t}] for t in ("a", "b", "a")]
    params = Sampling(n=2)
    first = llm.chat(convs, params)
    assert first == [["a#0", "a#1"], ["b#0", "b#1"], ["a#0", "a#1"]]
    assert [len(c) for c, _ in inner.calls] == [2]  # "a" once
    assert llm.chat(convs[:2], params) == first[:2] and len(inner.calls) == 1
    assert llm.lookup([[{"role": "user", "content": "c"}], convs[1]], params) == [None, first[1]]
    llm.remember([[{"role": "user", "content": "c"}]], params, [["served", "elsewhere"]])
    assert llm.chat([[{"role": "user", "content": "c"}]], params) == [["served", "elsewhere"]]
    assert not inner.loaded  # never loaded: the cache answered or the fake was asked directly
    assert re.match(r"fake-llm:sha256:fake:fake", llm.cache_key())
