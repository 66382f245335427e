"""The Ray executor: the same per-shard stages as Ray Data operators on a (local or remote) cluster.

The driver reads the input (ids are checked for uniqueness across the whole file, in file order,
so reading stays sequential) and cuts it into the same shards as the local executor. Shards not
already done become rows of a Ray Dataset; an actor pool (`ActorPoolStrategy`) rebuilds the
augmenters and the embedder once per actor and runs `stages.process_shard` on each; the driver
saves every result as it arrives, in any order, with its `.done` marker. A killed driver therefore
reruns and skips what is done; a lost node costs Ray a retried block and a restarted actor.

Pending shards go to Ray in windows of `window_shards`, so the driver never holds more than one
window of input in memory; each window starts a fresh actor pool (models load once per window).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.errors import UserError
from local_augment.executors.base import Shard, ShardsDone, ShardWork
from local_augment.records import ALPACA, Candidate, Example
from local_augment.shards import ShardResult

log = logging.getLogger("local_augment.executors.ray")

# Unix socket paths are limited to 107 bytes; Ray puts them under
# <temp>/session_<date>_<time>_<pid>/sockets/plasma_store (about 65 bytes below <temp>).
MAX_TEMP_DIR_CHARS = 40
# Methods that only make rows with no source example, once per run, on the driver.
STANDALONE_ONLY = frozenset({"refusals"})


# --- payloads: what travels between the driver and the actors ---------------------------------

def shard_payload(key: str, examples: list[Example], bad: list[dict[str, Any]], layout: str) -> str:
    """One pending shard as a JSON string (the Dataset's row)."""
    return json.dumps({
        "key": key, "layout": layout, "bad": bad,
        "examples": [[ex.id, ex.line, ex.layout, ex.row] for ex in examples],
    }, ensure_ascii=False)


def parse_payload(payload: str) -> tuple[str, list[Example], list[dict[str, Any]], str]:
    data = json.loads(payload)
    examples = [Example(id=i, line=n, layout=lay, row=row) for i, n, lay, row in data["examples"]]
    return data["key"], examples, data["bad"], data["layout"]


def result_row(result: ShardResult) -> dict[str, Any]:
    """A ShardResult as plain columns: JSON metadata plus float16 vector bytes."""
    orig = _f16(result.orig_vecs)
    cand = _f16(result.cand_vecs)
    meta = {
        "key": result.key, "originals": result.originals, "bad": result.bad,
        "candidates": [c.to_state() for c in result.candidates], "stats": result.stats,
        "orig_shape": list(orig.shape), "cand_shape": list(cand.shape),
    }
    return {"key": result.key, "meta": json.dumps(meta, ensure_ascii=False),
            "orig": orig.tobytes(), "cand": cand.tobytes()}


def parse_result(row: dict[str, Any]) -> ShardResult:
    meta = json.loads(row["meta"])
    return ShardResult(
        key=meta["key"], originals=meta["originals"], bad=meta["bad"],
        candidates=[Candidate.from_state(s) for s in meta["candidates"]], stats=meta["stats"],
        orig_vecs=np.frombuffer(row["orig"], dtype=np.float16).reshape(meta["orig_shape"]),
        cand_vecs=np.frombuffer(row["cand"], dtype=np.float16).reshape(meta["cand_shape"]),
    )


def _f16(a: np.ndarray | None) -> np.ndarray:
    return np.zeros((0, 0), dtype=np.float16) if a is None else np.ascontiguousarray(
        a, dtype=np.float16)


def portable_config(work: ShardWork) -> dict[str, Any]:
    """The run config as JSON, with every path absolute (workers do not share the driver's cwd)."""
    cfg = work.ctx.config.model_copy(deep=True)
    cfg.run.models_dir = Path(work.ctx.manifest.root).resolve()
    for section, name in (("refusals", "cases"), ("templates", "file"), ("paraphrase", "prompt"),
                          ("outputs", "prompt_dir")):
        sec = getattr(cfg, section)
        value = getattr(sec, name)
        if value is not None:
            setattr(sec, name, Path(value).resolve())
    return cfg.model_dump(mode="json")


# --- the actor ---------------------------------------------------------------------------------

class ShardActor:
    """Loads the augmenters and the embedder once; turns shard payloads into result rows."""

    def __init__(self, config: dict[str, Any], methods: list[str], seed: int,
                 torch_threads: int) -> None:
        import torch

        from local_augment.augmenters import build_augmenters
        from local_augment.augmenters.base import Context
        from local_augment.config import Config
        from local_augment.engines.embedder import Embedder
        from local_augment.models import load_manifest

        # Ray sets OMP_NUM_THREADS to the actor's (possibly fractional -> 1) CPUs; be explicit.
        torch.set_num_threads(max(1, torch_threads))
        cfg = Config.model_validate(config)
        manifest = load_manifest(cfg.run.models_dir)
        self.ctx = Context(config=cfg, manifest=manifest, seed=seed)
        self.augmenters, _ = build_augmenters(self.ctx, methods, explicit=True)
        for aug in self.augmenters:
            aug.load()
        _, path = manifest.require(cfg.embedder.model, "embedder")
        self.embedder = Embedder(path, device=cfg.embedder.device,
                                 batch_size=cfg.embedder.batch_size).load()
        self.qc = cfg.qc

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        from local_augment.stages import process_shard

        out: dict[str, list[Any]] = {"key": [], "meta": [], "orig": [], "cand": []}
        for payload in batch["payload"]:
            key, examples, bad, layout = parse_payload(str(payload))
            result = process_shard(key, examples, bad, self.augmenters, self.embedder.encode,
                                   self.qc, layout)
            for col, value in result_row(result).items():
                out[col].append(value)
        return out


# --- the executor ------------------------------------------------------------------------------

def ray_temp_dir(work: ShardWork) -> Path:
    """Ray's temp dir: RAY_TMPDIR, else the run's work dir, else the project cache (short paths)."""
    env = os.environ.get("RAY_TMPDIR")
    if env:
        return Path(env)
    for cand in (work.store.dir.parent / "ray",
                 Path(os.environ.get("LOCAL_AUGMENT_CACHE", ".cache")) / "ray"):
        cand = cand.resolve()
        if len(str(cand)) <= MAX_TEMP_DIR_CHARS:
            return cand
    return Path(os.environ.get("LOCAL_AUGMENT_CACHE", ".cache")).resolve() / "r"


class RayExecutor:
    """Runs the per-shard stages on Ray Data with an actor pool; see the module docstring.

    `actors`: pool size (default: one per GPU on GPU clusters, else one per CPU);
    `actor_cpus`: CPUs reserved per actor (fractional on CPU hosts so reads never starve);
    `torch_threads`: intra-op threads per actor on CPU (default: CPUs / actors, at least 1).
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, actors: int | None = None,
                 actor_cpus: float | None = None, torch_threads: int | None = None,
                 window_shards: int = 256) -> None:
        self.address = address
        self.actors = actors
        self.actor_cpus = actor_cpus
        self.torch_threads = torch_threads
        self.window_shards = max(1, window_shards)
        self._started = False

    # -- cluster --
    def _init(self, work: ShardWork) -> Any:
        import ray

        if ray.is_initialized():
            return ray
        kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
        if self.address:
            kwargs["address"] = self.address
        else:
            temp = ray_temp_dir(work)
            temp.mkdir(parents=True, exist_ok=True)
            kwargs.update(_temp_dir=str(temp), include_dashboard=False)
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a local Ray"
            raise UserError(f"cannot start or reach {where}: {exc}".splitlines()[0]) from None
        self._started = True
        log.info("ray: %s", ray.cluster_resources())
        return ray

    def _shutdown(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def _plan(self, ray: Any) -> tuple[int, float, int, float]:
        """(actors, cpus per actor, torch threads per actor, gpus per actor) for this cluster."""
        res = ray.cluster_resources()
        cpus = float(res.get("CPU", 1.0))
        gpus = int(res.get("GPU", 0))
        device = self._device()
        if gpus and device != "cpu":
            actors = self.actors or gpus
            cpu_each = self.actor_cpus if self.actor_cpus is not None else 1.0
            return actors, cpu_each, self.torch_threads or 1, 1.0
        actors = self.actors or max(1, int(cpus))
        cpu_each = self.actor_cpus if self.actor_cpus is not None else 0.5
        threads = self.torch_threads or max(1, int(cpus) // actors)
        return actors, cpu_each, threads, 0.0

    def _device(self) -> str:
        return getattr(self, "_embed_device", "auto")

    # -- shards --
    def run_shards(self, shards: Iterable[Shard], work: ShardWork) -> ShardsDone:
        self._embed_device = work.ctx.config.embedder.device
        done = ShardsDone()
        progress = _Progress(work)
        try:
            for window in self._windows(shards, work, done, progress):
                ray = self._init(work)
                self._run_window(ray, window, work, done, progress)
        finally:
            self._shutdown()
        return done

    def _windows(self, shards: Iterable[Shard], work: ShardWork, done: ShardsDone,
                 progress: _Progress) -> Iterator[list[tuple[str, int, str]]]:
        """Pending shards as (key, rows, payload), `window_shards` at a time, in file order."""
        window: list[tuple[str, int, str]] = []
        for key, examples, bad in shards:
            done.keys.append(key)
            if done.layout is None and examples:
                done.layout = examples[0].layout
            rows = len(examples) + len(bad)
            if work.store.done(key):
                log.info("shard %s already done, skipped (resume)", key)
                progress.add(rows)
                continue
            window.append((key, rows, shard_payload(key, examples, bad, done.layout or ALPACA)))
            if len(window) >= self.window_shards:
                yield window
                window = []
        if window:
            yield window

    def _run_window(self, ray: Any, window: list[tuple[str, int, str]], work: ShardWork,
                    done: ShardsDone, progress: _Progress) -> None:
        from ray.data import ActorPoolStrategy, DataContext

        dctx = DataContext.get_current()
        dctx.enable_progress_bars = False
        dctx.print_on_execution_start = False
        actors, cpu_each, threads, gpu_each = self._plan(ray)
        actors = min(actors, len(window))
        shard_methods = [m for m in work.methods if m not in STANDALONE_ONLY]
        rows_of = {key: rows for key, rows, _ in window}
        ds = ray.data.from_items([{"payload": p} for _, _, p in window],
                                 override_num_blocks=len(window))
        remote: dict[str, Any] = {"num_cpus": cpu_each}
        if gpu_each:
            remote["num_gpus"] = gpu_each
        results = ds.map_batches(
            ShardActor,
            fn_constructor_kwargs={"config": portable_config(work), "methods": shard_methods,
                                   "seed": work.ctx.seed, "torch_threads": threads},
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
                progress.add(rows_of[result.key])
        except ray.exceptions.RayError as exc:
            raise _user_error(exc) from exc
        done.timings["ray.window"] += time.perf_counter() - t0


class _Progress:
    def __init__(self, work: ShardWork) -> None:
        self.work = work
        self.rows = 0

    def add(self, rows: int) -> None:
        self.rows += rows
        self.work.progress("generate+score", self.rows, self.work.total_rows)


def _user_error(exc: Exception) -> Exception:
    """A UserError raised inside an actor (a missing model on a node) stays a one-line error."""
    cause = exc
    while cause is not None:
        if isinstance(cause, UserError):
            return UserError(f"on a Ray worker: {cause}")
        cause = getattr(cause, "cause", None) or cause.__cause__
    return exc
