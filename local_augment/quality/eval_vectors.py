"""Eval-set embeddings cached across runs: one .npy per eval file, keyed by the file's content
hash and the embedder's checksum, under the run cache (`$LOCAL_AUGMENT_CACHE/eval_vectors`).

A 100k-prompt eval set costs minutes to encode on a CPU; the guard reads it back in
milliseconds on every later run with the same file and embedder. A changed file or another
embedder is another key, so a stale entry is never read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from local_augment.data.eval_sets import EvalSet


def default_root() -> Path:
    return Path(os.environ.get("LOCAL_AUGMENT_CACHE", ".cache")).resolve() / "eval_vectors"


class EvalVectorCache:
    """Vectors of each eval set's prompts (float16, the guard's own precision)."""

    def __init__(self, embedder_checksum: str, root: Path | None = None) -> None:
        self.embedder = embedder_checksum
        self.root = root or default_root()

    def path(self, es: EvalSet) -> Path:
        h = hashlib.sha256()
        with open(es.path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        h.update(self.embedder.encode())
        return self.root / f"{h.hexdigest()[:32]}.npy"

    def load(self, es: EvalSet) -> np.ndarray | None:
        """The set's vectors, or None when they are not cached (or the entry does not fit)."""
        path = self.path(es)
        try:
            mat = np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None
        return mat if mat.ndim == 2 and mat.shape[0] == len(es) else None

    def save(self, es: EvalSet, mat: np.ndarray) -> Path | None:
        """Store the set's vectors atomically; a read-only cache is skipped, not an error."""
        path = self.path(es)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
            np.save(tmp, np.ascontiguousarray(mat, dtype=np.float16), allow_pickle=False)
            os.replace(tmp, path)
        except OSError:
            return None
        return path
