"""Shard results on disk: one unit of finished work, written atomically, found again on resume."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.data.atomic import atomic_path, atomic_write
from local_augment.data.records import Candidate


@dataclass
class ShardResult:
    """Everything one shard produced: originals, bad rows, scored candidates, row vectors.

    `orig_vecs[i]` is the row vector of original i; `cand_vecs[j]` that of candidate j (zeros for
    candidates already rejected). Vectors are stored as float16.
    """

    key: str
    originals: list[dict[str, Any]] = field(default_factory=list)  # {id, line, row}
    bad: list[dict[str, Any]] = field(default_factory=list)  # {line, reason, raw}
    candidates: list[Candidate] = field(default_factory=list)
    orig_vecs: np.ndarray | None = None
    cand_vecs: np.ndarray | None = None
    stats: dict[str, Any] = field(default_factory=dict)


class ShardStore:
    """`<work>/shards/<key>.json` + `.npz`, then a `<key>.done` marker holding the run fingerprint."""

    def __init__(self, work_dir: Path, fingerprint: str) -> None:
        self.dir = work_dir / "shards"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fingerprint = fingerprint

    def done(self, key: str) -> bool:
        marker = self.dir / f"{key}.done"
        try:
            return marker.read_text() == self.fingerprint
        except OSError:
            return False

    def save(self, result: ShardResult) -> None:
        meta = {
            "key": result.key, "originals": result.originals, "bad": result.bad,
            "candidates": [c.to_state() for c in result.candidates], "stats": result.stats,
        }
        atomic_write(self.dir / f"{result.key}.json",
                     json.dumps(meta, ensure_ascii=False).encode("utf-8"))
        # np.savez adds ".npz" to a name without it: the temp name keeps that ending
        with atomic_path(self.dir / f"{result.key}.npz", ".tmp.npz") as tmp:
            np.savez(tmp, orig=_f16(result.orig_vecs), cand=_f16(result.cand_vecs))
        atomic_write(self.dir / f"{result.key}.done", self.fingerprint.encode())

    def load(self, key: str) -> ShardResult:
        """A finished shard's rows and candidates (its vectors: `vectors`)."""
        meta = json.loads((self.dir / f"{key}.json").read_text(encoding="utf-8"))
        return ShardResult(
            key=key, originals=meta["originals"], bad=meta["bad"],
            candidates=[Candidate.from_state(s) for s in meta["candidates"]], stats=meta["stats"],
        )

    def vectors(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """(original row vectors, candidate row vectors) of one shard, float16."""
        with np.load(self.dir / f"{key}.npz") as z:
            return z["orig"], z["cand"]

    def clear(self) -> None:
        for p in self.dir.iterdir():
            p.unlink()


def _f16(a: np.ndarray | None) -> np.ndarray:
    return np.zeros((0, 0), dtype=np.float16) if a is None else a.astype(np.float16)
