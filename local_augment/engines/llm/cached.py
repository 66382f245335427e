"""An LLM engine whose answers go through the run's model-output cache."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from local_augment.engines.cache import ModelCache, cache_key
from local_augment.engines.llm.base import TOP_LOGPROBS, LLMEngine, Sampling


def _text(conversation: list[dict]) -> str:
    return json.dumps(conversation, sort_keys=True, ensure_ascii=False)


class CachedLLM(LLMEngine):
    """Wraps an engine: answers keyed by (model checksum + engine, sampling + seed, conversation).

    A resumed or re-scored run asks the model only for conversations it has not answered yet,
    and never loads the model when every answer is cached. `lookup`/`remember` let an executor
    that serves requests elsewhere (`ray.data.llm`) use the same entries.
    """

    def __init__(self, engine: LLMEngine, cache: ModelCache) -> None:
        super().__init__(engine.cfg, engine.model_info, engine.seed)
        self.inner = engine
        self.cache = cache
        self.engine = engine.engine

    def load(self) -> CachedLLM:
        """Nothing yet: the engine loads on the first answer not in the cache."""
        return self

    def unload(self) -> None:
        self.inner.unload()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def _settings(self, params: Sampling) -> dict[str, Any]:
        return {**asdict(params), "seed": self.seed}

    def chat(self, conversations: Sequence[list[dict]], params: Sampling) -> list[list[str]]:
        texts = [_text(c) for c in conversations]
        by_text = dict(zip(texts, conversations, strict=True))
        return self.cache.map(self.cache_key(), self._settings(params), texts,
                              lambda todo: self.inner.chat([by_text[t] for t in todo], params))

    def yes_probability(self, conversations: Sequence[list[dict]]) -> list[float]:
        texts = [_text(c) for c in conversations]
        by_text = dict(zip(texts, conversations, strict=True))
        return self.cache.map(
            self.cache_key(), {"judge": "yes_probability", "top": TOP_LOGPROBS}, texts,
            lambda todo: self.inner.yes_probability([by_text[t] for t in todo]))

    def _keys(self, conversations: Sequence[list[dict]], params: Sampling) -> list[str]:
        model, settings = self.cache_key(), self._settings(params)
        return [cache_key(model, settings, _text(c)) for c in conversations]

    def lookup(self, conversations: Sequence[list[dict]],
               params: Sampling) -> list[list[str] | None]:
        """Cached answers per conversation, None where there are none yet."""
        keys = self._keys(conversations, params)
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        self.cache.hits += sum(1 for k in keys if k in found)
        self.cache.misses += sum(1 for k in keys if k not in found)
        return [found.get(k) for k in keys]

    def remember(self, conversations: Sequence[list[dict]], params: Sampling,
                 answers: Sequence[list[str]]) -> None:
        """Store answers served elsewhere under the keys `chat` would use."""
        keys = self._keys(conversations, params)
        self.cache.put_many(dict(zip(keys, answers, strict=True)))
