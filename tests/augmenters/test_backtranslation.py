"""Backtranslation augmenter: pivots, n, spans, degenerate reasons, provenance, batching."""

from __future__ import annotations

import shutil

import pytest

from local_augment.augmenters.backtranslation import (
    Backtranslation,
    Pivot,
    create,
    degenerate,
    repetition_loop,
)
from local_augment.augmenters.base import Context
from local_augment.config import Config
from local_augment.data.records import ALPACA, MESSAGES, Example
from local_augment.engines.manifest import load_manifest
from local_augment.engines.translator import Decode, Translator
from local_augment.errors import ModelError


class Scripted(Translator):
    """A translator whose output is a function of (text, k); records its calls."""

    engine = "scripted"

    def __init__(self, fn, decode=None):
        super().__init__(".", decode=decode or Decode())
        self.fn, self.calls = fn, []

    def load(self):
        return self

    def translate(self, texts, *, n=1):
        self.calls.append((list(texts), n))
        return [[self.fn(t, k) for k in range(n)] for t in texts]


def pivot(lang, fwd, bwd):
    info = lambda name: {"name": name, "checksum": "sha256:" + name[-5:], "engine": "scripted"}  # noqa: E731
    return Pivot(lang, Scripted(fwd), Scripted(bwd), info(f"opus-mt-en-{lang}"), info(f"opus-mt-{lang}-en"))


def ex(i, instruction, inp="", layout=ALPACA):
    if layout == ALPACA:
        row = {"instruction": instruction, "input": inp, "output": "The answer."}
    else:
        row = {"messages": [{"role": "user", "content": instruction},
                            {"role": "assistant", "content": "The answer."}]}
    return Example(id=f"e{i}", line=i, layout=layout, row=row)


def to_de(t, k):
    return "DE " + " ".join(w[::-1] for w in t.split())


def to_en(t, k):  # undo to_de, then vary the wording per k
    words = [w[::-1] for w in t.split()[1:]]
    return " ".join((["Kindly"] if k else ["Please"]) + words)


def make(cfg=None, pivots=None, **over):
    cfg = cfg or Config().backtranslation
    for k, v in over.items():
        setattr(cfg, k, v)
    return Backtranslation(cfg, pivots or [pivot("de", to_de, to_en)], seed=5)


def test_candidates_provenance_and_rows():
    aug = make(n=2)
    batch = [ex(1, "write a poem about {name} and https://x.io/a"), ex(2, "summarize the text", layout=MESSAGES)]
    cands = aug.generate(batch)
    assert len(cands) == 4
    assert [c.index for c in cands if c.source_id == "e1"] == [0, 1]
    assert len({c.id for c in cands}) == 4
    for c in cands:
        assert c.method == "backtranslation" and c.field == "instruction" and c.seed == 5
        assert c.params["pivot"] == "de" and c.params["engine"] == "scripted"
        assert c.params["decoding"] == "greedy" and c.params["n"] == 2
        assert c.model["name"] == "opus-mt-en-de+opus-mt-de-en"
        assert c.model["forward"]["checksum"] and c.model["backward"]["checksum"]
        assert c.reason is None, c.reason
        assert c.provenance()["method"] == "backtranslation"
    c = cands[0]
    assert "{name}" in c.text and "https://x.io/a" in c.text
    assert c.row["instruction"] == c.text and c.row["output"] == "The answer."
    m = cands[2]
    assert m.row["messages"][0]["content"] == m.text and m.row["messages"][1]["content"] == "The answer."


def test_one_call_per_direction_per_pivot_and_multiple_pivots():
    p_de, p_fr = pivot("de", to_de, to_en), pivot("fr", to_de, to_en)
    aug = make(pivots=[p_de, p_fr], n=3, fields=["instruction", "input"])
    batch = [ex(i, f"explain topic {i} well", inp="some context here" if i % 2 else "") for i in range(10)]
    cands = aug.generate(batch)
    for p in (p_de, p_fr):
        assert len(p.forward.calls) == 1 and len(p.backward.calls) == 1
        assert p.forward.calls[0][1] == 1 and p.backward.calls[0][1] == 3
    # 10 instructions + 5 inputs, 2 pivots, 3 outputs each
    assert len(cands) == 15 * 2 * 3
    per_source = {}
    for c in cands:
        per_source.setdefault(c.source_id, []).append(c.index)
    assert all(len(v) == len(set(v)) for v in per_source.values())
    assert {c.params["pivot"] for c in cands} == {"de", "fr"}
    assert {c.field for c in cands} == {"instruction", "input"}
    assert all(c.row["input"] == c.text for c in cands if c.field == "input")
    # identical segments are translated once
    assert len(p_de.forward.calls[0][0]) == len(set(p_de.forward.calls[0][0]))
    # the models the run records come from the pivots it opened
    assert aug.models() == {"translator en-de": "opus-mt-en-de", "translator de-en": "opus-mt-de-en",
                            "translator en-fr": "opus-mt-en-fr", "translator fr-en": "opus-mt-fr-en"}


def test_index_is_deterministic():
    batch = [ex(i, f"explain topic {i}") for i in range(3)]
    a = [(c.id, c.text) for c in make(n=2).generate(batch)]
    b = [(c.id, c.text) for c in make(n=2).generate(list(reversed(batch)))]
    assert sorted(a) == sorted(b)


def test_lines_and_code_blocks_kept():
    text = "fix this code:\n```py\nx = 1\n```\nthen explain it"
    c = make().generate([ex(1, text)])[0]
    assert "```py\nx = 1\n```" in c.text and c.text.count("\n") == text.count("\n")
    assert c.reason is None


def test_nothing_to_translate_gives_no_candidate():
    assert make().generate([ex(1, "`ls -la` 42"), ex(2, "   ")]) == []


@pytest.mark.parametrize("fwd,bwd,reason", [
    (to_de, lambda t, k: "", "empty_output"),
    (lambda t, k: t, lambda t, k: t, "untranslated_pivot"),
    (to_de, lambda t, k: "the the the the the the", "repetition_loop"),
    (to_de, lambda t, k: "Please " + " ".join(f"w{chr(97 + i)}x" for i in range(26)), "length_explosion:"),
    (to_de, lambda t, k: "Please write it", "lost_span:{{order_id}}"),
    (to_de, lambda t, k: "write the note for QZ0 now", "identical_to_source"),
])
def test_degenerate_reasons(fwd, bwd, reason):
    c = make(pivots=[pivot("de", fwd, bwd)]).generate([ex(1, "write the note for {{order_id}} now")])[0]
    assert c.reason is not None and c.reason.startswith(reason), c.reason
    assert c.raw is not None  # the pivot text, for inspection


def test_degenerate_helpers():
    assert repetition_loop("a b c a b c a b c a b c")
    assert not repetition_loop("Please explain how the heart pumps blood through the body.")
    assert degenerate("Say hi", "Say hi", "Sag hallo", "Say hello", [], 3.0) is None
    assert degenerate("Hi", "Hi", "Hallo", "Hello there my good friend", [], 3.0).startswith("length_explosion:")


# -- real tiny models -----------------------------------------------------------------------------

def ctx_for(manifest, **bt):
    cfg = Config()
    for k, v in bt.items():
        setattr(cfg.backtranslation, k, v)
    return Context(config=cfg, manifest=manifest, seed=3)


@pytest.mark.parametrize("engine", ["ctranslate2", "transformers"])
def test_real_models_two_pivots(tiny_manifest, engine):
    aug = create(ctx_for(tiny_manifest, pivots=["de", "fr"], engine=engine, max_length=12, n=2,
                         decoding="beam", beam_size=2))
    aug.load()
    batch = [ex(i, t) for i, t in enumerate(["Explain the code.", "Write a short story about {name}."])]
    cands = aug.generate(batch)
    aug.unload()
    assert len(cands) == 2 * 2 * 2
    for c in cands:
        assert c.params["engine"] == engine and c.params["decoding"] == "beam"
        assert c.params["beam_size"] == 2 and c.model["engine"] == engine
        assert c.model["forward"]["name"] == f"opus-mt-en-{c.params['pivot']}"
        assert c.model["backward"]["checksum"] == tiny_manifest.checksum(
            tiny_manifest.get(f"opus-mt-{c.params['pivot']}-en"))
        assert c.reason is None or c.reason.split(":")[0] in {
            "empty_output", "untranslated_pivot", "repetition_loop", "length_explosion",
            "lost_span", "identical_to_source"}
    # random weights lose the placeholder: rejected, never silently dropped
    lost = [c for c in cands if c.source_id == "e1"]
    assert all(c.reason for c in lost if "{name}" not in c.text)
    assert aug.describe()["pivots"]["fr"]["engine"] == engine


def test_greedy_same_candidates_on_both_engines(tiny_manifest):
    batch = [ex(i, t) for i, t in enumerate(["Explain the code.", "List three reasons why."])]
    out = {}
    for engine in ("ctranslate2", "transformers"):
        aug = create(ctx_for(tiny_manifest, engine=engine, max_length=10, compute_type="float32"))
        out[engine] = [(c.id, c.text) for c in aug.generate(batch)]
    assert out["ctranslate2"] == out["transformers"]


def test_missing_pivot_models(tiny_manifest, tmp_path):
    with pytest.raises(ModelError, match=r"pivot 'ru'.*opus-mt-en-ru"):
        create(ctx_for(tiny_manifest, pivots=["de", "ru"]))
    root = tmp_path / "models"
    shutil.copytree(tiny_manifest.root, root, symlinks=True,
                    ignore=shutil.ignore_patterns("opus-mt-fr-en*"))
    with pytest.raises(ModelError, match=r"opus-mt-fr-en .*not installed.*install it with `"):
        create(ctx_for(load_manifest(root), pivots=["fr"]))


def test_registry_turns_missing_pivot_into_notice(tiny_manifest):
    from local_augment.augmenters import build_augmenters

    ctx = ctx_for(tiny_manifest, pivots=["ru"])
    built, notices = build_augmenters(ctx, ["backtranslation"], explicit=False)
    assert built == [] and "opus-mt-en-ru" in notices[0]
    with pytest.raises(ModelError):
        build_augmenters(ctx, ["backtranslation"], explicit=True)


def test_end_to_end_through_pipeline(tiny_marian_dir, tmp_path):
    """backtranslation through read -> generate -> QC -> dedup -> mix -> write (real MiniLM)."""
    import json

    from local_augment.run import pipeline

    if not (tiny_marian_dir / "manifest.toml").read_text().count('role = "embedder"'):
        pytest.skip("the real embedder is not installed")
    data = tmp_path / "train.jsonl"
    texts = ["Explain the code.", "Write a short story about {name}.", "List three reasons why.",
             "Summarize this table in 2 lines.", "What is the customer name?"]
    data.write_text("".join(json.dumps({"id": f"r{i}", "instruction": t, "input": "",
                                        "output": "An answer."}) + "\n" for i, t in enumerate(texts)))
    cfg = Config()
    cfg.run.models_dir = tiny_marian_dir
    cfg.backtranslation.pivots = ["de", "fr"]
    cfg.backtranslation.max_length = 12
    res = pipeline.run(cfg, data, tmp_path / "out", methods=["backtranslation"])
    out = tmp_path / "out"
    rows = [json.loads(x) for x in (out / "augmented.jsonl").read_text().splitlines()]
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    bt = [r for r in rows + rejected if r.get("_provenance", {}).get("method") == "backtranslation"]
    assert len(bt) == len(texts) * 2  # one candidate per text and pivot, kept or rejected
    for r in bt:
        prov = r["_provenance"]
        assert prov["params"]["pivot"] in {"de", "fr"} and prov["params"]["engine"] == "ctranslate2"
        assert prov["model"]["forward"]["checksum"].startswith("sha256:")
        assert r.get("row", r)["output"] == "An answer."  # outputs are never translated
    assert all(r["reason"] for r in rejected)
    assert res.report["counts"]["originals"] == len(texts)


@pytest.mark.models
def test_rerun_with_other_qc_reuses_cached_translations(tiny_marian_dir, tmp_path):
    """A changed QC window redoes the shards but not the model calls (model-output cache)."""
    import json

    from local_augment.run import pipeline

    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"instruction": t, "output": "An answer."}) + "\n"
                            for t in ["Explain the code.", "List three reasons why."]))
    cfg = Config()
    cfg.run.models_dir = tiny_marian_dir
    cfg.backtranslation.max_length = 12
    first = pipeline.run(cfg, data, tmp_path / "out", methods=["backtranslation"])
    assert first.report["model_cache"]["misses"] > 0
    cfg.qc.similarity_min = 0.1
    second = pipeline.run(cfg, data, tmp_path / "out", methods=["backtranslation"])
    assert second.report["model_cache"] == {"hits": first.report["model_cache"]["misses"],
                                            "misses": 0}
    third = pipeline.run(cfg, data, tmp_path / "out", methods=["backtranslation"], fresh=True)
    assert third.report["model_cache"]["hits"] == 0


def test_pivots_and_samples_that_agree_make_one_candidate():
    """Two pivots giving the same English (and n=3 with two distinct wordings): every text is
    offered once; the repeats are accounted for as `same_as_sibling`."""
    aug = make(pivots=[pivot("de", to_de, to_en), pivot("fr", to_de, to_en)], n=3)
    cands = aug.generate([ex(1, "explain the topic well")])
    assert len(cands) == 6
    offered = [c.text for c in cands if c.reason is None]
    assert len(offered) == len(set(offered)) == 2  # "Please …" and "Kindly …"
    assert {c.reason for c in cands if c.reason} == {"same_as_sibling"}
