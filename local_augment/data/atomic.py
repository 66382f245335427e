"""Files that appear under their name only when complete: write a temp file beside, then rename."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temp path beside `path` to write to; when the block ends cleanly the file is synced and
    renamed onto `path`, when it raises the temp file is removed."""
    tmp = path.with_name(path.name + suffix)
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: Path, data: bytes | str) -> None:
    with atomic_path(path) as tmp:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)


def write_jsonl_rows(path: Path, rows: Iterator[dict[str, Any]]) -> int:
    """Write rows as JSON lines to `path` atomically (temp file + rename); returns the count."""
    n = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_parquet_rows(path: Path, rows: Iterator[dict[str, Any]],
                       empty_like: Path | None = None) -> int:
    """Write rows to Parquet atomically; nested values (messages, _provenance) stay nested.
    With no rows, the table keeps `empty_like`'s columns (the input's), so it reads back."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    materialised = list(rows)
    if materialised:
        # every key of every row (from_pylist would take the first row's keys only)
        names = list(dict.fromkeys(k for row in materialised for k in row))
        table = pa.table({k: [row.get(k) for row in materialised] for k in names})
    elif empty_like is not None:
        table = pq.read_schema(empty_like).empty_table()
    else:
        table = pa.table({})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return len(materialised)


class AtomicJsonlWriter:
    """A JSON-lines file that appears under its name only once complete (temp file + rename).

    As a context manager it commits when the block ends and aborts (no file) when it raises.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(path.name + ".tmp")
        self.count = 0
        self._fh = open(self.tmp, "w", encoding="utf-8", newline="\n")  # noqa: SIM115

    def write(self, row: dict[str, Any]) -> None:
        self._fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.count += 1

    def commit(self) -> int:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.tmp, self.path)
        return self.count

    def abort(self) -> None:
        self._fh.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicJsonlWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


class StdoutJsonl:
    """JSON lines to standard output, with the writer's interface (for `-o -`-style commands)."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, row: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.count += 1

    def __enter__(self) -> StdoutJsonl:
        return self

    def __exit__(self, *_: object) -> None:
        sys.stdout.flush()
