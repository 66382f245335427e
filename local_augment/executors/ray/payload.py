"""What travels between the driver and the shard actors: JSON rows and float16 vector bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.config import absolute_paths
from local_augment.data.records import Candidate, Example
from local_augment.executors.base import Pending, ShardWork
from local_augment.shard.store import ShardResult

Answers = dict[str, list[list[str]]]  # method -> per request, its samples


def shard_payload(shard: Pending, answers: Answers | None = None) -> str:
    """One pending shard as a JSON string (the Dataset's row); `answers`: served LLM output."""
    return json.dumps({
        "key": shard.key, "layout": shard.layout, "bad": shard.bad, "answers": answers or {},
        "examples": [[ex.id, ex.line, ex.layout, ex.row] for ex in shard.examples],
    }, ensure_ascii=False)


def parse_payload(payload: str) -> tuple[Pending, Answers]:
    data = json.loads(payload)
    examples = [Example(id=i, line=n, layout=lay, row=row) for i, n, lay, row in data["examples"]]
    return Pending(data["key"], examples, data["bad"], data["layout"]), data.get("answers") or {}


def result_row(result: ShardResult) -> dict[str, Any]:
    """A ShardResult as plain columns: JSON metadata plus float16 vector bytes."""
    orig = _f16(result.orig_vecs)
    cand = _f16(result.cand_vecs)
    meta = {
        "key": result.key, "originals": result.originals, "bad": result.bad,
        "candidates": [c.to_state() for c in result.candidates], "stats": result.stats,
        "orig_shape": list(orig.shape), "cand_shape": list(cand.shape),
    }
    return {"key": result.key, "meta": json.dumps(meta, ensure_ascii=False),
            "orig": orig.tobytes(), "cand": cand.tobytes()}


def parse_result(row: dict[str, Any]) -> ShardResult:
    meta = json.loads(row["meta"])
    return ShardResult(
        key=meta["key"], originals=meta["originals"], bad=meta["bad"],
        candidates=[Candidate.from_state(s) for s in meta["candidates"]], stats=meta["stats"],
        orig_vecs=np.frombuffer(row["orig"], dtype=np.float16).reshape(meta["orig_shape"]),
        cand_vecs=np.frombuffer(row["cand"], dtype=np.float16).reshape(meta["cand_shape"]),
    )


def _f16(a: np.ndarray | None) -> np.ndarray:
    return np.zeros((0, 0), dtype=np.float16) if a is None else np.ascontiguousarray(
        a, dtype=np.float16)


def portable_config(work: ShardWork) -> dict[str, Any]:
    """The run config as JSON, with every path absolute (workers do not share the driver's cwd)."""
    cfg = absolute_paths(work.ctx.config)
    cfg.run.models_dir = Path(work.ctx.manifest.root).resolve()
    return cfg.model_dump(mode="json")
