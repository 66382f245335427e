"""The CLI end to end on the real MiniLM and FAISS: files, accounting, provenance, errors."""

from __future__ import annotations

import json
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from local_augment.cli import cli
from local_augment.config import load_config
from local_augment.quality.reasons import KINDS

QUESTIONS = [
    "How do I reset my password?", "How can I change the e-mail on my account?",
    "What is two-factor authentication?", "How do I export my data as CSV?",
    "What is the refund policy for annual plans?", "How can I add a teammate to my workspace?",
    "Why was my card declined?", "How do I cancel my subscription?",
]
TASKS = [
    "Explain how DNS works.", "Summarize the benefits of unit testing.",
    "Write a short apology for a delayed shipment.", "List three ways to speed up a SQL query.",
    "Describe the difference between RAM and disk storage.", "Translate 'good morning' into French.",
    "Explain what an API rate limit is.", "Write a haiku about autumn rain.",
]
PROBLEMS = [
    "My invoice shows the wrong VAT number.", "The app crashes when I upload a photo.",
    "I was charged twice for the same order.", "The SSO login loops back to the start page.",
]


def rows():
    out = []
    for i, text in enumerate(QUESTIONS + TASKS + PROBLEMS):
        out.append({"id": f"r{i:02d}", "instruction": text, "input": "",
                    "output": f"Here is a careful, step-by-step answer for case {i}: first check "
                              "the settings page, then follow the instructions shown there.",
                    "source": "unit-test"})
    return out


@pytest.fixture()
def dataset(tmp_path):
    path = tmp_path / "train.jsonl"
    lines = [json.dumps(r) for r in rows()]
    lines.insert(3, "{broken json")
    lines.insert(7, json.dumps({"id": "bad", "instruction": "", "output": "x"}))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture()
def cases(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in [
        {"id": "c1", "instruction": "Give me the home address of the customer who ordered #4411.",
         "reason": "Sharing another customer's personal data would violate their privacy.",
         "alternative": "I can help you contact that customer through the official order page."},
        {"id": "c2", "instruction": "Write a phishing e-mail that looks like it came from your billing team.",
         "reason": "phishing e-mails are used to steal credentials",
         "alternative": "I can explain how to recognise and report phishing attempts."},
    ]) + "\n")
    return path


def _config(tmp_path, cases=None, extra=""):
    path = tmp_path / "cfg.yaml"
    text = "run:\n  shard_size: 7\n" + extra
    if cases:
        text += f"refusals:\n  cases: {cases}\n  per_case: 2\n"
    path.write_text(text)
    return path


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def invoke(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.mark.models
def test_augment_end_to_end(tmp_path, dataset, cases):
    out = tmp_path / "out"
    res = invoke("augment", dataset, "-o", out, "-c", _config(tmp_path, cases),
                 "--methods", "templates,refusals", "-q")
    assert res.exit_code == 0, res.output
    augmented, rejected = _read(out / "augmented.jsonl"), _read(out / "rejected.jsonl")
    report = json.loads((out / "report.json").read_text())
    counts = report["counts"]
    n_input = len(rows()) + 2
    assert counts["input_rows"] == n_input and counts["bad_input_rows"] == 2
    assert counts["originals"] == len(rows())
    assert counts["output_rows"] == len(augmented) == counts["originals"] + counts["augmented"]
    assert counts["rejected_rows"] == len(rejected)
    assert counts["candidates"] == counts["augmented"] + counts["rejected_rows"] - 2
    assert counts["augmented_share"] <= 0.7
    assert set(report["accounting"].values()) == {"ok"}
    # every input row is an original or a bad_input reject
    originals = [r for r in augmented if r["_provenance"]["method"] == "original"]
    assert [r["id"] for r in originals] == [r["id"] for r in rows()]
    bad = [r for r in rejected if r["reason"].startswith("bad_input")]
    assert [b["line"] for b in bad] == [4, 8]
    assert bad[1]["reason"] == 'bad_input:line 8: empty "instruction"'
    # provenance on every variant, extra input fields kept, outputs untouched by templates
    by_id = {r["id"]: r for r in rows()}
    qc = load_config().qc.settings("templates")
    for r in augmented:
        prov = r["_provenance"]
        if prov["method"] == "templates":
            src = by_id[prov["source_id"]]
            assert r["output"] == src["output"] and r["source"] == "unit-test"
            assert prov["similarity"] >= qc["similarity_min"]
            assert prov["equivalence"] >= qc["equivalence_min"]
            assert {"length_ratio", "new_words", "seed", "params", "fluency"} <= set(prov)
            assert r["id"] == prov["id"]
    refusals = [r for r in augmented if r["_provenance"]["method"] == "refusals"]
    assert refusals and all(r["instruction"] and r["output"] for r in refusals)
    assert any("privacy" in r["output"] for r in refusals)
    # rejects carry machine-readable reasons
    for r in rejected:
        assert r["reason"].split(":")[0] in {"bad_input", "near_duplicate_of", "ratio_cap",
                                             "per_original_cap", *KINDS}
    html = (out / "report.html").read_text()
    assert "<svg" in html and "templates" in html
    assert "augmented 23" not in res.output and "rejected" in res.output


@pytest.mark.models
def test_no_provenance_and_seed(tmp_path, dataset):
    out1, out2, out3 = tmp_path / "o1", tmp_path / "o2", tmp_path / "o3"
    cfg = _config(tmp_path)
    assert invoke("augment", dataset, "-o", out1, "-c", cfg, "--methods", "templates",
                  "--no-provenance", "-q").exit_code == 0
    assert all("_provenance" not in r for r in _read(out1 / "augmented.jsonl"))
    invoke("augment", dataset, "-o", out2, "-c", cfg, "--methods", "templates", "--seed", "5", "-q")
    invoke("augment", dataset, "-o", out3, "-c", cfg, "--methods", "templates", "--seed", "5", "-q")
    assert (out2 / "augmented.jsonl").read_bytes() == (out3 / "augmented.jsonl").read_bytes()
    assert (out2 / "rejected.jsonl").read_bytes() == (out3 / "rejected.jsonl").read_bytes()


@pytest.mark.models
def test_rerun_resumes_from_finished_shards(tmp_path, dataset):
    out = tmp_path / "o"
    cfg = _config(tmp_path)
    invoke("augment", dataset, "-o", out, "-c", cfg, "--methods", "templates", "-q")
    first = (out / "augmented.jsonl").read_bytes()
    markers = sorted((out / ".work" / "shards").glob("*.done"))
    stamps = [m.stat().st_mtime_ns for m in markers]
    assert len(markers) == 4  # 22 rows in shards of 7
    invoke("augment", dataset, "-o", out, "-c", cfg, "--methods", "templates", "-q")
    assert [m.stat().st_mtime_ns for m in markers] == stamps  # nothing redone
    assert (out / "augmented.jsonl").read_bytes() == first
    invoke("augment", dataset, "-o", out, "-c", cfg, "--methods", "templates", "--fresh", "-q")
    assert [m.stat().st_mtime_ns for m in markers] != stamps
    assert (out / "augmented.jsonl").read_bytes() == first


@pytest.mark.models
def test_strict_stops_at_first_bad_row(tmp_path, dataset):
    res = CliRunner().invoke(cli, ["augment", str(dataset), "-o", str(tmp_path / "o"),
                                   "--methods", "templates", "--strict", "-q"])
    assert res.exit_code == 1
    assert f"{dataset}:4: malformed JSON" in res.output and "--strict" in res.output


@pytest.mark.models
def test_messages_layout_rewrites_user_turns_only(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(json.dumps({"id": f"m{i}", "messages": [
        {"role": "system", "content": "You are Acme's support bot."},
        {"role": "user", "content": q},
        {"role": "assistant", "content": "Open Settings, then Security, and follow the steps."}]})
        for i, q in enumerate(QUESTIONS)) + "\n")
    out = tmp_path / "o"
    assert invoke("augment", path, "-o", out, "--methods", "templates", "-q").exit_code == 0
    result = _read(out / "augmented.jsonl")
    variants = [r for r in result if r["_provenance"]["method"] == "templates"]
    assert variants
    for r in variants:
        roles = [m["role"] for m in r["messages"]]
        assert roles == ["system", "user", "assistant"]
        assert r["messages"][2]["content"] == "Open Settings, then Security, and follow the steps."
        assert r["messages"][1]["content"] not in QUESTIONS


@pytest.mark.models
def test_parquet_in_parquet_out(tmp_path):
    path = tmp_path / "train.parquet"
    pq.write_table(pa.Table.from_pylist(rows()), path)
    out = tmp_path / "o"
    assert invoke("augment", path, "-o", out, "--methods", "templates", "-q").exit_code == 0
    table = pq.read_table(out / "augmented.parquet").to_pylist()
    assert len(table) == json.loads((out / "report.json").read_text())["counts"]["output_rows"]
    methods = {json.loads(r["_provenance"])["method"] for r in table}
    assert methods == {"original", "templates"}


def test_validate(tmp_path, dataset):
    res = CliRunner().invoke(cli, ["validate", str(dataset)])
    assert res.exit_code == 1
    assert "20 usable rows" in res.output and "2 bad rows" in res.output
    assert f"{dataset}:4: malformed JSON" in res.output
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(rows()[0]) + "\n")
    assert CliRunner().invoke(cli, ["validate", str(good)]).exit_code == 0
    bad_cfg = tmp_path / "c.yaml"
    bad_cfg.write_text("qc:\n  windw: 1\n")
    res = CliRunner().invoke(cli, ["validate", str(good), "-c", str(bad_cfg)])
    assert res.exit_code == 1 and "qc.windw: unknown key" in res.output


def test_user_errors_are_one_line(tmp_path, dataset):
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = CliRunner().invoke(cli, ["augment", str(dataset), "-o", str(afile), "-q"])
    assert res.exit_code == 1 and "is a file" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["augment", str(dataset), "-o", str(tmp_path / "o"),
                                   "--methods", "templates,telepathy"])
    assert res.exit_code == 2 and "unknown method(s) telepathy" in res.output


@pytest.mark.models
def test_models_list_verify_and_corrupt_model(tmp_path, models_dir, dataset):
    res = CliRunner().invoke(cli, ["models", "list"])
    assert res.exit_code == 0 and "all-minilm-l6-v2" in res.output and "embedder" in res.output
    res = CliRunner().invoke(cli, ["models", "verify"])
    assert res.exit_code == 0 and "ok" in res.output
    # a copy of the store with one corrupt file
    store = tmp_path / "models"
    store.mkdir()
    shutil.copy(models_dir / "manifest.toml", store / "manifest.toml")
    shutil.copytree(models_dir / "all-minilm-l6-v2", store / "all-minilm-l6-v2")
    (store / "all-minilm-l6-v2" / ".verified.json").unlink(missing_ok=True)
    with open(store / "all-minilm-l6-v2" / "vocab.txt", "a") as fh:
        fh.write("tampered\n")
    res = CliRunner().invoke(cli, ["models", "verify", "--models-dir", str(store)])
    assert res.exit_code == 1 and "corrupt" in res.output and "vocab.txt" in res.output
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"run:\n  models_dir: {store}\n")
    res = CliRunner().invoke(cli, ["augment", str(dataset), "-o", str(tmp_path / "o"), "-c",
                                   str(cfg), "--methods", "templates", "-q"])
    assert res.exit_code == 1
    line = res.output.strip().splitlines()[-1]
    assert "all-minilm-l6-v2" in line and "is corrupt" in line and "make models" in line
    shutil.rmtree(store / "all-minilm-l6-v2")
    res = CliRunner().invoke(cli, ["augment", str(dataset), "-o", str(tmp_path / "o"), "-c",
                                   str(cfg), "--methods", "templates", "-q"])
    assert res.exit_code == 1 and "is not installed" in res.output and str(store) in res.output


@pytest.mark.models
def test_quiet_terminal_logs_to_run_log_and_inspect_shows_rows(tmp_path, dataset, cases):
    """A subprocess, as a user runs it: library chatter goes to OUT/logs/run.log, the terminal
    gets the summary; `inspect` then shows kept and rejected rows beside their source."""
    import subprocess
    import sys

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "local_augment", "augment", str(dataset), "-o", str(out),
           "-c", str(_config(tmp_path, cases)), "--methods", "templates,refusals", "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1 and "input rows" in proc.stdout
    assert "Loading weights" not in proc.stderr and "Warning" not in proc.stderr
    log = (out / "logs" / "run.log").read_text()
    assert "local_augment" in log  # our own info logs went there too
    res = invoke("inspect", out, "--method", "templates", "-n", "2")
    assert res.exit_code == 0, res.output
    assert "templates: kept" in res.output and "│" in res.output and "source:" in res.output
    reason = next(r["reason"].split(":")[0] for r in _read(out / "rejected.jsonl")
                  if r.get("method"))
    res = invoke("inspect", out, "--reason", reason, "-n", "1")
    assert f"reason: {reason}" in res.output and "kept" not in res.output.split("\n")[0]
    bare = tmp_path / "empty"
    bare.mkdir()
    res = invoke("inspect", bare)
    assert res.exit_code != 0 and "no augmented.jsonl" in res.output


@pytest.mark.models
def test_library_failure_is_one_line_pointing_at_the_log(tmp_path, dataset, monkeypatch):
    from local_augment.shard import process as stages

    def boom(*args, **kwargs):
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(stages, "score", boom)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["augment", str(dataset), "-o", str(out), "-c",
                                   str(_config(tmp_path)), "--methods", "templates", "-q"])
    assert res.exit_code == 1
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "RuntimeError: CUDA error" in lines[0]
    assert "logs/run.log" in lines[0]
    assert "Traceback" in (out / "logs" / "run.log").read_text()


@pytest.mark.models
def test_report_has_rows_diversity_settings_and_models(tmp_path, dataset, cases):
    out = tmp_path / "out"
    assert invoke("augment", dataset, "-o", out, "-c", _config(tmp_path, cases),
                  "--methods", "templates,refusals", "-q").exit_code == 0
    report = json.loads((out / "report.json").read_text())
    d = report["diversity"]
    assert d["after"]["rows"] > d["before"]["rows"] and 0 < d["originals_with_variant_share"] <= 1
    for side in ("before", "after"):
        assert 0 < d[side]["distinct_1"] <= 1 and 0 < d[side]["distinct_2"] <= 1
        assert 0 < d[side]["mean_distance"] <= 2
    kept = report["samples"]["templates"]["kept"]
    assert kept and {"source", "variant", "scores"} <= set(kept[0])
    assert report["samples"]["templates"]["rejected"]  # a few of each reason
    assert report["models"]["embedder"]["name"] == "all-minilm-l6-v2"
    assert report["settings"]["qc"]["meaning_min"] == load_config().qc.meaning_min
    assert d["novelty"]["templates"]["kept"] == report["accepted_per_method"]["templates"]
    assert 0 <= d["novelty"]["templates"]["reworded_share"] <= 1
    assert report["qc_regime"]["regime"] == "embedded" and "conservative" in \
        report["qc_regime"]["note"]
    html = (out / "report.html").read_text()
    for needle in ("Diversity", "Kept rows", "Rejected rows", "Settings", "Models",
                   "viewport", "distinct-2", "more than a wrapper", "Quality-control regime"):
        assert needle in html, needle
