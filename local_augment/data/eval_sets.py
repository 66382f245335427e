"""Eval sets for the contamination guard: the prompts of a user's benchmark, from any format.

Accepted: Alpaca JSONL (instruction, plus input when there is one), chat JSONL (`messages`: every
user turn is a prompt), JSONL with a `prompt`, `question` or `text` field, Parquet with any of
those columns, or plain text (any other extension): one prompt per non-blank line. Each set is
named after its file stem; each prompt has an id: the row's `id` field when there is one, else
its line (or Parquet row) number, with `.<turn>` for the user turns of a chat row after the first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_augment.data.formats import json_lines
from local_augment.errors import UserError

JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")
TEXT_FIELDS = ("prompt", "question", "text")


@dataclass
class EvalSet:
    """One eval set: its name (the file stem), where it came from, and its prompts with ids."""

    name: str
    path: Path
    ids: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.prompts)


def _row_prompts(row: Any, where: str) -> list[str]:
    """The prompts of one JSON row; a UserError naming `where` if it has none."""
    if not isinstance(row, dict):
        raise UserError(f"{where}: an eval row must be a JSON object, got {type(row).__name__}")
    if "messages" in row and row["messages"] is not None:
        msgs = row["messages"]
        if not isinstance(msgs, (list, tuple)):
            raise UserError(f'{where}: "messages" must be a list of {{role, content}} turns')
        users = []
        for i, turn in enumerate(msgs):
            if not isinstance(turn, dict) or not isinstance(turn.get("content"), str):
                raise UserError(f"{where}: messages[{i}] must be an object with a string content")
            if turn.get("role") == "user" and turn["content"].strip():
                users.append(turn["content"])
        if not users:
            raise UserError(f"{where}: no non-empty user turn in messages")
        return users
    if "instruction" in row:
        ins, inp = row["instruction"], row.get("input") or ""
        if not isinstance(ins, str) or not isinstance(inp, str):
            raise UserError(f'{where}: "instruction" and "input" must be strings')
        if not ins.strip():
            raise UserError(f'{where}: empty "instruction"')
        return [ins + ("\n\n" + inp if inp.strip() else "")]
    for key in TEXT_FIELDS:
        if key in row:
            if not isinstance(row[key], str) or not row[key].strip():
                raise UserError(f'{where}: field "{key}" must be a non-empty string')
            return [row[key]]
    keys = ", ".join(sorted(map(str, row))[:8])
    raise UserError(f'{where}: no prompt found (expected "instruction", "messages", '
                    f'"prompt", "question" or "text"; keys: {keys})')


def _row_id(row: dict[str, Any], fallback: str) -> str:
    value = row.get("id")
    return fallback if value is None or isinstance(value, bool) else str(value)


def _jsonl(path: Path) -> Iterator[tuple[str, str]]:
    for lineno, row, problem in json_lines(path):
        where = f"{path}:{lineno}"
        if problem is not None:
            raise UserError(f"{where}: {problem}")
        prompts = _row_prompts(row, where)
        base = _row_id(row, str(lineno))
        for k, text in enumerate(prompts):
            yield (base if k == 0 else f"{base}.{k}"), text


def _parquet(path: Path) -> Iterator[tuple[str, str]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise UserError(f"{path}: not a readable Parquet file ({exc})") from None
    n = 0
    for batch in pf.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            n += 1
            prompts = _row_prompts(row, f"{path}: row {n}")
            base = _row_id(row, str(n))
            for k, text in enumerate(prompts):
                yield (base if k == 0 else f"{base}.{k}"), text


def _text(path: Path) -> Iterator[tuple[str, str]]:
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise UserError(f"{path}:{lineno}: invalid UTF-8 at byte {exc.start}") from None
            line = line.removeprefix("\ufeff").strip()
            if line:
                yield str(lineno), line


def read_eval_set(path: str | Path) -> EvalSet:
    """Every prompt of one eval file; a UserError with file and line for anything unusable."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: eval set not found" if not path.exists()
                        else f"{path}: eval set is not a file")
    suffix = path.suffix.lower()
    reader = _jsonl if suffix in JSONL_SUFFIXES else _parquet if suffix in PARQUET_SUFFIXES \
        else _text
    es = EvalSet(name=path.stem, path=path)
    seen: set[str] = set()
    for pid, text in reader(path):
        if pid in seen:
            raise UserError(f"{path}: duplicate eval id {pid!r}; ids must be unique in a set")
        seen.add(pid)
        es.ids.append(pid)
        es.prompts.append(text)
    if not es.prompts:
        raise UserError(f"{path}: eval set has no prompts")
    return es


def read_eval_sets(paths: Sequence[str | Path]) -> list[EvalSet]:
    """Each file as one set; two files with the same stem are an error (the name is the set's)."""
    sets: list[EvalSet] = []
    names: dict[str, Path] = {}
    for p in paths:
        es = read_eval_set(p)
        if es.name in names:
            raise UserError(f"{p}: eval set name {es.name!r} is already used by {names[es.name]}; "
                            "eval sets are named after their file stem, rename one")
        names[es.name] = es.path
        sets.append(es)
    return sets
