"""The default executor: shards one after another in this process, models loaded once."""

from __future__ import annotations

from collections.abc import Iterable

from local_augment.executors.base import Shard, ShardsDone, ShardWalk, ShardWork
from local_augment.shard.process import process_shard


class LocalExecutor:
    name = "local"

    def run_shards(self, shards: Iterable[Shard], work: ShardWork) -> ShardsDone:
        done = ShardsDone()
        walk = ShardWalk(work, done)
        loaded = False
        for shard in walk.pending(shards):
            if not loaded:
                for aug in work.augmenters:
                    aug.load()
                loaded = True
            result = process_shard(shard.key, shard.examples, shard.bad, work.augmenters,
                                   work.chain, shard.layout)
            work.store.save(result)
            done.timings.update(result.stats["timings"])
            walk.advance(shard.rows)
        return done
