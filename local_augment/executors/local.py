"""The default executor: shards one after another in this process, models loaded once."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from local_augment.executors.base import Shard, ShardsDone, ShardWork
from local_augment.records import ALPACA
from local_augment.stages import process_shard

log = logging.getLogger("local_augment.executors.local")


class LocalExecutor:
    name = "local"

    def run_shards(self, shards: Iterable[Shard], work: ShardWork) -> ShardsDone:
        done = ShardsDone()
        rows = 0
        loaded = False
        work.progress("generate+score", 0, work.total_rows)
        for key, examples, bad in shards:
            done.keys.append(key)
            if done.layout is None and examples:
                done.layout = examples[0].layout
            if work.store.done(key):
                log.info("shard %s already done, skipped (resume)", key)
            else:
                if not loaded:
                    for aug in work.augmenters:
                        aug.load()
                    loaded = True
                result = process_shard(key, examples, bad, work.augmenters, work.chain,
                                       done.layout or ALPACA)
                work.store.save(result)
                done.timings.update(result.stats["timings"])
            rows += len(examples) + len(bad)
            work.progress("generate+score", rows, work.total_rows)
        return done
