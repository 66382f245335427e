"""N-gram matching for the contamination guard: normalised tokens, rolling hashes of token-id
windows, and sorted (hash, eval prompt) tables looked up with `searchsorted`."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

_TOKEN = re.compile(r"\w+")
_P = np.uint64(0x100000001B3)  # FNV prime: the rolling hash's base (uint64 arithmetic wraps)


def tokens(text: str) -> list[str]:
    """Normalised tokens: NFKC, lower case, runs of letters/digits (punctuation dropped)."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())


def window_hashes(flat: np.ndarray, m: int) -> np.ndarray:
    """Rolling hash of every length-`m` window of `flat` (len(flat) - m + 1 values)."""
    n = len(flat) - m + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(m):
            h = h * _P + flat[k:k + n]
    return h


def windows(ids: list[np.ndarray], m: int) -> tuple[np.ndarray, np.ndarray]:
    """(hash, owner) of every length-`m` window inside one sequence, none with an unknown token."""
    if not ids:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    lens = np.array([len(a) for a in ids], dtype=np.int64)
    flat = np.concatenate(ids).astype(np.uint64) if lens.sum() else np.zeros(0, np.uint64)
    h = window_hashes(flat, m)
    if not len(h):
        return h, np.zeros(0, dtype=np.int64)
    owner = np.repeat(np.arange(len(ids)), lens)[:len(h)]
    ends = np.cumsum(lens)
    inside = np.arange(len(h)) + m <= ends[owner]
    unknown = np.concatenate([[0], np.cumsum(flat == 0)])
    known = unknown[np.arange(len(h)) + m] - unknown[:len(h)] == 0
    keep = inside & known
    return h[keep], owner[keep]


class NgramTable:
    """Sorted (hash, eval prompt) pairs of one window length; distinct per prompt."""

    def __init__(self, hashes: np.ndarray, owners: np.ndarray) -> None:
        pairs = np.unique(np.stack([hashes, owners.astype(np.uint64)], axis=1), axis=0) \
            if len(hashes) else np.zeros((0, 2), dtype=np.uint64)
        self.hashes = np.ascontiguousarray(pairs[:, 0])
        self.owners = pairs[:, 1].astype(np.int32)

    def lookup(self, hashes: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        """(row, eval prompt, hash) for every window hash found in the table."""
        lo = np.searchsorted(self.hashes, hashes, side="left")
        hi = np.searchsorted(self.hashes, hashes, side="right")
        counts = hi - lo
        found = counts > 0
        counts, lo = counts[found], lo[found]
        if not len(counts):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.uint64)
        pos = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        return np.repeat(rows[found], counts), self.owners[pos], np.repeat(hashes[found], counts)
