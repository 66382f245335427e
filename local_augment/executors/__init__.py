"""Where the per-shard work runs: here (`local`) or on a Ray cluster (`ray`).

Both executors run the same `shard.process.process_shard` over the same shards and hand the results to
the same `ShardStore`, so the global steps and the output files are the same.
"""

from __future__ import annotations

from local_augment.errors import UserError
from local_augment.executors.base import Executor, ShardsDone, ShardWork

EXECUTORS = ("local", "ray")


def get_executor(name: str = "local", address: str | None = None, *, llm: str = "auto",
                 llm_replicas: int = 1) -> Executor:
    """`llm`, `llm_replicas`: how the Ray executor runs LLM methods (see `RayExecutor`)."""
    if name == "local":
        from local_augment.executors.local import LocalExecutor

        return LocalExecutor()
    if name == "ray":
        try:
            from local_augment.executors.ray import RayExecutor
        except ImportError as exc:
            raise UserError(
                f"--executor ray needs Ray Data ({exc.name} is missing): "
                "pip install 'local_augment[ray]'"
            ) from None
        return RayExecutor(address=address, llm=llm, llm_replicas=llm_replicas)
    raise UserError(f"unknown executor {name!r}; use one of {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Executor", "ShardWork", "ShardsDone", "get_executor"]
