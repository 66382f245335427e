"""The executor interface: turn a stream of input shards into finished shards in the store."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from local_augment.augmenters.base import Augmenter, Context
from local_augment.records import Example
from local_augment.shards import ShardStore

Shard = tuple[str, list[Example], list[dict[str, Any]]]
Progress = Callable[[str, int, int | None], None]


@dataclass
class ShardWork:
    """What an executor needs to process shards.

    `augmenters`, `embedder` and the QC `chain` are built on the driver (the local executor uses
    them as they are); a distributed executor rebuilds them per worker from `ctx.config` and
    `methods`.
    """

    ctx: Context
    methods: list[str]
    augmenters: list[Augmenter]
    embedder: Any
    store: ShardStore
    progress: Progress
    total_rows: int | None = None
    chain: Any = None


@dataclass
class ShardsDone:
    keys: list[str] = field(default_factory=list)
    layout: str | None = None
    timings: Counter[str] = field(default_factory=Counter)


class Executor(Protocol):
    name: str

    def run_shards(self, shards: Iterable[Shard], work: ShardWork) -> ShardsDone: ...
