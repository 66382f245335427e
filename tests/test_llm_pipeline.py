"""LLM methods through the whole pipeline on a real vLLM server serving the real SmolLM2.

Covers the rows flowing through QC, dedup and the mix, LLM-written refusal fields, the model-output
cache, and a server that dies mid-run: a clear stop, finished shards kept, a rerun that resumes.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from local_augment.config import load_config
from local_augment.errors import UserError
from local_augment.run import pipeline

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
pytestmark = pytest.mark.slow


def _subset(tmp_path: Path, n: int) -> Path:
    lines = (EXAMPLES / "train.jsonl").read_text().splitlines()[:n]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cfg(base_url: str, **over):
    values = {"llm.engine": "server", "llm.base_url": base_url, "llm.max_tokens": 96,
              "llm.retries": 1, "llm.timeout_s": 60, "run.shard_size": 4, "paraphrase.n": 2,
              "refusals.cases": str(EXAMPLES / "refusal_cases_partial.jsonl"),
              "refusals.mode": "llm", "refusals.per_case": 2}
    values.update(over)
    return load_config(overrides=values)


def _read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_llm_methods_flow_through_qc_dedup_and_mix(vllm_server, tmp_path):
    data = _subset(tmp_path, 8)
    out = tmp_path / "out"
    res = pipeline.run(_cfg(vllm_server), data, out,
                       methods=["paraphrase", "outputs", "refusals"])
    report = res.report
    assert set(report["candidates_per_method"]) == {"paraphrase", "outputs", "refusals"}
    assert set(report["accounting"].values()) == {"ok"}
    assert report["counts"]["originals"] == 8 and report["counts"]["augmented_share"] <= 0.7
    rows, rejects = _read(out / "augmented.jsonl"), _read(out / "rejected.jsonl")
    originals = {r["id"]: r for r in rows if r["_provenance"]["method"] == "original"}
    for r in rows + [x for x in rejects if "_provenance" in x]:
        prov = r["_provenance"]
        if prov["method"] in ("paraphrase", "outputs"):
            assert prov["model"]["name"] == "smollm2-135m-instruct"
            assert prov["model"]["checksum"].startswith("sha256:")
            assert "engine" in prov["model"] and prov["params"]
    for r in rows:
        prov = r["_provenance"]
        src = originals.get(prov.get("source_id"))
        if prov["method"] == "paraphrase":
            assert r["output"] == src["output"] and r["instruction"] != src["instruction"]
        if prov["method"] == "outputs":
            assert r["instruction"] == src["instruction"]
    for r in rejects:
        assert r["reason"]
        if r["reason"] == "unparseable_llm_output":
            assert "raw" in r
    # no kept variant carries text from the prompt or an answer format its source lacks
    for r in rows:
        prov = r["_provenance"]
        if prov["method"] not in ("paraphrase", "outputs"):
            continue
        src = originals[prov["source_id"]]
        field = "instruction" if prov["method"] == "paraphrase" else "output"
        for pattern in ARTIFACTS:
            found = re.search(pattern, r[field], re.I | re.M)
            assert not found or re.search(pattern, src[field], re.I | re.M), (pattern, r[field])
    # a second run with another QC window asks the model nothing: every answer is cached
    again = pipeline.run(_cfg(vllm_server, **{"qc.similarity_min": 0.5}), data, out,
                         methods=["paraphrase", "outputs", "refusals"])
    assert again.report["model_cache"]["misses"] == 0
    assert again.report["model_cache"]["hits"] > 0


ARTIFACTS = (r"\bre-?writ", r"\brephras", r"\bjson\b", r"\blist of (\d|three)",
             r"\b(answer|question|sentence \d+|reply|response|rewrite)\s*:", r"\[insert",
             r"\bhere is (the|a|your)\b")


def test_llm_judge_runs_on_both_engines(vllm_server, vllm_engine, embedder, manifest):
    """qc.judge: llm on the tiny model: it runs, answers a probability for every pair, and the
    chain uses it (robustness, not accuracy: SmolLM2-135M is no judge)."""
    from local_augment.augmenters.base import Context
    from local_augment.quality.chain import create_chain
    from local_augment.quality.pair import Pair

    pairs = [Pair("paraphrase", "instruction", v, "How do I reset my password?",
                  output="Use the Forgot password link.")
             for v in ("What are the steps to reset my password?", "How do I delete my account?")]
    for shared in ({"llm": vllm_engine}, {}):
        cfg = _cfg(vllm_server, **{"qc.judge": "llm", "qc.fluency": False})
        if shared:
            cfg.llm.engine = "vllm"
        ctx = Context(config=cfg, manifest=manifest, seed=0)
        if shared:
            ctx.engines.get("llm", lambda: vllm_engine)
        chain = create_chain(ctx, embedder)
        verdicts = chain.check(pairs, exhaustive=True)
        for v in verdicts:
            assert 0.0 <= v.scores["judge"] <= 1.0
            assert v.reason is None or v.reason.split(":")[0] in {"judge_rejected",
                                                                  "meaning_changed",
                                                                  "out_of_window"}
        if not shared:
            ctx.engines.unload_all()


class FlakyProxy:
    """A loopback proxy to the real server that starts answering 500 after `fail_after` chats."""

    def __init__(self, upstream: str, fail_after: int) -> None:
        self.upstream = upstream.rstrip("/").removesuffix("/v1")
        self.fail_after = fail_after
        self.chats = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _forward(self, body: bytes | None) -> None:
                if body is not None:
                    with proxy.lock:
                        proxy.chats += 1
                        failing = proxy.fail_after is not None and proxy.chats > proxy.fail_after
                    if failing:
                        self.send_response(500)
                        self.end_headers()
                        self.wfile.write(b'{"error": "engine died"}')
                        return
                req = urllib.request.Request(proxy.upstream + self.path, data=body,
                                             method=self.command,
                                             headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=120) as resp:
                        status, payload = resp.status, resp.read()
                except urllib.error.HTTPError as err:
                    status, payload = err.code, err.read()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                self._forward(None)

            def do_POST(self):
                self._forward(self.rfile.read(int(self.headers["Content-Length"])))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_server_dying_mid_run_stops_clearly_and_the_rerun_resumes(vllm_server, tmp_path):
    data = _subset(tmp_path, 12)  # 3 shards of 4
    out = tmp_path / "out"
    # a shard of 4 makes at most 4 paraphrase (one list each) + 8 output-variant chats: shard 0
    # completes, then the server dies during shard 1
    proxy = FlakyProxy(vllm_server, fail_after=14)
    try:
        cfg = _cfg(proxy.url, **{"refusals.cases": None, "paraphrase.style": "list"})
        with pytest.raises(UserError, match="not answering"):
            pipeline.run(cfg, data, out, methods=["paraphrase", "outputs"])
        done = sorted(p.name for p in (out / ".work" / "shards").glob("*.done"))
        assert done and "000002.done" not in done  # finished shards kept, the rest not
        assert not (out / "augmented.jsonl").exists()
        stamps = {p: p.stat().st_mtime_ns for p in (out / ".work" / "shards").glob("*.done")}
        proxy.fail_after = None  # the server is back
        res = pipeline.run(cfg, data, out, methods=["paraphrase", "outputs"])
        assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # not redone
        assert res.report["counts"]["originals"] == 12
        assert set(res.report["accounting"].values()) == {"ok"}
    finally:
        proxy.close()
