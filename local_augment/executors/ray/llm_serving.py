"""LLM requests of a window of shards served by `ray.data.llm` vLLM replicas.

The driver asks each LLM augmenter for its `requests` (the same call the shard actor makes), looks
them up in the run's model-output cache, sends the rest to a vLLM processor (one row per sample),
stores the answers in the cache and hands them to the actors in the shard payloads.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local_augment.augmenters.llm_base import LLMAugmenter, Request
from local_augment.engines.llm import CachedLLM
from local_augment.executors.base import Pending, ShardsDone
from local_augment.executors.ray.cluster import cluster_device
from local_augment.executors.ray.payload import Answers

log = logging.getLogger("local_augment.executors.ray")
LIGHT = {"num_cpus": 0.25}  # fractional: templating/tokenizing never starve the engine


def _preprocess(row: dict[str, Any]) -> dict[str, Any]:
    sp = json.loads(row["sp"])
    if row["schema"]:
        sp["structured_outputs"] = {"json": row["schema"]}
    return {"messages": json.loads(row["messages"]), "sampling_params": sp,
            "job": row["job"], "sample": row["sample"]}


def _postprocess(row: dict[str, Any]) -> dict[str, Any]:
    return {"job": row["job"], "sample": row["sample"], "text": row.get("generated_text") or ""}


def _rows(job: int, req: Request) -> list[dict[str, Any]]:
    p = req.sampling
    sp = {"n": 1, "max_tokens": p.max_tokens, "temperature": p.temperature,
          "top_k": p.top_k if p.top_k > 0 else -1, "top_p": p.top_p}
    schema = json.dumps(p.json_schema) if p.json_schema is not None else ""
    return [{"job": job, "sample": s, "messages": json.dumps(req.conversation),
             "sp": json.dumps(sp), "schema": schema} for s in range(p.n)]


def _lookup(llm: CachedLLM, reqs: Sequence[Request]) -> list[list[str] | None]:
    """Cached answers per request (None: not asked yet), one lookup per sampling setting."""
    out: list[list[str] | None] = [None] * len(reqs)
    groups: dict[str, list[int]] = {}
    for i, req in enumerate(reqs):
        groups.setdefault(req.sampling.key(), []).append(i)
    for idx in groups.values():
        found = llm.lookup([reqs[i].conversation for i in idx], reqs[idx[0]].sampling)
        for i, answer in zip(idx, found, strict=True):
            out[i] = answer
    return out


class RayLLMServer:
    """Serves LLM augmenters' requests with `replicas` vLLM engines placed by Ray."""

    def __init__(self, augmenters: Sequence[LLMAugmenter], replicas: int, batch_size: int) -> None:
        self.augmenters = list(augmenters)
        self.replicas = replicas
        self.batch_size = batch_size

    def serve(self, ray: Any, window: Sequence[Pending], done: ShardsDone) -> dict[str, Answers]:
        """key -> method -> answers per request, for every shard of the window."""
        answers: dict[str, Answers] = {}
        jobs: list[tuple[str, str, int, Request]] = []  # (key, method, request index, request)
        for shard in window:
            for aug in self.augmenters:
                reqs = aug.requests(shard.examples)
                if not reqs:
                    continue
                got = _lookup(self._llm(aug), reqs)
                answers.setdefault(shard.key, {})[aug.name] = [g or [] for g in got]
                jobs += [(shard.key, aug.name, i, r) for i, r in enumerate(reqs) if got[i] is None]
        if jobs:
            t0 = time.perf_counter()
            texts = self._run(ray, jobs)
            by_method = {a.name: a for a in self.augmenters}
            fresh: dict[tuple[str, str], list[tuple[Request, list[str]]]] = {}
            for (key, method, i, req), samples in zip(jobs, texts, strict=True):
                answers[key][method][i] = samples
                fresh.setdefault((method, req.sampling.key()), []).append((req, samples))
            for (method, _), got in fresh.items():
                self._llm(by_method[method]).remember(
                    [r.conversation for r, _ in got], got[0][0].sampling, [a for _, a in got])
            done.timings["ray.llm"] += time.perf_counter() - t0
        return answers

    @staticmethod
    def _llm(aug: LLMAugmenter) -> CachedLLM:
        llm = aug.llm
        if not isinstance(llm, CachedLLM):
            raise TypeError(f"{aug.name}: ray.data.llm needs the run's cached engine")
        return llm

    def _run(self, ray: Any, jobs: list[tuple[str, str, int, Request]]) -> list[list[str]]:
        from ray.data.llm import build_processor, vLLMEngineProcessorConfig

        rows = [row for j, (*_, req) in enumerate(jobs) for row in _rows(j, req)]
        texts: list[list[str]] = [[""] * req.sampling.n for *_, req in jobs]
        device = cluster_device(ray)
        # the cluster's device, passed explicitly: the driver may have none
        kwargs = self._llm(self.augmenters[0]).inner.engine_kwargs(device)  # type: ignore[attr-defined]
        model = kwargs.pop("model")
        kwargs.pop("tokenizer", None)
        env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "VLLM_CACHE_ROOT": os.environ.get("VLLM_CACHE_ROOT", str(
                   Path(os.environ.get("LOCAL_AUGMENT_CACHE", ".cache")).resolve() / "vllm"))}
        extra: dict[str, Any] = {}
        if device == "cpu":
            # the KV cache size travels as engine_kwargs["kv_cache_memory_bytes"]
            env["VLLM_CPU_NUM_OF_RESERVED_CPU"] = "0"
            extra["placement_group_config"] = {"bundles": [{"CPU": 1}]}
        config = vLLMEngineProcessorConfig(
            model_source=model, engine_kwargs=kwargs, concurrency=self.replicas,
            batch_size=min(64, self.batch_size), log_engine_metrics=False,
            should_continue_on_error=True, runtime_env={"env_vars": env},
            chat_template_stage=LIGHT, tokenize_stage=LIGHT, detokenize_stage=LIGHT, **extra)
        processor = build_processor(config, preprocess=_preprocess, postprocess=_postprocess,
                                    preprocess_map_kwargs=LIGHT, postprocess_map_kwargs=LIGHT)
        log.info("ray.data.llm: %d requests, %d vLLM replica(s) on %s", len(rows),
                 self.replicas, device)
        failed = 0
        for row in processor(ray.data.from_items(rows)).iter_rows():
            if row.get("__inference_error__"):
                failed += 1
            texts[row["job"]][row["sample"]] = row.get("text") or ""
        if failed:
            log.warning("ray.data.llm: %d requests failed (empty answers, rejected as such)",
                        failed)
        return texts
