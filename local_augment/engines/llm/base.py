"""What every LLM engine offers: `chat(conversations, Sampling) -> n answers each`, and judge
probabilities; the sampling settings; the yes/no share read from log-probabilities."""

from __future__ import annotations

import json
import math
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from local_augment.config import LLMConfig
from local_augment.engines.base import Engine

TOP_LOGPROBS = 20


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
        max_tokens: int | None = None, temperature: float | None = None,
    ) -> Sampling:
        """The run's sampling settings; a method's own `temperature` replaces the LLM's."""
        return cls(
            n=n, max_tokens=max_tokens or cfg.max_tokens,
            temperature=cfg.temperature if temperature is None else temperature,
            top_k=cfg.top_k, top_p=cfg.top_p,
            json_schema=json_schema if cfg.guided_json else None,
        )

    def describe(self) -> dict[str, Any]:
        """The sampling settings as provenance (the schema only as a flag)."""
        out = asdict(self)
        out["guided_json"] = out.pop("json_schema") is not None
        return out

    def key(self) -> str:
        """A stable string of these settings (to group requests that share them)."""
        return json.dumps(asdict(self), sort_keys=True)


class LLMEngine(Engine):
    """One interface for the in-process and the server engine."""

    engine = "llm"

    def __init__(self, cfg: LLMConfig, model_info: dict[str, Any], seed: int = 0) -> None:
        self.cfg = cfg
        self.model_info = dict(model_info)
        self.seed = seed

    def load(self) -> LLMEngine:
        return self

    @abstractmethod
    def chat(self, conversations: Sequence[list[dict]], params: Sampling) -> list[list[str]]:
        """`params.n` answers per conversation, in the order given."""

    @abstractmethod
    def yes_probability(self, conversations: Sequence[list[dict]]) -> list[float]:
        """P(yes) / (P(yes) + P(no)) of each conversation's first answer token (greedy, top-20
        log-probabilities); 0.5 when neither word is among them (the model did not decide)."""

    def describe(self) -> dict[str, Any]:
        """Model name, checksum and engine, for provenance."""
        return {**self.model_info, "engine": self.engine}


def yes_share(tokens: Any) -> float:
    """P(yes) / (P(yes) + P(no)) from (token text, log-probability) pairs; 0.5 if neither."""
    yes = no = 0.0
    for text, logprob in tokens:
        word = text.strip().strip(".,!:").casefold()
        if word == "yes":
            yes += math.exp(logprob)
        elif word == "no":
            no += math.exp(logprob)
    return yes / (yes + no) if yes + no > 0 else 0.5

