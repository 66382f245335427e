"""The Ray executor: the same per-shard stages as Ray Data operators on a (local or remote) cluster.

The driver reads the input (ids are checked for uniqueness across the whole file, in file order,
so reading stays sequential) and cuts it into the same shards as the local executor. Shards not
already done become rows of a Ray Dataset; an actor pool (`ActorPoolStrategy`) rebuilds the
augmenters and the embedder once per actor and runs `shard.process.process_shard` on each; the driver
saves every result as it arrives, in any order, with its `.done` marker. A killed driver therefore
reruns and skips what is done; a lost node costs Ray a retried block and a restarted actor.

Pending shards go to Ray in windows of `window_shards`, so the driver never holds more than one
window of input in memory; each window starts a fresh actor pool (models load once per window).

On GPU clusters, LLM methods on the in-process vLLM engine go through `ray.data.llm` first
(`llm_serving`): their requests are served by vLLM replicas and the actors parse the answers.
On CPU-only clusters vLLM runs inside the shard actors unless asked otherwise. Either way the
run's model-output cache is used, so a resumed run replays answers it already had.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from local_augment.augmenters.llm_base import LLMAugmenter
from local_augment.engines.llm import CachedLLM
from local_augment.errors import UserError
from local_augment.executors.base import Pending, Shard, ShardsDone, ShardWalk, ShardWork
from local_augment.executors.ray.actor import ShardActor
from local_augment.executors.ray.cluster import Cluster, cluster_device, user_error
from local_augment.executors.ray.llm_serving import RayLLMServer
from local_augment.executors.ray.payload import parse_result, portable_config, shard_payload
from local_augment.methods import STANDALONE_METHODS

log = logging.getLogger("local_augment.executors.ray")
LLM_MODES = ("auto", "ray.data.llm", "actor")


class RayExecutor:
    """Runs the per-shard stages on Ray Data with an actor pool; see the module docstring.

    `actors`: pool size (default: one per GPU on GPU clusters, else one per CPU);
    `actor_cpus`: CPUs reserved per actor (fractional on CPU hosts so reads never starve);
    `torch_threads`: intra-op threads per actor on CPU (default: CPUs / actors, at least 1);
    `llm`: how LLM methods run: `ray.data.llm` (vLLM replicas as a Ray Data processor, `llm_replicas`
    of them), `actor` (the run's LLM engine inside each shard actor), or `auto` (`ray.data.llm`
    for the in-process vLLM engine on clusters with GPUs; `actor` on CPU-only clusters and for
    a vLLM server).
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, actors: int | None = None,
                 actor_cpus: float | None = None, torch_threads: int | None = None,
                 window_shards: int = 256, llm: str = "auto", llm_replicas: int = 1) -> None:
        if llm not in LLM_MODES:
            raise UserError(f"unknown llm mode {llm!r}; use auto, ray.data.llm or actor")
        self.address = address
        self.cluster = Cluster(address)
        self.actors = actors
        self.actor_cpus = actor_cpus
        self.torch_threads = torch_threads
        self.window_shards = max(1, window_shards)
        self.llm = llm
        self.llm_replicas = max(1, llm_replicas)
        self.device = "auto"

    def _plan(self, ray: Any, llm: bool) -> tuple[int, float, int, float]:
        """(actors, cpus per actor, torch threads per actor, gpus per actor) for this cluster.

        GPU clusters: one actor per GPU. CPU clusters: one actor per CPU at half a CPU each (so
        other operators are never starved), or, with an in-actor LLM, one per 4 CPUs at one CPU
        each with the threads of its share (each actor holds a whole vLLM engine).
        """
        res = ray.cluster_resources()
        cpus = max(1, int(res.get("CPU", 1)))
        gpus = int(res.get("GPU", 0))
        if gpus and self.device != "cpu":
            actors = self.actors or gpus
            cpu_each = self.actor_cpus if self.actor_cpus is not None else 1.0
            return actors, cpu_each, self.torch_threads or 1, 1.0
        if llm:
            actors = self.actors or max(1, cpus // 4)
            cpu_each = self.actor_cpus if self.actor_cpus is not None else 1.0
        else:
            actors = self.actors or cpus
            cpu_each = self.actor_cpus if self.actor_cpus is not None else 0.5
        return actors, cpu_each, self.torch_threads or max(1, cpus // actors), 0.0

    def run_shards(self, shards: Iterable[Shard], work: ShardWork) -> ShardsDone:
        self.device = work.ctx.config.embedder.device
        done = ShardsDone()
        walk = ShardWalk(work, done)
        try:
            for window in self._windows(walk.pending(shards)):
                ray = self.cluster.connect(work.store.dir)
                self._run_window(ray, window, work, done, walk)
        finally:
            self.cluster.shutdown()
        return done

    def _windows(self, pending: Iterator[Pending]) -> Iterator[list[Pending]]:
        """Pending shards, `window_shards` at a time, in file order."""
        window: list[Pending] = []
        for shard in pending:
            window.append(shard)
            if len(window) >= self.window_shards:
                yield window
                window = []
        if window:
            yield window

    def _run_window(self, ray: Any, window: list[Pending], work: ShardWork,
                    done: ShardsDone, walk: ShardWalk) -> None:
        from ray.data import ActorPoolStrategy, DataContext

        dctx = DataContext.get_current()
        dctx.enable_progress_bars = False
        dctx.print_on_execution_start = False
        shard_methods = [m for m in work.methods if m not in STANDALONE_METHODS]
        served = self._served(ray, work)
        answers: dict[str, Any] = {}
        if served:
            server = RayLLMServer(served, self.llm_replicas, work.ctx.config.llm.batch_size)
            answers = server.serve(ray, window, done)
        llm = not served and any(isinstance(a, LLMAugmenter) for a in work.augmenters)
        actors, cpu_each, threads, gpu_each = self._plan(ray, llm)
        actors = min(actors, len(window))
        rows_of = {shard.key: shard.rows for shard in window}
        payloads = [{"payload": shard_payload(shard, answers.get(shard.key))} for shard in window]
        ds = ray.data.from_items(payloads, override_num_blocks=len(window))
        remote: dict[str, Any] = {"num_cpus": cpu_each}
        if gpu_each:
            remote["num_gpus"] = gpu_each
        cache = work.ctx.cache.path
        results = ds.map_batches(
            ShardActor,
            fn_constructor_kwargs={"config": portable_config(work), "methods": shard_methods,
                                   "seed": work.ctx.seed, "torch_threads": threads,
                                   "served": [a.name for a in served],
                                   "cache": str(cache.resolve()) if cache else None},
            batch_size=1, batch_format="numpy", compute=ActorPoolStrategy(size=actors),
            zero_copy_batch=True, **remote,
        )
        t0 = time.perf_counter()
        log.info("ray: %d shards on %d actors (%.2g CPU, %g GPU, %d threads each)", len(window),
                 actors, cpu_each, gpu_each, threads)
        try:
            for row in results.iter_rows():
                result = parse_result(row)
                work.store.save(result)
                done.timings.update(result.stats["timings"])
                done.cache.update(result.stats.get("model_cache", {}))
                walk.advance(rows_of[result.key])
        except ray.exceptions.RayError as exc:
            raise user_error(exc) from exc
        done.timings["ray.window"] += time.perf_counter() - t0

    def _served(self, ray: Any, work: ShardWork) -> list[LLMAugmenter]:
        """The LLM augmenters whose requests go through `ray.data.llm` (see `llm`)."""
        if self.llm == "actor":
            return []
        augs = [a for a in work.augmenters if isinstance(a, LLMAugmenter)
                and isinstance(a.llm, CachedLLM)]
        if self.llm == "auto":
            # ray.data.llm replicas on GPU clusters; on CPU-only clusters vLLM runs inside the
            # shard actors: a separate engine stage would hold CPUs of its own beside the pool
            if cluster_device(ray) == "cpu":
                return []
            augs = [a for a in augs if hasattr(a.llm.inner, "engine_kwargs")]  # in-process vLLM
        return augs
