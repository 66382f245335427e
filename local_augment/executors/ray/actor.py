"""The shard actor: loads the augmenters and the embedder once, turns payloads into results."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.executors.ray.payload import parse_payload, result_row


class ShardActor:
    """One per pool slot. `served`: LLM methods whose answers arrive in the payload (never load
    vLLM for those); `cache`: the run's model-output cache file, so a resumed run replays the
    answers its actors already had (a node without the file starts a cache of its own)."""

    def __init__(self, config: dict[str, Any], methods: list[str], seed: int,
                 torch_threads: int, served: list[str], cache: str | None) -> None:
        import torch

        t0 = time.perf_counter()
        from local_augment.augmenters import build_augmenters
        from local_augment.augmenters.base import Context
        from local_augment.config import Config
        from local_augment.engines.cache import ModelCache
        from local_augment.engines.embedder import open_embedder
        from local_augment.engines.manifest import load_manifest
        from local_augment.quality.chain import create_chain

        # Ray sets OMP_NUM_THREADS to the actor's (possibly fractional -> 1) CPUs; be explicit.
        torch.set_num_threads(max(1, torch_threads))
        cfg = Config.model_validate(config)
        manifest = load_manifest(cfg.run.models_dir)
        self.ctx = Context(config=cfg, manifest=manifest, seed=seed,
                           cache=ModelCache(Path(cache) if cache else None))
        self.augmenters, _ = build_augmenters(self.ctx, methods, explicit=True)
        self.served = set(served)
        for aug in self.augmenters:
            if aug.name not in self.served:
                aug.load()
        self.embedder = open_embedder(cfg, manifest).load()
        self.chain = create_chain(self.ctx, self.embedder)
        self.init_s = round(time.perf_counter() - t0, 3)  # model loading, for the benchmark

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        import ray

        from local_augment.shard.process import process_shard

        where = {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(),
                 "init_s": self.init_s}
        out: dict[str, list[Any]] = {"key": [], "meta": [], "orig": [], "cand": []}
        cache = self.ctx.cache
        for payload in batch["payload"]:
            shard, answers = parse_payload(str(payload))
            hits, misses = cache.hits, cache.misses
            result = process_shard(shard.key, shard.examples, shard.bad, self.augmenters,
                                   self.chain, shard.layout,
                                   answers={m: a for m, a in answers.items() if m in self.served})
            result.stats["ray"] = where
            result.stats["model_cache"] = {"hits": cache.hits - hits,
                                           "misses": cache.misses - misses}
            for col, value in result_row(result).items():
                out[col].append(value)
        return out
