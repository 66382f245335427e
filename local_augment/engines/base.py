"""The lifecycle every model engine shares: load, unload, describe, a cache key.

The embedder, the scorer LM, the translators and the LLM engines all follow it, so the run can
load lazily, unload everything it started in one place (`EnginePool`), record the same provenance
shape, and key the model-output cache the same way.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("local_augment.engines")
E = TypeVar("E", bound="Engine")


class Engine(ABC):
    """A model behind one job. `load` is idempotent and cheap once loaded; `unload` is safe twice."""

    engine: str = "engine"

    @abstractmethod
    def load(self: E) -> E:
        """Load the model (once); returns the engine."""

    def unload(self) -> None:  # noqa: B027 - engines without resources need nothing
        """Free the model; safe to call twice."""

    def describe(self) -> dict[str, Any]:
        """Provenance: model name, checksum, engine (and device)."""
        return {"engine": self.engine}

    def cache_key(self) -> str:
        """What identifies this engine's outputs in the model-output cache."""
        info = self.describe()
        return f"{info.get('name')}:{info.get('checksum')}:{info.get('engine')}"


class EnginePool:
    """The engines a run created, by key: built on first use, all unloaded at the end."""

    def __init__(self) -> None:
        self._engines: dict[str, Any] = {}

    def get(self, key: str, build: Callable[[], Any]) -> Any:
        if key not in self._engines:
            self._engines[key] = build()
        return self._engines[key]

    def peek(self, key: str) -> Any | None:
        """The engine under `key` if one was built, else None (never builds)."""
        return self._engines.get(key)

    def unload_all(self) -> None:
        for key, engine in list(self._engines.items()):
            try:
                engine.unload()
            except Exception as exc:  # best effort: one engine must not keep the others loaded
                log.warning("unloading %s: %s", key, exc)
        self._engines.clear()
