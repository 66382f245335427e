"""Sentence embeddings with sentence-transformers: L2-normalised float32, batched, length-sorted."""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.config import Config
from local_augment.engines.base import Engine
from local_augment.engines.manifest import Manifest, pick_device
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
        self._tokens = TokenStore()

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
        self._tokens.clear()

    def describe(self) -> dict[str, Any]:
        return {"name": self.path.name, "engine": f"sentence-transformers:{self.device}"}

    def encode(self, texts: Sequence[str], *, keep_tokens: Collection[str] = ()) -> np.ndarray:
        """Unit vectors, longest texts first in chunks of `CHUNK` (progress ticks per chunk).

        `keep_tokens`: texts whose token vectors the same forward pass keeps for
        `token_vectors` (the meaning check), so those texts are not encoded twice."""
        self.load()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        texts = list(texts)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        keep = set(keep_tokens)
        with stage("embed", len(texts)) as tick:
            for part in chunks(len(order), CHUNK):
                idx = [order[i] for i in part]
                batch = [texts[i] for i in idx]
                if keep and any(t in keep for t in batch):
                    out[idx] = self._encode_with_tokens(batch, keep)
                else:
                    out[idx] = self._model.encode(
                        batch, batch_size=self.batch_size, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)
                tick(len(idx))
        return out

    def _encode_with_tokens(self, batch: list[str], keep: set[str]) -> np.ndarray:
        """One pass for both outputs: pooled sentence vectors (normalised as the plain path
        does) and, for the texts in `keep`, their token vectors into the token store."""
        import torch

        outs = self._model.encode(batch, batch_size=self.batch_size, output_value=None,
                                  convert_to_numpy=False, show_progress_bar=False)
        pooled = torch.stack([o["sentence_embedding"] for o in outs])
        vecs = torch.nn.functional.normalize(pooled, p=2, dim=1).float().cpu().numpy()
        for text, o in zip(batch, outs, strict=True):
            if text in keep:
                n = int(o["attention_mask"].sum().item())
                self._tokens.put(text, _unit_rows(o["token_embeddings"][:n]))
        return vecs

    def token_vectors(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, its contextual token vectors as unit rows, without [CLS] and [SEP]: from
        the token store when `encode` kept them, else from a forward pass now."""
        self.load()
        if not texts:
            return []
        found = {t: v for t in dict.fromkeys(texts) if (v := self._tokens.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            outs = self._model.encode(
                missing, batch_size=self.batch_size, output_value="token_embeddings",
                convert_to_numpy=False, show_progress_bar=False,
            )
            for text, t in zip(missing, outs, strict=True):
                found[text] = _unit_rows(t)
                self._tokens.put(text, found[text])
        return [found[t] for t in texts]


def _unit_rows(t: Any) -> np.ndarray:
    """A text's token vectors (a tensor, special tokens at both ends) as unit float32 rows."""
    arr = t.float().cpu().numpy()[1:-1]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return np.ascontiguousarray(arr / np.maximum(norms, 1e-12), dtype=np.float32)


class TokenStore:
    """Token vectors by text content, least recently used out first past `max_bytes`."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[bytes, np.ndarray] = OrderedDict()

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()

    def get(self, text: str) -> np.ndarray | None:
        key = self._key(text)
        arr = self._items.get(key)
        if arr is not None:
            self._items.move_to_end(key)
        return arr

    def put(self, text: str, arr: np.ndarray) -> None:
        key = self._key(text)
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= old.nbytes
        self._items[key] = arr
        self.bytes += arr.nbytes
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, gone = self._items.popitem(last=False)
            self.bytes -= gone.nbytes

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0


_LOADED: dict[tuple[str, str, int], Embedder] = {}


def get_embedder(path: str | Path, *, device: str = "auto", batch_size: int = 128) -> Embedder:
    """A loaded embedder, shared by every run in this process (loaded once)."""
    key = (str(Path(path).resolve()), pick_device(device), batch_size)
    if key not in _LOADED:
        _LOADED[key] = Embedder(path, device=device, batch_size=batch_size)
    return _LOADED[key]


def open_embedder(cfg: Config, manifest: Manifest) -> Embedder:
    """The configured embedder (`cfg.embedder`), installed and verified (a one-line ModelError
    if not), shared by everything in this process."""
    _, path = manifest.require(cfg.embedder.model, "embedder")
    return get_embedder(path, device=cfg.embedder.device, batch_size=cfg.embedder.batch_size)
