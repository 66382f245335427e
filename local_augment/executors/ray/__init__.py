"""The Ray executor, split by job: `cluster` (start or join Ray), `payload` (what travels),
`actor` (the shard actor), `llm_serving` (`ray.data.llm`), `executor` (planning and the run)."""

from local_augment.executors.ray.cluster import local_ray_kwargs
from local_augment.executors.ray.executor import RayExecutor

__all__ = ["RayExecutor", "local_ray_kwargs"]
