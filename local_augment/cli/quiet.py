"""A quiet terminal: every library's output goes to OUTPUT/logs/run.log, ours to the terminal.

vLLM, torch, transformers, Triton and Ray print from Python, from C++ and from child processes
(vLLM's engine core), so Python-level filters are not enough: file descriptors 1 and 2 are
pointed at the log for the whole run, and the command line writes its progress, notices and
summary to duplicates of the original terminal descriptors.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass
class Terminal:
    """Where our own text goes while the run is quiet."""

    out: TextIO
    err: TextIO
    log_path: Path | None


@contextmanager
def quiet_terminal(log_path: Path, enabled: bool = True) -> Iterator[Terminal]:
    """Inside the block, fds 1 and 2 (and sys.stdout/err) write to `log_path`, appended."""
    if not enabled:
        yield Terminal(sys.stdout, sys.stderr, None)
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    out = os.fdopen(os.dup(saved[0]), "w", buffering=1, encoding="utf-8", errors="replace")
    err = os.fdopen(os.dup(saved[1]), "w", buffering=1, encoding="utf-8", errors="replace")
    # Python-level writers too (they may not be fds 1/2, e.g. under a test runner)
    log_stream = os.fdopen(os.dup(log_fd), "w", buffering=1, encoding="utf-8", errors="replace")
    old_streams = (sys.stdout, sys.stderr)
    handler = logging.StreamHandler(log_stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_handlers, old_level = root.handlers[:], root.level
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        sys.stdout = sys.stderr = log_stream
        # everything our modules and the libraries log, at info and up, lands in the log
        root.handlers = [handler]
        root.setLevel(logging.INFO)
        yield Terminal(out, err, log_path)
    finally:
        log_stream.flush()
        sys.stdout, sys.stderr = old_streams
        sys.stdout.flush()
        sys.stderr.flush()
        root.handlers, root.level = old_handlers, old_level
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, log_fd):
            os.close(fd)
        out.close()
        err.close()
        log_stream.close()
