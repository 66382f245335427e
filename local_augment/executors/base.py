"""The executor interface: turn a stream of input shards into finished shards in the store."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from local_augment.augmenters.base import Augmenter, Context
from local_augment.data.records import ALPACA, Example
from local_augment.engines.protocols import Encoder
from local_augment.progress import Progress
from local_augment.quality.chain import QualityChain
from local_augment.shard.store import ShardStore

log = logging.getLogger("local_augment.executors")
Shard = tuple[str, list[Example], list[dict[str, Any]]]


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
    embedder: Encoder
    store: ShardStore
    progress: Progress
    total_rows: int | None = None
    chain: QualityChain | None = None


@dataclass
class ShardsDone:
    keys: list[str] = field(default_factory=list)
    layout: str | None = None
    timings: Counter[str] = field(default_factory=Counter)
    cache: Counter[str] = field(default_factory=Counter)  # model-cache hits/misses on workers


@dataclass
class Pending:
    """A shard still to process: its key, input rows (good and bad) and the file's layout."""

    key: str
    examples: list[Example]
    bad: list[dict[str, Any]]
    layout: str

    @property
    def rows(self) -> int:
        return len(self.examples) + len(self.bad)


class ShardWalk:
    """The shard walk both executors share: records every key and the layout, skips shards
    already done (resume) and reports progress in input rows."""

    def __init__(self, work: ShardWork, done: ShardsDone) -> None:
        self.work = work
        self.done = done
        self.rows = 0

    def advance(self, rows: int) -> None:
        self.rows += rows
        self.work.progress("generate+score", self.rows, self.work.total_rows)

    def pending(self, shards: Iterable[Shard]) -> Iterator[Pending]:
        self.work.progress("generate+score", 0, self.work.total_rows)
        for key, examples, bad in shards:
            self.done.keys.append(key)
            if self.done.layout is None and examples:
                self.done.layout = examples[0].layout
            if self.work.store.done(key):
                log.info("shard %s already done, skipped (resume)", key)
                self.advance(len(examples) + len(bad))
                continue
            yield Pending(key, examples, bad, self.done.layout or ALPACA)


class Executor(Protocol):
    name: str

    def run_shards(self, shards: Iterable[Shard], work: ShardWork) -> ShardsDone: ...
