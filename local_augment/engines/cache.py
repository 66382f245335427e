"""A cache of model outputs keyed by (model checksum, params, input text).

Changing a QC threshold, the shard size or the mix makes a rerun redo shards, but not model calls:
every translation or LLM answer already made is read back from this SQLite file. `--fresh` clears
it. Writes are committed per batch, so a killed run keeps what it finished.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def cache_key(model: str, params: dict[str, Any], text: str) -> str:
    blob = json.dumps([model, params, text], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class ModelCache:
    """Key -> JSON value in SQLite; `ModelCache(None)` is a cache that stores nothing."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # several processes (Ray actors) may share the file: wait for their writes
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=60)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS out (k TEXT PRIMARY KEY, v TEXT)")
            self._db.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, Any]:
        if self._db is None or not keys:
            return {}
        found: dict[str, Any] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                part = list(keys[start:start + 500])
                marks = ",".join("?" * len(part))
                for k, v in self._db.execute(f"SELECT k, v FROM out WHERE k IN ({marks})", part):
                    found[k] = json.loads(v)
        return found

    def put_many(self, items: dict[str, Any]) -> None:
        if self._db is None or not items:
            return
        with self._lock:
            self._db.executemany("INSERT OR REPLACE INTO out VALUES (?, ?)",
                                 [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()])
            self._db.commit()

    def map(self, model: str, params: dict[str, Any], texts: Sequence[str],
            compute: Callable[[list[str]], list[Any]]) -> list[Any]:
        """Results for every text; `compute` runs once, on the distinct texts not cached yet."""
        keys = [cache_key(model, params, t) for t in texts]
        found = self.get_many(list(dict.fromkeys(keys)))
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in found and k not in todo:
                todo[k] = t
        self.hits += len(texts) - sum(1 for k in keys if k in todo)
        self.misses += len(todo)
        if todo:
            results = compute(list(todo.values()))
            fresh = dict(zip(todo.keys(), results, strict=True))
            self.put_many(fresh)
            found.update(fresh)
        return [found[k] for k in keys]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def clear(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.execute("DELETE FROM out")
                self._db.commit()
