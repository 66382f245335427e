"""Sentence embeddings with sentence-transformers: L2-normalised float32, batched, length-sorted."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.engines.base import Engine
from local_augment.models import pick_device
from local_augment.progress import chunks, stage

log = logging.getLogger("local_augment.embedder")
CHUNK = 2048  # texts per encode call: a few seconds on 2 CPU cores, full batches on a GPU


class Embedder(Engine):
    """A sentence-transformers model loaded once from a local folder.

    `encode` returns an (n, dim) float32 array of unit vectors; the underlying library sorts the
    texts by length inside each call, so one call per stage keeps padding low.
    """

    def __init__(self, path: str | Path, *, device: str = "auto", batch_size: int = 128) -> None:
        self.path = Path(path)
        self.device = pick_device(device)
        self.batch_size = batch_size
        self._model = None
        self.dim = 0

    def load(self) -> Embedder:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            log.info("loading embedder %s on %s", self.path, self.device)
            self._model = SentenceTransformer(
                str(self.path), device=self.device, local_files_only=True, trust_remote_code=False
            )
            if self.device.startswith("cuda"):
                self._model.half()
            self.dim = int(self._model.get_embedding_dimension())
        return self

    def unload(self) -> None:
        self._model = None

    def describe(self) -> dict[str, Any]:
        return {"name": self.path.name, "engine": f"sentence-transformers:{self.device}"}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, longest texts first in chunks of `CHUNK` (progress ticks per chunk)."""
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with stage("embed", len(texts)) as tick:
            for part in chunks(len(order), CHUNK):
                idx = [order[i] for i in part]
                vecs = self._model.encode(
                    [texts[i] for i in idx], batch_size=self.batch_size,
                    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
                out[idx] = vecs
                tick(len(idx))
        return out

    def token_vectors(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, its contextual token vectors as unit rows, without [CLS] and [SEP]."""
        self.load()
        if not texts:
            return []
        outs = self._model.encode(
            list(texts), batch_size=self.batch_size, output_value="token_embeddings",
            convert_to_numpy=False, show_progress_bar=False,
        )
        result: list[np.ndarray] = []
        for t in outs:
            arr = t.float().cpu().numpy()[1:-1]
            norms = np.linalg.norm(arr, axis=1, keepdims=True)
            result.append(np.ascontiguousarray(arr / np.maximum(norms, 1e-12), dtype=np.float32))
        return result


_LOADED: dict[tuple[str, str, int], Embedder] = {}


def get_embedder(path: str | Path, *, device: str = "auto", batch_size: int = 128) -> Embedder:
    """A loaded embedder, shared by every run in this process (loaded once)."""
    key = (str(Path(path).resolve()), pick_device(device), batch_size)
    if key not in _LOADED:
        _LOADED[key] = Embedder(path, device=device, batch_size=batch_size)
    return _LOADED[key]
