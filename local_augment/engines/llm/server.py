"""Any OpenAI-compatible server (`vllm serve`, llama.cpp, Ollama), many requests in flight."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from local_augment.config import LLMConfig
from local_augment.engines.llm.base import TOP_LOGPROBS, LLMEngine, Sampling, yes_share
from local_augment.errors import ModelError, UserError
from local_augment.progress import stage

log = logging.getLogger("local_augment.llm")


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
        """`params.n` answers; a server that gives fewer choices than asked (llama.cpp's and
        Ollama's answer one) is asked again, one at a time, for the rest."""
        texts = self._choices(conv, params, params.n)
        while 0 < len(texts) < params.n:
            more = self._choices(conv, params, 1)
            if not more:
                break
            texts += more
        return texts[: params.n] + [""] * (params.n - len(texts))

    def _choices(self, conv: list[dict], params: Sampling, n: int) -> list[str]:
        """The answers of one request for `n` choices (none when the server refuses it)."""
        import openai

        kw: dict[str, Any] = dict(
            model=self.served_model, messages=conv, n=n, max_tokens=params.max_tokens,
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
            return []
        return [(c.message.content or "") for c in sorted(resp.choices, key=lambda c: c.index)]

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

