"""Read and write Alpaca JSONL, chat `messages` JSONL and Parquet, streaming, with clear errors.

Reading yields `Example`s for usable rows and `BadRow`s (with file, line and field) for the rest,
so a run can keep going and account for every row.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local_augment.data.records import ALPACA, MESSAGES, Example, content_id
from local_augment.errors import BadRow, UserError

JSONL = "jsonl"
PARQUET = "parquet"
FORMAT_CHOICES = ("alpaca", "messages", "parquet")
MAX_LINE_BYTES = 8 * 1024 * 1024
MAX_TEXT_CHARS = 200_000
ROLES = ("system", "user", "assistant", "tool")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")


def container_of(path: Path, fmt: str | None) -> str:
    """`jsonl` or `parquet`, from --format or the file name."""
    if fmt == "parquet":
        return PARQUET
    if fmt in ("alpaca", "messages"):
        return JSONL
    if fmt is not None:
        raise UserError(f"unknown --format {fmt!r}: use one of {', '.join(FORMAT_CHOICES)}")
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return PARQUET
    if suffix in (".jsonl", ".json", ".ndjson"):
        return JSONL
    raise UserError(
        f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
        "name the file .jsonl or .parquet, or pass --format alpaca|messages|parquet"
    )


def detect_layout(row: dict[str, Any]) -> str | None:
    if "messages" in row:
        return MESSAGES
    if "instruction" in row:
        return ALPACA
    return None


def _check_alpaca(row: dict[str, Any]) -> str | None:
    if "instruction" not in row:
        return 'missing "instruction" (Alpaca rows need instruction, input, output)'
    for key in ("instruction", "input", "output"):
        value = row.get(key)
        if key != "instruction" and value is None:
            continue
        if not isinstance(value, str):
            return f'field "{key}" must be a string, got {type(value).__name__}'
        if len(value) > MAX_TEXT_CHARS:
            return f'field "{key}" is {len(value)} characters, over the {MAX_TEXT_CHARS} limit'
    if not row["instruction"].strip():
        return 'empty "instruction"'
    if "\x00" in row["instruction"] + (row.get("input") or "") + (row.get("output") or ""):
        return "NUL byte in a text field"
    return None


def _check_messages(row: dict[str, Any]) -> str | None:
    msgs = row.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return 'field "messages" must be a non-empty list of {role, content} turns'
    for i, turn in enumerate(msgs):
        if not isinstance(turn, dict):
            return f"messages[{i}] must be an object, got {type(turn).__name__}"
        if turn.get("role") not in ROLES:
            return f"messages[{i}].role must be one of {', '.join(ROLES)}, got {turn.get('role')!r}"
        if not isinstance(turn.get("content"), str):
            return f"messages[{i}].content must be a string, got {type(turn.get('content')).__name__}"
        if "\x00" in turn["content"]:
            return f"messages[{i}].content has a NUL byte"
        if len(turn["content"]) > MAX_TEXT_CHARS:
            return f"messages[{i}].content is over the {MAX_TEXT_CHARS}-character limit"
    users = [t for t in msgs if t["role"] == "user"]
    if not users:
        return "no user turn in messages"
    if not users[0]["content"].strip():
        return "empty first user turn"
    return None


def validate_row(row: Any, layout: str | None) -> tuple[str | None, str | None]:
    """(layout, problem): the row's layout and what is wrong with it, if anything."""
    if not isinstance(row, dict):
        return None, f"a row must be a JSON object, got {type(row).__name__}"
    found = detect_layout(row)
    if found is None:
        want = layout or "alpaca or messages"
        hint = '"instruction"' if layout != MESSAGES else '"messages"'
        return None, f"missing {hint} (expected a {want} row; keys: {', '.join(sorted(row)[:8])})"
    if layout is not None and found != layout:
        return None, f"a {found} row in a {layout} file"
    problem = _check_alpaca(row) if found == ALPACA else _check_messages(row)
    return found, problem


def _row_id(row: dict[str, Any]) -> tuple[str | None, str | None]:
    if "id" not in row or row["id"] is None:
        return content_id(row), None
    value = row["id"]
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None, f'field "id" must be a string or an integer, got {type(value).__name__}'
    value = str(value).strip()
    if not value or len(value) > 200:
        return None, 'field "id" must be 1-200 characters'
    return value, None


class _IdRegistry:
    """Catches duplicate ids (and exact duplicate rows, which share a content id)."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def check(self, ex_id: str, line: int, explicit: bool) -> str | None:
        first = self.seen.get(ex_id)
        if first is not None:
            if explicit:
                return f'duplicate id "{ex_id}" (first used on line {first}); ids must be unique'
            return f"exact duplicate of the row on line {first}"
        self.seen[ex_id] = line
        return None


def _iter_json_lines(path: Path) -> Iterator[tuple[int, bytes | None, str | None]]:
    """(line number, bytes, problem) for each non-blank line; reads in binary, any line ending."""
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if len(raw) > MAX_LINE_BYTES:
                yield lineno, None, f"line is {len(raw)} bytes, over the {MAX_LINE_BYTES}-byte limit"
                continue
            if not raw.strip():
                continue
            yield lineno, raw, None


def _parse_json(raw: bytes) -> tuple[Any, str | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"invalid UTF-8 at byte {exc.start}; re-encode the file as UTF-8"
    try:
        row = json.loads(text)
    except RecursionError:
        return None, "JSON nested too deeply"
    except json.JSONDecodeError as exc:
        return None, f"malformed JSON ({exc.msg} at column {exc.colno})"
    if _SURROGATE_ESCAPE.search(text):  # a \ud800-\udfff escape: fine in a pair, not alone
        try:
            json.dumps(row, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            return None, "lone UTF-16 surrogate escape (\\ud800-\\udfff) in a string"
    return row, None


def read_examples(
    path: str | os.PathLike[str], fmt: str | None = None
) -> Iterator[Example | BadRow]:
    """Stream a dataset: an `Example` per usable row, a `BadRow` per unusable one, in file order."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a directory; pass a .jsonl or .parquet file")
    container = container_of(path, fmt)
    layout = fmt if fmt in (ALPACA, MESSAGES) else None
    if path.stat().st_size == 0:
        raise UserError(f"{path}: the file is empty; nothing to augment")
    if container == JSONL:
        with open(path, "rb") as fh:
            head = fh.read(4)
        if head.startswith(_UTF16_32_BOMS) or (len(head) == 4 and (head[1::2] == b"\0\0"
                                                                  or head[0::2] == b"\0\0")):
            raise UserError(f"{path}: the file is UTF-16 or UTF-32, not UTF-8; re-encode it "
                            "(e.g. iconv -f UTF-16 -t UTF-8)")
    rows = json_lines(path) if container == JSONL else _parquet_rows(path)
    ids = _IdRegistry()
    any_row = False
    for lineno, row, problem in rows:
        any_row = True
        if problem is None:
            found, problem = validate_row(row, layout)
            if problem is None and layout is None:
                layout = found
        if problem is None:
            ex_id, problem = _row_id(row)
        if problem is None:
            problem = ids.check(ex_id, lineno, "id" in row and row["id"] is not None)
        if problem is not None:
            yield BadRow(str(path), lineno, problem, _raw_preview(row))
            continue
        yield Example(id=ex_id, line=lineno, layout=layout, row=row)
    if not any_row:
        raise UserError(f"{path}: no rows (only blank lines); nothing to augment")


def _raw_preview(row: Any) -> str | None:
    if row is None:
        return None
    text = row if isinstance(row, str) else json.dumps(row, ensure_ascii=False, default=str)
    return text[:2000]


def json_lines(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """(line number, parsed value, None) per non-blank line, or (line number, the raw text, what
    is wrong) for a line that is too long, not UTF-8 or not JSON: every JSONL reader's lines."""
    for lineno, raw, problem in _iter_json_lines(path):
        if problem is not None:
            yield lineno, None, problem
            continue
        row, problem = _parse_json(raw)
        if problem is not None:
            yield lineno, raw[:2000].decode("utf-8", "replace"), problem
            continue
        yield lineno, row, None


def _parquet_rows(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise UserError(f"{path}: not a readable Parquet file ({exc})") from exc
    names = set(pf.schema_arrow.names)
    if "messages" not in names and "instruction" not in names:
        raise UserError(
            f"{path}: Parquet columns {sorted(names)} have neither \"instruction\" (Alpaca) nor "
            "\"messages\" (chat); rename the columns or convert the file"
        )
    lineno = 0
    for batch in pf.iter_batches(batch_size=4096):
        for row in batch.to_pylist():
            lineno += 1
            row = {k: v for k, v in row.items() if v is not None or k == "id"}
            yield lineno, row, _not_json(row)


def _not_json(row: dict[str, Any]) -> str | None:
    """Why a Parquet row cannot be carried through the run (its state and outputs are JSON):
    a column of binary, date, time or decimal values, named."""
    try:
        json.dumps(row)
        return None
    except (TypeError, ValueError):
        pass
    for key, value in row.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return (f'field "{key}" holds {type(value).__name__} values, which are not JSON; '
                    "cast the column to string (or drop it) before augmenting")
    return "the row is not representable as JSON"
