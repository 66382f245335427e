"""`local-augment inspect`: kept and rejected rows beside their source, in the terminal."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local_augment.data.records import PROVENANCE_KEY, prompt_text, row_example
from local_augment.errors import UserError


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def _text(row: dict[str, Any], field: str) -> str:
    """The text of `field` a variant changed: the output, or what the row asks."""
    ex = row_example(row)
    return ex.output if field == "output" else prompt_text(ex)


def _side_by_side(left: str, right: str, width: int) -> list[str]:
    col = max(20, (width - 3) // 2)
    a = [w for part in left.splitlines() or [""] for w in textwrap.wrap(part, col) or [""]]
    b = [w for part in right.splitlines() or [""] for w in textwrap.wrap(part, col) or [""]]
    n = max(len(a), len(b))
    a += [""] * (n - len(a))
    b += [""] * (n - len(b))
    return [f"{x:<{col}} │ {y}" for x, y in zip(a, b, strict=True)]


def inspect_rows(out_dir: Path, *, method: str | None = None, reason: str | None = None,
                 n: int = 5, width: int | None = None) -> str:
    """Up to `n` kept and `n` rejected variants per method (filtered), each beside its source."""
    aug = out_dir / "augmented.jsonl"
    rej = out_dir / "rejected.jsonl"
    if not aug.is_file():
        hint = " (Parquet output: inspect reads augmented.jsonl)" if (
            out_dir / "augmented.parquet").is_file() else ""
        raise UserError(f"{out_dir}: no augmented.jsonl here{hint}; pass a run's output folder")
    width = width or shutil.get_terminal_size((120, 40)).columns
    sources: dict[str, dict[str, Any]] = {}
    kept: dict[str, list[dict[str, Any]]] = {}
    for row in _jsonl(aug):
        prov = row.get(PROVENANCE_KEY)
        if not isinstance(prov, dict):
            raise UserError(f"{aug}: rows have no _provenance (run without --no-provenance)")
        if prov.get("method") == "original":
            sources[prov["id"]] = row
        elif reason is None and (method is None or prov.get("method") == method):
            kept.setdefault(prov["method"], []).append(row)
    rejected: dict[str, list[dict[str, Any]]] = {}
    if rej.is_file():
        for row in _jsonl(rej):
            m = row.get("method")
            if m is None or (method is not None and m != method):
                continue
            if reason is not None and not str(row.get("reason", "")).startswith(reason):
                continue
            rejected.setdefault(m, []).append(row)
    lines: list[str] = []
    for m in sorted(set(kept) | set(rejected)):
        for label, rows in (("kept", kept.get(m, [])), ("rejected", rejected.get(m, []))):
            if not rows:
                continue
            lines.append(f"=== {m}: {label} ({min(n, len(rows))} of {len(rows)}) "
                         + "=" * max(0, width - 30 - len(m)))
            for row in rows[:n]:
                prov = row.get(PROVENANCE_KEY, {})
                cand = row.get("row", row)
                src = sources.get(prov.get("source_id") or row.get("source_id") or "")
                field = prov.get("field", "instruction")
                new = _text(cand, field)
                old = _text(src, field) if src else \
                    f"(no source row: {prov.get('source_id') or row.get('source_id')})"
                scores = {k: prov[k] for k in ("similarity", "meaning", "fluency") if k in prov}
                head = f"--- {prov.get('id', row.get('id'))}"
                if label == "rejected":
                    head += f"  reason: {row.get('reason')}"
                if scores:
                    head += "  " + " ".join(f"{k}={v}" for k, v in scores.items())
                lines.append(head)
                lines.extend(_side_by_side("source: " + old, "variant: " + new, width))
    if not lines:
        return "no rows match"
    return "\n".join(lines)
