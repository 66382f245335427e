"""Fakes for fast unit tests of the code around the models, never instead of the real-model tests.

`FakeLLM` answers from a queue (or a function of the conversation) and records what it was asked;
`HashEmbedder` gives deterministic unit vectors from hashed words, so texts that share words are
close and identical texts are identical, with no model installed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from local_augment.config import LLMConfig
from local_augment.engines.base import Engine
from local_augment.engines.llm import LLMEngine, Sampling

_WORD = re.compile(r"\w+")


class FakeLLM(LLMEngine):
    """Answers each conversation with the next queued answers (`n` samples each), or with
    `answer(conversation, sample)`; every call is kept in `calls`."""

    engine = "fake"

    def __init__(self, answers: Sequence[str | list[str]] = (),
                 answer: Callable[[list[dict], int], str] | None = None) -> None:
        super().__init__(LLMConfig(), {"name": "fake-llm", "checksum": "sha256:fake"})
        self.queue = list(answers)
        self.answer = answer
        self.calls: list[tuple[list[list[dict]], Sampling]] = []
        self.loaded = False

    def load(self) -> FakeLLM:
        self.loaded = True
        return self

    def chat(self, conversations: Sequence[list[dict]], params: Sampling) -> list[list[str]]:
        self.calls.append(([list(c) for c in conversations], params))
        out = []
        for conv in conversations:
            if self.answer is not None:
                out.append([self.answer(conv, s) for s in range(params.n)])
                continue
            if not self.queue:
                raise AssertionError("FakeLLM: no answer queued for this conversation")
            item = self.queue.pop(0)
            out.append(list(item) if isinstance(item, list) else [item] * params.n)
        return out

    def yes_probability(self, conversations: Sequence[list[dict]]) -> list[float]:
        return [0.9 for _ in conversations]


def _unit(seed: str, dim: int) -> np.ndarray:
    rng = np.random.default_rng(int.from_bytes(hashlib.blake2b(seed.encode()).digest()[:8], "big"))
    v = rng.normal(size=dim).astype(np.float32)
    return v / np.linalg.norm(v)


class HashEmbedder(Engine):
    """Sum of per-word random unit vectors (seeded by the word), normalised."""

    engine = "hash"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim

    def load(self) -> HashEmbedder:
        return self

    def describe(self) -> dict[str, Any]:
        return {"name": "hash-embedder", "engine": self.engine}

    def _tokens(self, text: str) -> list[str]:
        return _WORD.findall(text.casefold()) or ["<empty>"]

    def encode(self, texts: Sequence[str], *, keep_tokens: Any = ()) -> np.ndarray:  # noqa: ARG002
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            v = sum(_unit(w, self.dim) for w in self._tokens(text))
            out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
        return out

    def token_vectors(self, texts: Sequence[str]) -> list[np.ndarray]:
        return [np.stack([_unit(w, self.dim) for w in self._tokens(t)]) for t in texts]
