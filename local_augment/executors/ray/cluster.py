"""Starting or joining a Ray cluster, and what the executor asks of it."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from local_augment.errors import UserError

log = logging.getLogger("local_augment.executors.ray")

# Unix socket paths are limited to 107 bytes; Ray puts them under
# <temp>/session_<date>_<time>_<pid>/sockets/plasma_store (about 65 bytes below <temp>).
MAX_TEMP_DIR_CHARS = 40
AUTH_ENV = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def ray_temp_dir(work_dir: Path) -> Path:
    """Ray's temp dir: RAY_TMPDIR, else beside the run's work dir, else the project cache
    (short paths)."""
    env = os.environ.get("RAY_TMPDIR")
    if env:
        return Path(env)
    cache = Path(os.environ.get("LOCAL_AUGMENT_CACHE", ".cache"))
    for cand in (work_dir.parent / "ray", cache / "ray"):
        cand = cand.resolve()
        if len(str(cand)) <= MAX_TEMP_DIR_CHARS:
            return cand
    return cache.resolve() / "r"


def local_ray_kwargs(temp: Path) -> dict[str, Any]:
    """`ray.init` arguments for a private local Ray whose files all stay under `temp`.

    Ray 2.60 turns token auth on for a new local Ray and writes the token to ~/.ray; unless the
    user chose an auth setup, keep a token of our own next to the temp dir instead.
    """
    temp.mkdir(parents=True, exist_ok=True)
    if not any(k in os.environ for k in AUTH_ENV):
        token = temp / "auth_token"
        if not token.is_file():
            token.touch(mode=0o600)
            token.write_text(secrets.token_hex(32))
        os.environ["RAY_AUTH_TOKEN_PATH"] = str(token)
    return {"_temp_dir": str(temp), "include_dashboard": False, "log_to_driver": False,
            "configure_logging": False}


class Cluster:
    """A connection to `address`, or a private local Ray, started on first use."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self._started = False

    def connect(self, work_dir: Path) -> Any:
        import ray

        if ray.is_initialized():
            return ray
        kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
        if self.address:
            kwargs["address"] = self.address
        else:
            kwargs.update(local_ray_kwargs(ray_temp_dir(work_dir)))
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a local Ray"
            raise UserError(f"cannot start or reach {where}: {exc}".splitlines()[0]) from None
        self._started = True
        log.info("ray: %s", ray.cluster_resources())
        return ray

    def shutdown(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


def cluster_device(ray: Any) -> str:
    """`cuda` when the cluster has GPUs, else `cpu`."""
    return "cuda" if ray.cluster_resources().get("GPU", 0) else "cpu"


def user_error(exc: Exception) -> Exception:
    """A UserError raised inside an actor (a missing model on a node) stays a one-line error."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, UserError):
            return UserError(f"on a Ray worker: {cause}")
        cause = getattr(cause, "cause", None) or cause.__cause__
    return exc
