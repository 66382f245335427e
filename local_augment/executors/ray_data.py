"""The Ray executor: the same per-shard stages as Ray Data operators on a (local or remote) cluster.

The driver reads the input (ids are checked for uniqueness across the whole file, in file order,
so reading stays sequential) and cuts it into the same shards as the local executor. Shards not
already done become rows of a Ray Dataset; an actor pool (`ActorPoolStrategy`) rebuilds the
augmenters and the embedder once per actor and runs `stages.process_shard` on each; the driver
saves every result as it arrives, in any order, with its `.done` marker. A killed driver therefore
reruns and skips what is done; a lost node costs Ray a retried block and a restarted actor.

Pending shards go to Ray in windows of `window_shards`, so the driver never holds more than one
window of input in memory; each window starts a fresh actor pool (models load once per window).

On GPU clusters, LLM methods on the in-process vLLM engine go through `ray.data.llm` first: the
driver records the requests each LLM augmenter's own `generate` makes, a vLLM processor serves
them, and the shard actors replay the answers through the same `generate` (same parsing, rejects
and provenance). On CPU-only clusters vLLM runs inside the shard actors unless asked otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.config import absolute_paths
from local_augment.errors import UserError
from local_augment.executors.base import Shard, ShardsDone, ShardWork
from local_augment.methods import LLM_METHODS, STANDALONE_METHODS
from local_augment.records import ALPACA, Candidate, Example
from local_augment.shards import ShardResult

log = logging.getLogger("local_augment.executors.ray")

# Unix socket paths are limited to 107 bytes; Ray puts them under
# <temp>/session_<date>_<time>_<pid>/sockets/plasma_store (about 65 bytes below <temp>).
MAX_TEMP_DIR_CHARS = 40
# Methods that only make rows with no source example, once per run, on the driver.


# --- payloads: what travels between the driver and the actors ---------------------------------

def shard_payload(key: str, examples: list[Example], bad: list[dict[str, Any]], layout: str,
                  answers: dict[str, Any] | None = None) -> str:
    """One pending shard as a JSON string (the Dataset's row); `answers`: replayed LLM output."""
    return json.dumps({
        "key": key, "layout": layout, "bad": bad, "answers": answers or {},
        "examples": [[ex.id, ex.line, ex.layout, ex.row] for ex in examples],
    }, ensure_ascii=False)


def parse_payload(payload: str) -> tuple[str, list[Example], list[dict[str, Any]], str]:
    key, examples, bad, layout, _ = parse_payload_answers(payload)
    return key, examples, bad, layout


def parse_payload_answers(
    payload: str,
) -> tuple[str, list[Example], list[dict[str, Any]], str, dict[str, Any]]:
    data = json.loads(payload)
    examples = [Example(id=i, line=n, layout=lay, row=row) for i, n, lay, row in data["examples"]]
    return data["key"], examples, data["bad"], data["layout"], data.get("answers") or {}


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
    cfg = absolute_paths(work.ctx.config)
    cfg.run.models_dir = Path(work.ctx.manifest.root).resolve()
    return cfg.model_dump(mode="json")


# --- LLM methods through ray.data.llm: record the requests, serve them, replay the answers ------

class RecordingLLM:
    """Stands in for the LLM while an augmenter builds its prompts: records every chat() call.

    The augmenter's own `generate` decides prompts and sampling (record pass, on the driver) and
    parses answers (replay pass, in the actor), so both executors share that code exactly.
    """

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[list[list[dict]], Any]] = []

    def load(self) -> RecordingLLM:
        return self

    def unload(self) -> None:
        pass

    def describe(self) -> dict[str, Any]:
        return self.real.describe()

    def chat(self, conversations: Any, params: Any) -> list[list[str]]:
        if not conversations:
            return []
        self.calls.append(([list(c) for c in conversations], params))
        return [[""] * params.n for _ in conversations]


class ReplayLLM(RecordingLLM):
    """Answers chat() calls, in order, with what `ray.data.llm` returned for the recorded ones."""

    def __init__(self, real: Any, answers: list[list[list[str]]] | None = None) -> None:
        super().__init__(real)
        self.answers = list(answers or [])

    def chat(self, conversations: Any, params: Any) -> list[list[str]]:
        if not conversations:
            return []
        if not self.answers or len(self.answers[0]) != len(conversations):
            raise RuntimeError("LLM replay out of step with the recorded requests")
        return self.answers.pop(0)


def record_requests(key: str, examples: list[Example], augmenters: list[Any]) -> list[dict]:
    """The LLM requests an augmenter makes for one shard, one row per sample asked for."""
    rows: list[dict] = []
    for aug in augmenters:
        real = aug.llm
        aug.llm = rec = RecordingLLM(real)
        try:
            aug.generate(examples)
        finally:
            aug.llm = real
        for call, (convs, params) in enumerate(rec.calls):
            sp = {"n": 1, "max_tokens": params.max_tokens, "temperature": params.temperature,
                  "top_k": params.top_k if params.top_k > 0 else -1, "top_p": params.top_p}
            schema = json.dumps(params.json_schema) if params.json_schema is not None else ""
            for i, conv in enumerate(convs):
                for sample in range(params.n):
                    rows.append({"key": key, "method": aug.name, "call": call, "i": i,
                                 "sample": sample, "n": params.n, "calls": len(rec.calls),
                                 "size": len(convs), "messages": json.dumps(conv),
                                 "sp": json.dumps(sp), "schema": schema})
    return rows


def _llm_preprocess(row: dict[str, Any]) -> dict[str, Any]:
    sp = json.loads(row["sp"])
    if row["schema"]:
        sp["structured_outputs"] = {"json": row["schema"]}
    return {"messages": json.loads(row["messages"]), "sampling_params": sp,
            **{k: row[k] for k in ("key", "method", "call", "i", "sample")}}


def _llm_postprocess(row: dict[str, Any]) -> dict[str, Any]:
    return {"key": row["key"], "method": row["method"], "call": row["call"], "i": row["i"],
            "sample": row["sample"], "text": row.get("generated_text") or ""}


def empty_answers(requests: list[dict]) -> dict[str, dict[str, list[list[list[str]]]]]:
    """key -> method -> calls -> conversations -> samples, all "" until the answers arrive."""
    out: dict[str, dict[str, list[list[list[str]]]]] = {}
    for r in requests:
        calls = out.setdefault(r["key"], {}).setdefault(r["method"], [])
        while len(calls) < r["calls"]:
            calls.append([])
        convs = calls[r["call"]]
        while len(convs) < r["size"]:
            convs.append([""] * r["n"])
    return out


# --- the actor ---------------------------------------------------------------------------------

class ShardActor:
    """Loads the augmenters and the embedder once; turns shard payloads into result rows."""

    def __init__(self, config: dict[str, Any], methods: list[str], seed: int,
                 torch_threads: int, replay_llm: bool = False) -> None:
        import torch

        t0 = time.perf_counter()
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
        self.replay = [a for a in self.augmenters if replay_llm and a.name in LLM_METHODS]
        for aug in self.replay:  # ray.data.llm served the LLM: never load vLLM here
            aug.llm = ReplayLLM(aug.llm)
        for aug in self.augmenters:
            aug.load()
        _, path = manifest.require(cfg.embedder.model, "embedder")
        self.embedder = Embedder(path, device=cfg.embedder.device,
                                 batch_size=cfg.embedder.batch_size).load()
        from local_augment.quality.chain import create_chain

        self.chain = create_chain(self.ctx, self.embedder)
        self.init_s = round(time.perf_counter() - t0, 3)  # model loading, for the benchmark

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        import ray

        from local_augment.stages import process_shard

        where = {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(),
                 "init_s": self.init_s}
        out: dict[str, list[Any]] = {"key": [], "meta": [], "orig": [], "cand": []}
        for payload in batch["payload"]:
            key, examples, bad, layout, answers = parse_payload_answers(str(payload))
            for aug in self.replay:
                aug.llm = ReplayLLM(aug.llm.real, answers.get(aug.name))
            result = process_shard(key, examples, bad, self.augmenters, self.chain, layout)
            result.stats["ray"] = where
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


AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def local_ray_kwargs(temp: Path) -> dict[str, Any]:
    """`ray.init` arguments for a private local Ray whose files all stay under `temp`.

    Ray 2.60 turns token auth on for a new local Ray and writes the token to ~/.ray; unless the
    user chose an auth setup, keep a token of our own next to the temp dir instead.
    """
    temp.mkdir(parents=True, exist_ok=True)
    if not any(k in os.environ for k in AUTH_ENV):
        token = temp / "auth_token"
        if not token.is_file():
            token.touch(mode=0o600)
            token.write_text(secrets.token_hex(32))
        os.environ["RAY_AUTH_TOKEN_PATH"] = str(token)
    return {"_temp_dir": str(temp), "include_dashboard": False, "log_to_driver": False,
            "configure_logging": False}


def _cluster_device(ray: Any) -> str:
    """`cuda` when the cluster has GPUs, else `cpu`."""
    return "cuda" if ray.cluster_resources().get("GPU", 0) else "cpu"


class RayExecutor:
    """Runs the per-shard stages on Ray Data with an actor pool; see the module docstring.

    `actors`: pool size (default: one per GPU on GPU clusters, else one per CPU);
    `actor_cpus`: CPUs reserved per actor (fractional on CPU hosts so reads never starve);
    `torch_threads`: intra-op threads per actor on CPU (default: CPUs / actors, at least 1);
    `llm`: how LLM methods run: `ray.data.llm` (vLLM replicas as a Ray Data processor, `llm_replicas`
    of them), `actor` (the local `LLMEngine` inside each shard actor), or `auto` (`ray.data.llm`
    for the in-process vLLM engine on clusters with GPUs; `actor` on CPU-only clusters and for
    a vLLM server).
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, actors: int | None = None,
                 actor_cpus: float | None = None, torch_threads: int | None = None,
                 window_shards: int = 256, llm: str = "auto", llm_replicas: int = 1) -> None:
        self.address = address
        self.actors = actors
        self.actor_cpus = actor_cpus
        self.torch_threads = torch_threads
        self.window_shards = max(1, window_shards)
        if llm not in ("auto", "ray.data.llm", "actor"):
            raise UserError(f"unknown llm mode {llm!r}; use auto, ray.data.llm or actor")
        self.llm = llm
        self.llm_replicas = max(1, llm_replicas)
        self._started = False
        self.device = "auto"

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
            kwargs.update(local_ray_kwargs(temp))
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

    # -- shards --
    def run_shards(self, shards: Iterable[Shard], work: ShardWork) -> ShardsDone:
        self.device = work.ctx.config.embedder.device
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
                 progress: _Progress) -> Iterator[list[Pending]]:
        """Pending shards with their layout, `window_shards` at a time, in file order."""
        window: list[Pending] = []
        for key, examples, bad in shards:
            done.keys.append(key)
            if done.layout is None and examples:
                done.layout = examples[0].layout
            rows = len(examples) + len(bad)
            if work.store.done(key):
                log.info("shard %s already done, skipped (resume)", key)
                progress.add(rows)
                continue
            window.append((key, rows, examples, bad, done.layout or ALPACA))
            if len(window) >= self.window_shards:
                yield window
                window = []
        if window:
            yield window

    def _run_window(self, ray: Any, window: list[Pending], work: ShardWork,
                    done: ShardsDone, progress: _Progress) -> None:
        from ray.data import ActorPoolStrategy, DataContext

        dctx = DataContext.get_current()
        dctx.enable_progress_bars = False
        dctx.print_on_execution_start = False
        shard_methods = [m for m in work.methods if m not in STANDALONE_METHODS]
        llm_augs = self._served_llm_augmenters(work)
        answers: dict[str, Any] = {}
        if llm_augs:
            answers = self._serve_llm(ray, window, llm_augs, work, done)
        llm = any(m in LLM_METHODS for m in shard_methods) and not llm_augs
        actors, cpu_each, threads, gpu_each = self._plan(ray, llm)
        actors = min(actors, len(window))
        rows_of = {key: rows for key, rows, *_ in window}
        payloads = [{"payload": shard_payload(key, ex, bad, layout, answers.get(key))}
                    for key, _, ex, bad, layout in window]
        ds = ray.data.from_items(payloads, override_num_blocks=len(window))
        remote: dict[str, Any] = {"num_cpus": cpu_each}
        if gpu_each:
            remote["num_gpus"] = gpu_each
        results = ds.map_batches(
            ShardActor,
            fn_constructor_kwargs={"config": portable_config(work), "methods": shard_methods,
                                   "seed": work.ctx.seed, "torch_threads": threads,
                                   "replay_llm": bool(llm_augs)},
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


    def _served_llm_augmenters(self, work: ShardWork) -> list[Any]:
        """The LLM augmenters whose requests go through `ray.data.llm` (see `llm`)."""
        if self.llm == "actor":
            return []
        augs = [a for a in work.augmenters if a.name in LLM_METHODS and hasattr(a, "llm")]
        if self.llm == "auto":
            # ray.data.llm replicas on GPU clusters; on CPU-only clusters vLLM runs inside the
            # shard actors: a separate engine stage would hold CPUs of its own beside the pool
            import ray

            if _cluster_device(ray) == "cpu":
                return []
            augs = [a for a in augs if hasattr(a.llm, "engine_kwargs")]  # in-process vLLM only
        return augs

    def _serve_llm(self, ray: Any, window: list[Pending], augs: list[Any], work: ShardWork,
                   done: ShardsDone) -> dict[str, Any]:
        """Every LLM request of the window through a `ray.data.llm` vLLM processor."""
        requests = [r for key, _, ex, _, _ in window for r in record_requests(key, ex, augs)]
        answers = empty_answers(requests)
        if not requests:
            return answers
        from ray.data.llm import build_processor, vLLMEngineProcessorConfig

        engine = augs[0].llm
        device = _cluster_device(ray)
        # the cluster's device, passed explicitly: `engine` may be a wrapper (the model-output
        # cache), on which setting an attribute would not reach the engine
        kwargs = engine.engine_kwargs(device)
        model = kwargs.pop("model")
        kwargs.pop("tokenizer", None)
        env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "VLLM_CACHE_ROOT": os.environ.get("VLLM_CACHE_ROOT", str(
                   Path(os.environ.get("LOCAL_AUGMENT_CACHE", ".cache")).resolve() / "vllm"))}
        light = {"num_cpus": 0.25}  # fractional: templating/tokenizing never starve the engine
        extra: dict[str, Any] = {}
        if device == "cpu":
            # the KV cache size travels as engine_kwargs["kv_cache_memory_bytes"]
            env["VLLM_CPU_NUM_OF_RESERVED_CPU"] = "0"
            extra["placement_group_config"] = {"bundles": [{"CPU": 1}]}
        config = vLLMEngineProcessorConfig(
            model_source=model, engine_kwargs=kwargs, concurrency=self.llm_replicas,
            batch_size=min(64, work.ctx.config.llm.batch_size), log_engine_metrics=False,
            should_continue_on_error=True, runtime_env={"env_vars": env},
            chat_template_stage=light, tokenize_stage=light, detokenize_stage=light, **extra)
        processor = build_processor(config, preprocess=_llm_preprocess,
                                    postprocess=_llm_postprocess, preprocess_map_kwargs=light,
                                    postprocess_map_kwargs=light)
        t0 = time.perf_counter()
        log.info("ray.data.llm: %d requests, %d vLLM replica(s) on %s", len(requests),
                 self.llm_replicas, device)
        ds = ray.data.from_items(requests)
        failed = 0
        for row in processor(ds).iter_rows():
            if row.get("__inference_error__"):
                failed += 1
            text = row.get("text") or ""
            answers[row["key"]][row["method"]][row["call"]][row["i"]][row["sample"]] = text
        if failed:
            log.warning("ray.data.llm: %d requests failed (empty answers, rejected as such)",
                        failed)
        done.timings["ray.llm"] += time.perf_counter() - t0
        return answers


Pending = tuple[str, int, list[Example], list[dict[str, Any]], str]


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
