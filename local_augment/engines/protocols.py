"""What the rest of the package may use of each engine: the embedder, the scorer LM, a
translator and the chat LLM, as Protocols.

Callers (the QC chain, the contamination guard, the executors, the augmenters) are typed against
these, not `Any` and not the concrete classes, so a stand-in (a test's hash embedder or
queued-answer LLM, a library user's own engine) only has to have these methods. The concrete
engines satisfy them structurally; tests/engines/test_protocols.py checks each one and each fake.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from local_augment.engines.llm.base import Sampling
    from local_augment.engines.scorer import LogLik
    from local_augment.engines.translator import Decode

# texts -> one unit vector per row (an encoder's bound `encode`)
EncodeFn = Callable[[Sequence[str]], np.ndarray]


@runtime_checkable
class ModelEngine(Protocol):
    """The lifecycle every engine shares (engines/base.py)."""

    def load(self) -> Any:
        """Load once; returns the engine."""

    def unload(self) -> None:
        """Free the model; safe twice."""

    def describe(self) -> dict[str, Any]:
        """Provenance: name, checksum, engine (and device)."""


@runtime_checkable
class Encoder(ModelEngine, Protocol):
    """A sentence embedder: unit vectors of texts, and the token vectors behind them."""

    def encode(self, texts: Sequence[str], *, keep_tokens: Collection[str] = ()) -> np.ndarray:
        """One unit row per text; the token vectors of `keep_tokens` texts are kept for
        `token_vectors` (one forward pass gives both)."""

    def token_vectors(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, its unit token vectors (tokens × dim)."""


@runtime_checkable
class Scorer(ModelEngine, Protocol):
    """A causal LM that scores texts (fluency, does the output still answer)."""

    def loglik(self, texts: Sequence[str], prefixes: Sequence[str] | None = None,
               max_text_tokens: int | None = None,
               stage_name: str = "qc scorer") -> list[LogLik]:
        """Log-likelihood of each text's tokens, after its prefix when given."""

    def chat_prefix(self, user: str) -> str:
        """The text before an assistant's answer to `user`, in the model's chat template."""


@runtime_checkable
class TextTranslator(ModelEngine, Protocol):
    """One translation direction."""

    engine: str
    decode: Decode  # its decoding settings (part of the model-output cache key)

    def translate(self, texts: Sequence[str], *, n: int = 1) -> list[list[str]]:
        """`n` translations per text, in input order."""


@runtime_checkable
class ChatModel(ModelEngine, Protocol):
    """The run's LLM: answers to conversations, and yes/no probabilities for the judge."""

    def chat(self, conversations: Sequence[list[dict]], params: Sampling) -> list[list[str]]:
        """`params.n` answers per conversation, in the order given."""

    def yes_probability(self, conversations: Sequence[list[dict]]) -> list[float]:
        """P(yes) / (P(yes) + P(no)) of each conversation's first answer token."""

    def cache_key(self) -> str:
        """What identifies this model's outputs in the model-output cache."""
