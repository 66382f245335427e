"""The contamination guard: eval-set reading, each match kind on the real MiniLM and real FAISS,
the augment integration (local and Ray give the same files), `decontaminate` and
`--drop-contaminated`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from local_augment.config import load_config
from local_augment.data.eval_sets import read_eval_set, read_eval_sets
from local_augment.errors import UserError
from local_augment.quality.contamination import ContaminationGuard, tokens

LONG = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
        "in May. How many clips did Natalia sell altogether in April and May?")
SHORT = "What is the boiling point of water at sea level?"  # 10 tokens: under n = 13
TINY = "Define entropy."
REWORDED = "At sea level, at what temperature does water start to boil?"
UNRELATED = "At what temperature should I bake a loaf of sourdough bread?"


def _jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


# ---- eval-set reading ---------------------------------------------------------------------------

def test_reads_every_format(tmp_path):
    alpaca = read_eval_set(_jsonl(tmp_path / "gsm.jsonl", [
        {"id": "q1", "instruction": "Add the numbers.", "input": "2 and 3"},
        {"instruction": "Name a colour."}]))
    assert alpaca.name == "gsm" and alpaca.ids == ["q1", "2"]
    assert alpaca.prompts == ["Add the numbers.\n\n2 and 3", "Name a colour."]

    chat = read_eval_set(_jsonl(tmp_path / "chat.jsonl", [{"id": "c", "messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi, who are you?"},
        {"role": "assistant", "content": "A bot."}, {"role": "user", "content": "What can you do?"}]}]))
    assert chat.ids == ["c", "c.1"] and chat.prompts == ["Hi, who are you?", "What can you do?"]

    other = read_eval_set(_jsonl(tmp_path / "mmlu.jsonl", [{"question": "Why is the sky blue?"},
                                                           {"prompt": "Count to ten."}]))
    assert other.prompts == ["Why is the sky blue?", "Count to ten."]

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{"instruction": "Sort the list.", "input": ""},
                                         {"instruction": "Reverse a string.", "input": "abc"}]),
                   tmp_path / "pq.parquet")
    pqs = read_eval_set(tmp_path / "pq.parquet")
    assert pqs.ids == ["1", "2"] and pqs.prompts == ["Sort the list.", "Reverse a string.\n\nabc"]

    (tmp_path / "plain.txt").write_text("\ufeffFirst prompt\n\n  Second prompt  \n")
    plain = read_eval_set(tmp_path / "plain.txt")
    assert plain.ids == ["1", "3"] and plain.prompts == ["First prompt", "Second prompt"]


@pytest.mark.parametrize(("lines", "message"), [
    (['{"instruction": "ok"}', '{"instruction": "broken"'], "bad.jsonl:2: malformed JSON"),
    (['{"answer": "no prompt"}'], 'bad.jsonl:1: no prompt found'),
    (['{"messages": [{"role": "assistant", "content": "x"}]}'], "bad.jsonl:1: no non-empty user"),
    (['{"instruction": 3}'], 'bad.jsonl:1: "instruction" and "input" must be strings'),
    (['{"id": 1, "instruction": "a"}', '{"id": 1, "instruction": "b"}'], "duplicate eval id"),
    ([""], "has no prompts"),
])
def test_bad_eval_sets_are_clear_errors(tmp_path, lines, message):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        read_eval_set(path)


def test_set_names_must_differ(tmp_path):
    (tmp_path / "a").mkdir()
    for p in (tmp_path / "ev.txt", tmp_path / "a" / "ev.jsonl"):
        p.write_text("x\n" if p.suffix == ".txt" else '{"prompt": "y"}\n')
    with pytest.raises(UserError, match="already used"):
        read_eval_sets([tmp_path / "ev.txt", tmp_path / "a" / "ev.jsonl"])
    with pytest.raises(UserError, match="not found"):
        read_eval_sets([tmp_path / "missing.txt"])


# ---- the guard on the real embedder and FAISS ---------------------------------------------------

@pytest.fixture(scope="module")
def guard(tmp_path_factory, embedder):
    path = tmp_path_factory.mktemp("ev") / "bench.txt"
    path.write_text("\n".join([LONG, SHORT, TINY, "Explain how a hash map handles collisions."]))
    return ContaminationGuard(read_eval_sets([path]), embedder.encode)


def test_tokens_ignore_case_and_punctuation():
    assert tokens("Hello,   WORLD!! it's 3.5") == ["hello", "world", "it", "s", "3", "5"]


def test_ngram_match_survives_edits_and_wrapping(guard):
    edited = LONG.upper().replace(",", "").replace("ALTOGETHER", "IN TOTAL")  # case, punct, a word
    wrapped = f"Solve this word problem step by step: {LONG} Show your work."
    hits = guard.check([LONG, edited, wrapped])
    assert [h.kind for h in hits] == ["ngram"] * 3
    assert {h.set_name for h in hits} == {"bench"} and {h.eval_id for h in hits} == {"1"}
    assert hits[0].score == 1.0 and 0 < hits[1].score < 1.0
    assert hits[2].reason == "eval_contamination:bench:1:ngram:1.00"


def test_short_prompt_matches_on_all_its_tokens(guard):
    inside = f"Quick question for you: {SHORT.lower()} Thanks!"
    hits = guard.ngram_hits([inside, "What is the boiling point of milk at sea level?",
                             TINY, f"{TINY} Then give an example.", "define ENTROPY"])
    assert hits[0] is not None and (hits[0].eval_id, hits[0].score) == ("2", 1.0)
    assert hits[1] is None  # one word differs: no n-gram match (the embedding check may see it)
    # a prompt under eval_min_tokens matches only a row that is exactly it
    assert hits[2] is not None and hits[2].eval_id == "3"
    assert hits[3] is None and hits[4] is not None


def test_embedding_catches_a_rewording_not_a_neighbour(guard):
    hits = guard.check([REWORDED, UNRELATED, "Can you explain how collisions are handled by a "
                        "hash map?"])
    assert hits[0] is not None and hits[0].kind == "embedding" and hits[0].eval_id == "2"
    assert hits[0].score >= guard.threshold
    assert hits[0].reason.startswith("eval_contamination:bench:2:embedding:0.")
    assert hits[1] is None
    assert hits[2] is not None and hits[2].eval_id == "4"


def test_row_vectors_prefilter_the_embedding_check(guard, embedder):
    texts = [REWORDED, UNRELATED]
    prompts = embedder.encode(texts)
    outputs = embedder.encode(["Water boils at 100 degrees Celsius at sea level.",
                               "Bake it at about 230 °C for 40 minutes."])
    rows = prompts + outputs
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    before = guard.timings["prefiltered_rows"]
    hits = guard.check(texts, rows)
    assert hits[0] is not None and hits[0].kind == "embedding" and hits[1] is None
    far = -rows  # a row vector far from every eval prompt is never encoded
    assert guard.check(texts, far) == [None, None]
    assert guard.timings["prefiltered_rows"] - before <= 2


def test_ivf_index_above_exact_max(embedder, tmp_path):
    path = tmp_path / "many.txt"
    path.write_text("\n".join([SHORT] + [f"Tell me fact number {i} about the planet number {i % 9}"
                                         for i in range(400)]))
    g = ContaminationGuard(read_eval_sets([path]), embedder.encode, exact_max=100, nprobe=64)
    assert g.index_kind.startswith("ivf")
    hit = g.check([REWORDED])[0]
    assert hit is not None and hit.kind == "embedding" and hit.eval_id == "1"


# ---- in a run, and alone ------------------------------------------------------------------------

TRAIN = [
    {"id": "t1", "instruction": "How do I reset my password if I no longer have access to my "
     "recovery e-mail?", "input": "", "output": "Use the account recovery form and verify your "
     "identity with a recent invoice; support then sets a new recovery address."},
    {"id": "t2", "instruction": "Explain how a hash map handles collisions.", "input": "",
     "output": "Colliding keys share a bucket, kept as a chain or probed to the next free slot."},
    {"id": "t3", "instruction": "What does a load balancer do in a web application?", "input": "",
     "output": "It spreads incoming requests over several servers so none is overloaded."},
    {"id": "t4", "instruction": "Why is my monthly invoice higher than usual?", "input": "",
     "output": "Usually extra seats or a plan change mid-cycle; the invoice lists each item."},
    {"id": "t5", "instruction": "List three benefits of unit testing.", "input": "",
     "output": "Tests catch regressions early, document behaviour and make refactoring safer."},
]
EVAL = ["How do I reset my password if I no longer have access to my recovery e-mail?",
        "Can you explain how collisions are handled by a hash map?"]


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    data = _jsonl(tmp_path / "train.jsonl", [*TRAIN, '{"instruction": 42}'])
    ev = tmp_path / "heldout.txt"
    ev.write_text("\n".join(EVAL) + "\n")
    return data, ev


def _read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _augment(tmp_path, data, ev, out, drop=False, executor=None):
    from local_augment.run.pipeline import run

    cfg = load_config(overrides={"qc.fluency": False, "qc.eval_sets": [str(ev)],
                                 "qc.drop_contaminated": drop, "run.shard_size": 2})
    return run(cfg, data, out, methods=["templates"], executor=executor)


def _check_run(out: Path, dropped: bool) -> None:
    contaminated = {r["id"]: r for r in _read(out / "contaminated.jsonl")}
    assert set(contaminated) == {"t1", "t2"}
    assert contaminated["t1"]["kind"] == "ngram" and contaminated["t2"]["kind"] == "embedding"
    assert contaminated["t2"]["eval_id"] == "2" and contaminated["t2"]["set"] == "heldout"
    assert all(r["dropped"] is dropped for r in contaminated.values())
    rows = _read(out / "augmented.jsonl")
    rejects = _read(out / "rejected.jsonl")
    # no variant of a contaminated original is kept; each says why
    assert not [r for r in rows if r["_provenance"].get("source_id") in contaminated]
    theirs = [r for r in rejects if r.get("source_id") in contaminated]
    assert theirs and all(r["reason"].split(":")[0] in ("eval_contamination",
                                                         "contaminated_source") for r in theirs)
    origs = {r["_provenance"]["id"] for r in rows if r["_provenance"]["method"] == "original"}
    gone = {r["id"]: r["reason"] for r in rejects if r.get("id") in contaminated}
    if dropped:
        assert origs == {"t3", "t4", "t5"}
        assert gone["t1"].startswith("eval_contamination:heldout:1:ngram:1.00")
        assert gone["t2"].startswith("eval_contamination:heldout:2:embedding:")
    else:
        assert origs == {f"t{i}" for i in range(1, 6)} and not gone
    report = json.loads((out / "report.json").read_text())
    c = report["contamination"]
    assert c["originals"] == 2 and c["sets"] == {"heldout": 2}
    assert c["dropped_originals"] == (2 if dropped else 0)
    assert report["counts"]["dropped_originals"] == (2 if dropped else 0)
    assert "Eval-set contamination" in (out / "report.html").read_text()


@pytest.mark.models
def test_augment_keeps_lists_and_rejects_variants(tmp_path):
    data, ev = _setup(tmp_path)
    _augment(tmp_path, data, ev, tmp_path / "out")
    _check_run(tmp_path / "out", dropped=False)


@pytest.mark.models
def test_augment_drop_contaminated(tmp_path):
    data, ev = _setup(tmp_path)
    _augment(tmp_path, data, ev, tmp_path / "out", drop=True)
    _check_run(tmp_path / "out", dropped=True)


@pytest.mark.models
def test_ray_executor_gives_the_same_files(tmp_path):
    pytest.importorskip("ray.data")
    import ray

    from local_augment.executors.ray import RayExecutor, local_ray_kwargs

    data, ev = _setup(tmp_path)
    _augment(tmp_path, data, ev, tmp_path / "local")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, **local_ray_kwargs(Path(__file__).resolve().parents[2] / ".cache" / "rt"))
    try:
        _augment(tmp_path, data, ev, tmp_path / "ray", executor=RayExecutor(window_shards=2))
    finally:
        if started:
            ray.shutdown()
    for name in ("augmented.jsonl", "rejected.jsonl", "contaminated.jsonl"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


@pytest.mark.models
@pytest.mark.parametrize("drop", [False, True])
def test_decontaminate_cli(tmp_path, drop):
    from click.testing import CliRunner

    from local_augment.cli import cli

    data, ev = _setup(tmp_path)
    chat = _jsonl(tmp_path / "chat.jsonl", [{"id": "c1", "messages": [
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "List three benefits of unit testing."}]}])
    out = tmp_path / "out"
    args = ["decontaminate", str(data), "--eval-set", str(ev), "--eval-set", str(chat),
            "--output-dir", str(out)] + (["--drop-contaminated"] if drop else [])
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "3 original(s) match an eval prompt" in result.output
    found = {r["id"]: (r["set"], r["eval_id"], r["kind"]) for r in
             _read(out / "contaminated.jsonl")}
    assert found == {"t1": ("heldout", "1", "ngram"), "t2": ("heldout", "2", "embedding"),
                     "t5": ("chat", "c1.1", "ngram")}
    clean = [r["id"] for r in _read(out / "clean.jsonl")]
    assert clean == (["t3", "t4"] if drop else [f"t{i}" for i in range(1, 6)])
    reasons = [r["reason"] for r in _read(out / "rejected.jsonl")]
    assert reasons[0].startswith("bad_input:line 6: ")
    assert len(reasons) == (4 if drop else 1)
    report = json.loads((out / "report.json").read_text())
    assert report["counts"]["contaminated_originals"] == 3
    assert report["contamination"]["originals_per_set"] == {"heldout": {"ngram": 1,
                                                                        "embedding": 1},
                                                            "chat": {"ngram": 1}}
    assert "Eval-set contamination" in (out / "report.html").read_text()


def test_decontaminate_needs_an_eval_set(tmp_path):
    from click.testing import CliRunner

    from local_augment.cli import cli

    data, _ = _setup(tmp_path)
    result = CliRunner().invoke(cli, ["decontaminate", str(data), "-o", str(tmp_path / "o")])
    assert result.exit_code == 1 and "no eval set" in result.output


def test_variant_verdicts():
    from local_augment.data.records import Candidate
    from local_augment.quality.contamination import Hit
    from local_augment.quality.guard import variant_verdict

    def cand(source: str, index: int) -> Candidate:
        return Candidate(source, "templates", index, {}, "instruction", "x", "y")

    hit = Hit("gsm", "q7", "embedding", 0.8312, "eval text")
    own = {cand("a", 0).id: hit}
    assert variant_verdict(cand("a", 0), own, {}) == "eval_contamination:gsm:q7:embedding:0.83"
    assert variant_verdict(cand("b", 1), {}, {"b": hit}) == "contaminated_source:b"
    assert variant_verdict(cand("c", 2), own, {"b": hit}) is None
