"""Progress inside model stages: engines tick, the caller's callback draws.

The pipeline installs the run's callback with `reporting(callback)`; an engine that works through
a long batch opens `stage(name, total)` and calls the returned tick with each chunk it finishes.
With no callback installed (a Ray actor, a library user) ticking costs nothing.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Progress = Callable[[str, int, int | None], None]  # (stage, done, total)
Tick = Callable[[int], None]

_current: contextvars.ContextVar[Progress | None] = contextvars.ContextVar("progress", default=None)


@contextmanager
def reporting(callback: Progress | None) -> Iterator[None]:
    """Route `stage` ticks to `callback` (stage, done, total) while the block runs."""
    token = _current.set(callback)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def stage(name: str, total: int) -> Iterator[Tick]:
    """A tick for `name`: call it with the number of items just finished."""
    callback = _current.get()
    if callback is None or total <= 0:
        yield lambda _n: None
        return
    done = 0
    callback(name, 0, total)

    def tick(n: int) -> None:
        nonlocal done
        done = min(total, done + n)
        callback(name, done, total)

    try:
        yield tick
    finally:
        if done < total:
            callback(name, total, total)


def chunks(n: int, size: int) -> list[range]:
    """`range`s of at most `size` items covering 0..n: fixed sizes, so that sampled outputs
    (whose random streams follow the calls) do not depend on timing."""
    size = max(1, size)
    return [range(i, min(n, i + size)) for i in range(0, n, size)]
