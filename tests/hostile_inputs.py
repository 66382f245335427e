"""Generated hostile inputs for the fuzz tests (tests/test_fuzz.py) and `make fuzz`.

Each file strategy returns a `HostileFile`: the bytes to write, the file suffix, and how many
input rows the file holds (every non-blank line of a JSON-lines file, every Parquet row), so a
property can check that each one ends up read, or reported as a bad row.

Rows mix valid Alpaca and chat rows with the faults users' files have: wrong types, missing and
extra fields, huge fields, control characters, invalid UTF-8, lone surrogate escapes, duplicate
keys, NaN, deep nesting; files add BOMs, CRLF, blank lines and a truncated last line.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# printable text plus the characters that break naive readers: controls, RTL marks, NBSP, emoji
TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs",))
    | st.sampled_from(["\x00", "\x1b", "\u2028", "\u200f", "\xa0", "\ufeff", "\r", "\t", "🙂"]),
    max_size=40)
WORDY = st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), min_size=1, max_size=60)\
    .filter(lambda s: s.strip())
SCALARS = st.none() | st.booleans() | st.integers(-2**70, 2**70) | \
    st.floats(allow_nan=True, allow_infinity=True) | TEXT
JSONISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
ROLES = st.sampled_from(["system", "user", "assistant", "tool", "User", "", "bot"])


@dataclass
class HostileFile:
    data: bytes
    suffix: str  # ".jsonl" or ".parquet"
    rows: int  # input rows the file holds
    kind: str  # what the generator meant: alpaca, messages, mixed, parquet


@st.composite
def alpaca_rows(draw: st.DrawFn, valid: bool | None = None) -> dict[str, Any]:
    """An Alpaca row; `valid=None` lets it be broken in one of the ways files are."""
    row: dict[str, Any] = {"instruction": draw(WORDY), "input": draw(st.sampled_from(["", "x"])
                                                                      | WORDY),
                           "output": draw(WORDY)}
    if draw(st.booleans()):
        row["id"] = draw(st.integers(0, 50).map(str) | st.integers(0, 50))
    extra = TEXT | st.sampled_from(["_provenance", "messages_", "ID", "system", "history"])
    for key in draw(st.lists(extra.filter(lambda k: k not in row), max_size=2)):
        row[key] = draw(JSONISH)  # extra fields: kept on output
    if valid is False or (valid is None and draw(st.integers(0, 3)) == 0):
        fault = draw(st.sampled_from(["type", "missing", "empty", "huge", "nul", "id"]))
        field = draw(st.sampled_from(["instruction", "input", "output"]))
        if fault == "type":
            row[field] = draw(SCALARS.filter(lambda v: not isinstance(v, str)) | JSONISH)
        elif fault == "missing":
            row.pop(field, None)
        elif fault == "empty":
            row[field] = draw(st.sampled_from(["", " ", "\n\t "]))
        elif fault == "huge":
            row[field] = "x" * draw(st.sampled_from([200_001, 250_000]))
        elif fault == "nul":
            row[field] = row.get(field, "") + "\x00"
        else:
            row["id"] = draw(st.sampled_from([None, True, 1.5, [], {}, "", " ", "y" * 201]))
    return row


@st.composite
def chat_rows(draw: st.DrawFn, valid: bool | None = None) -> dict[str, Any]:
    turns = [{"role": "user", "content": draw(WORDY)},
             {"role": "assistant", "content": draw(WORDY)}]
    if draw(st.booleans()):
        turns.insert(0, {"role": "system", "content": draw(WORDY)})
    row: dict[str, Any] = {"messages": turns}
    for key in draw(st.lists(TEXT.filter(lambda k: k != "messages"), max_size=2)):
        row[key] = draw(JSONISH)
    if valid is False or (valid is None and draw(st.integers(0, 3)) == 0):
        fault = draw(st.sampled_from(["role", "content", "turn", "list", "nouser"]))
        if fault == "role":
            turns[-1]["role"] = draw(ROLES)
        elif fault == "content":
            turns[-1]["content"] = draw(SCALARS.filter(lambda v: not isinstance(v, str)))
        elif fault == "turn":
            turns.append(draw(SCALARS | JSONISH))
        elif fault == "list":
            row["messages"] = draw(SCALARS | st.just([]) | st.just({}))
        else:
            row["messages"] = [t for t in turns if t["role"] != "user"]
    return row


def deep(depth: int) -> str:
    return '{"instruction": "deep", "output": "x", "extra": ' + "[" * depth + "]" * depth + "}"


@st.composite
def json_lines(draw: st.DrawFn, layout: str) -> bytes:
    """One line's bytes (no newline), usually a JSON row, sometimes raw garbage."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.binary(min_size=1, max_size=30).filter(
            lambda b: b.strip() and b"\n" not in b))
    if kind == 1:
        return deep(draw(st.sampled_from([50, 500, 5000, 100_000]))).encode()
    if kind == 2:
        return b'{"instruction": "dup", "instruction": "dup2", "output": "o"}'
    if kind == 3:
        return b'{"instruction": "lone \\ud800 surrogate", "output": "o"}'
    if kind == 4:
        return b'{"instruction": "nan", "output": "o", "score": NaN, "big": Infinity}'
    if kind == 5:
        return draw(JSONISH).__repr__().encode("utf-8", "surrogatepass").replace(b"\n", b" ") \
            or b"?"
    if kind == 6:  # valid JSON with invalid UTF-8 inside a string
        return b'{"instruction": "caf\xe9 \xff", "output": "o"}'
    if kind == 7 and draw(st.integers(0, 40)) == 0:  # over the 8 MiB line limit
        return b'{"instruction": "' + b"x" * (8 * 1024 * 1024 + 10) + b'"}'
    if kind == 8:  # the same id as a number and as a string
        return b'{"id": 1, "instruction": "one", "output": "o"}' if draw(st.booleans()) \
            else b'{"id": "1", "instruction": "uno", "output": "o"}'
    maker = {"alpaca": alpaca_rows, "messages": chat_rows}.get(layout) or \
        draw(st.sampled_from([alpaca_rows, chat_rows]))
    row = draw(maker())
    text = json.dumps(row, ensure_ascii=draw(st.booleans()), allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


@st.composite
def jsonl_files(draw: st.DrawFn, layout: str | None = None) -> HostileFile:
    """A JSON-lines file with `rows` non-blank lines, hostile framing around them."""
    lines = draw(st.lists(json_lines(layout or "mixed"), min_size=0, max_size=12))
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    parts: list[bytes] = []
    for line in lines:
        if draw(st.integers(0, 5)) == 0:
            parts.append(draw(st.sampled_from([b"", b"   ", b"\t"])))  # blank: not a row
        parts.append(line)
    data = ending.join(parts)
    if parts and draw(st.booleans()):
        data += ending  # else the last line is unterminated
    if lines and draw(st.integers(0, 4)) == 0:  # truncated mid-row: the last line is cut
        data = data.rstrip(b"\r\n")
        cut = draw(st.integers(1, max(1, len(lines[-1]) - 1)))
        data = data[: len(data) - cut]
    if draw(st.integers(0, 4)) == 0:
        data = b"\xef\xbb\xbf" + data
    rows = sum(1 for ln in data.removeprefix(b"\xef\xbb\xbf").split(b"\n") if ln.strip())
    return HostileFile(data, ".jsonl", rows, layout or "mixed")


@st.composite
def parquet_files(draw: st.DrawFn) -> HostileFile:
    """A Parquet file of Alpaca or chat rows; columns of the wrong type, nulls, extra columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    chat = draw(st.booleans())
    n = draw(st.integers(1, 8))
    if chat:
        rows = [draw(chat_rows(valid=True)) for _ in range(n)]
        rows = [{"messages": r["messages"]} for r in rows]
        if draw(st.booleans()):
            rows[0]["messages"][0]["content"] = draw(WORDY)
    else:
        rows = [{k: v for k, v in draw(alpaca_rows(valid=True)).items()
                 if k in ("instruction", "input", "output", "id")} for _ in range(n)]
        for r in rows:
            r["id"] = str(r["id"]) if "id" in r else None
        if draw(st.booleans()):  # a null, or a number, where text belongs
            rows[draw(st.integers(0, n - 1))]["output"] = None
        if draw(st.booleans()):
            rows[-1]["instruction"] = draw(st.sampled_from(["", "  ", "\x00"]))
    extra = draw(st.sampled_from([None, "score", "blob", "tags"]))
    for r in rows:
        if extra == "score":
            r["score"] = draw(st.floats(allow_nan=True))
        elif extra == "blob":
            r["blob"] = draw(st.binary(max_size=8))
        elif extra == "tags":
            r["tags"] = draw(st.lists(WORDY, max_size=2))
    try:
        table = pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        table = pa.Table.from_pylist([{"instruction": "ok", "output": "ok"}])
        n = 1
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return HostileFile(buf.getvalue(), ".parquet", table.num_rows, "parquet")


def input_files() -> st.SearchStrategy[HostileFile]:
    return st.one_of(jsonl_files(), jsonl_files("alpaca"), jsonl_files("messages"),
                     parquet_files())


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values, NaN equal to NaN (rows read back must equal the rows written)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


# ---------------------------------------------------------------------------- other inputs

@st.composite
def eval_files(draw: st.DrawFn) -> tuple[bytes, str]:
    """An eval set in one of the accepted forms: JSONL rows, Parquet or plain text."""
    form = draw(st.sampled_from([".jsonl", ".txt", ".parquet"]))
    if form == ".parquet":
        f = draw(parquet_files())
        return f.data, ".parquet"
    if form == ".txt":
        lines = draw(st.lists(TEXT | st.binary(max_size=20).map(
            lambda b: b.decode("latin-1")), max_size=8))
        data = "\n".join(lines).encode("utf-8", "surrogatepass")
        if draw(st.booleans()):
            data = data + b"\xff\xfe"
        return data, ".txt"
    rows = draw(st.lists(st.one_of(alpaca_rows(), chat_rows(),
                                   st.fixed_dictionaries({"prompt": TEXT}),
                                   st.fixed_dictionaries({"question": SCALARS}),
                                   JSONISH), max_size=6))
    lines = [json.dumps(r, allow_nan=True).encode("utf-8", "surrogatepass") for r in rows]
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from([b"{", deep(5000).encode(), b"\xff\xfe{}"])))
    return b"\n".join(lines), ".jsonl"


@st.composite
def refusal_case_files(draw: st.DrawFn) -> bytes:
    case = st.fixed_dictionaries({"instruction": WORDY},
                                 optional={"reason": SCALARS, "alternative": SCALARS,
                                           "id": SCALARS})
    rows = draw(st.lists(case | JSONISH, max_size=6))
    lines = [json.dumps(r, allow_nan=True).encode("utf-8", "surrogatepass") for r in rows]
    if draw(st.booleans()):
        lines.append(draw(st.sampled_from([b"{", b"\xff\xfe", deep(100_000).encode(),
                                           b'{"instruction": "caf\xe9"}'])))
    data = b"\n".join(lines)
    return (b"\xef\xbb\xbf" + data) if draw(st.booleans()) else data


SECTIONS = ["methods", "llm", "paraphrase", "outputs", "templates", "backtranslation",
            "refusals", "qc", "dedup", "mix", "run", "embedder", "contamination", "bogus"]
KEYS = ["model", "n", "temperature", "sample", "ratio", "threshold", "seed", "shard_size",
        "similarity_min", "fluency", "engine", "pivots", "cases", "file", "enabled", "bogus"]


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    """A config mapping: known sections and keys with values of any type, plus unknown ones."""
    out: dict[str, Any] = {}
    for section in draw(st.lists(st.sampled_from(SECTIONS), max_size=4, unique=True)):
        if section == "methods":
            out[section] = draw(st.lists(st.sampled_from(["templates", "paraphrase", "nope"]),
                                         max_size=3) | SCALARS)
            continue
        out[section] = draw(st.dictionaries(st.sampled_from(KEYS), SCALARS | JSONISH,
                                            max_size=3) | SCALARS)
    return out


# ---------------------------------------------------------------------------- whole runs

@dataclass
class Outcome:
    crash: str | None = None  # "Type: message" of an exception that is not a UserError
    error: str | None = None  # a clean UserError line (a file the tool refuses as a whole)
    lost: int = 0  # input rows neither in the output nor in the rejects
    changed: int = 0  # originals whose row was changed between input and output
    traceback: bool = False  # a traceback reached the terminal


def run_pipeline(f: HostileFile, folder: Any) -> Outcome:
    """The real pipeline (templates, QC, dedup, mix, writer) on one hostile file, with the hash
    embedder for the model: every input row must be an original in the output or a bad_input
    reject, and each original's row must come back unchanged (extra fields kept)."""
    import contextlib
    import traceback
    from pathlib import Path

    from local_augment.config import load_config
    from local_augment.data.formats import read_examples
    from local_augment.errors import BadRow, UserError
    from local_augment.run.pipeline import run
    from tests.fakes import HashEmbedder

    folder = Path(folder)
    path = folder / f"input{f.suffix}"
    path.write_bytes(f.data)
    cfg = load_config(overrides={"qc.fluency": False, "run.shard_size": 4})
    out = Outcome()
    terminal = io.StringIO()
    try:
        with contextlib.redirect_stderr(terminal), contextlib.redirect_stdout(terminal):
            report = run(cfg, path, folder / "out", methods=["templates"],
                         engines={"embedder": HashEmbedder()}).report
    except UserError as exc:
        out.error = str(exc)
        return out
    except Exception as exc:  # a crash: what the fuzzer looks for
        out.crash = f"{type(exc).__name__}: {str(exc)[:200]}"
        out.traceback = True
        terminal.write(traceback.format_exc())
        return out
    out.traceback = "Traceback (most recent call last)" in terminal.getvalue()
    counts = report["counts"]
    kept = counts["originals"] + counts["bad_input_rows"]
    out.lost = abs(f.rows - kept) + abs(counts["input_rows"] - f.rows)
    inputs = {x.id: x.row for x in read_examples(path) if not isinstance(x, BadRow)}
    written = folder / "out" / ("augmented.parquet" if f.suffix == ".parquet"
                                else "augmented.jsonl")
    seen = 0
    for item in (read_examples(written) if inputs else ()):
        if isinstance(item, BadRow):
            continue
        row = dict(item.row)
        prov = row.pop("_provenance", None)
        if isinstance(prov, str):
            prov = json.loads(prov)
        if not prov or prov.get("method") != "original":
            continue
        seen += 1
        source = inputs.get(prov["id"])
        if source is not None and "_provenance" in source:  # kept as the previous provenance
            if not same(prov.get("previous"), source["_provenance"]):
                out.changed += 1
            source = {k: v for k, v in source.items() if k != "_provenance"}
        if f.suffix == ".parquet":  # a Parquet table has every column: compare the set ones
            row = {k: v for k, v in row.items() if v is not None}
            source = source and {k: v for k, v in source.items() if v is not None}
        if source is None or not same(row, source):
            out.changed += 1
    out.lost += max(0, len(inputs) - seen)
    return out
