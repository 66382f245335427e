"""The contamination guard in a run (`pipeline.finish`) and alone (`local-augment decontaminate`).

Both check every original (and, in a run, every candidate that passed QC) against the eval sets,
write `contaminated.jsonl` (one line per contaminated original: set, eval id, kind, score, the
row's id, line and text) and give the report its `contamination` section. Contaminated originals
are kept unless `qc.drop_contaminated` (then they are rejects with their reason); in a run no
variant of a contaminated original is kept.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.config import Config
from local_augment.data.eval_sets import EvalSet, read_eval_sets
from local_augment.data.formats import (
    PARQUET,
    AtomicJsonlWriter,
    container_of,
    read_examples,
    write_jsonl_rows,
    write_parquet_rows,
)
from local_augment.data.records import MESSAGES, Candidate
from local_augment.engines.manifest import load_manifest
from local_augment.errors import BadRow, UserError
from local_augment.quality.contamination import ContaminationGuard, Hit
from local_augment.quality.eval_vectors import EvalVectorCache
from local_augment.quality.reasons import contaminated_source
from local_augment.shard.store import ShardResult

CONTAMINATED = "contaminated.jsonl"
REPORT_ROWS = 50  # contaminated originals listed in the report
CHUNK = 4096  # rows per check in `decontaminate`


def checked_text(row: dict[str, Any], layout: str | None = None) -> str:
    """What a row asks: instruction + input, or every user turn of a chat row."""
    if layout == MESSAGES or (layout is None and "messages" in row):
        return "\n\n".join(t.get("content", "") for t in row.get("messages", [])
                           if isinstance(t, dict) and t.get("role") == "user")
    inp = row.get("input") or ""
    return row.get("instruction", "") + ("\n\n" + inp if inp else "")


def load_sets(cfg: Config) -> list[EvalSet]:
    """The configured eval sets, read and checked (a bad file is a UserError before any work)."""
    return read_eval_sets(cfg.qc.eval_sets)


def build_guard(cfg: Config, sets: list[EvalSet], encode: Callable | None,
                embedder: Any = None) -> ContaminationGuard:
    """The guard over `sets`; with the `embedder` (the engine `encode` belongs to), eval-set
    vectors are cached across runs, keyed by the embedder's model checksum and engine."""
    q = cfg.qc
    cache = vector_cache(cfg, embedder) if embedder is not None else None
    return ContaminationGuard(sets, encode, n=q.eval_ngram, min_tokens=q.eval_min_tokens,
                              threshold=q.eval_threshold, prefilter=q.eval_prefilter,
                              exact_max=q.eval_exact_max, nprobe=q.eval_nprobe,
                              seed=cfg.run.seed, cache=cache)


def vector_cache(cfg: Config, embedder: Any) -> EvalVectorCache:
    """The eval-vector cache for this embedder: its manifest checksum (when it is the configured
    model) and what it says it is, so a stand-in embedder never shares entries with a model."""
    import json

    manifest = load_manifest(cfg.run.models_dir)
    spec = manifest.models.get(cfg.embedder.model)
    checksum = manifest.checksum(spec) if spec is not None else ""
    return EvalVectorCache(json.dumps([checksum, embedder.describe()], sort_keys=True))


def record(hit: Hit, row_id: str, line: int, text: str, dropped: bool) -> dict[str, Any]:
    """One line of contaminated.jsonl."""
    return {"set": hit.set_name, "eval_id": hit.eval_id, "kind": hit.kind,
            "score": round(hit.score, 4), "id": row_id, "line": line, "text": text,
            "eval_text": hit.eval_text, "dropped": dropped, "reason": hit.reason}


def scan_shard(guard: ContaminationGuard, shard: ShardResult, orig_vecs: np.ndarray,
               cand_vecs: np.ndarray) -> tuple[list[Hit | None], dict[str, Hit]]:
    """(hit per original, {candidate id: hit}) for one stored shard; candidates that QC
    rejected are not checked. The stored row vectors prefilter the embedding check."""
    live = [j for j, c in enumerate(shard.candidates) if c.reason is None]
    texts = [checked_text(o["row"], o.get("layout")) for o in shard.originals]
    texts += [checked_text(shard.candidates[j].row) for j in live]
    vecs: np.ndarray | None = None
    if orig_vecs.ndim == 2 and cand_vecs.ndim == 2:
        parts = [v for v in (orig_vecs, cand_vecs[live] if live else cand_vecs[:0])
                 if v.shape[0]]
        if parts and all(p.shape[1] for p in parts):
            vecs = np.concatenate(parts).astype(np.float32)
    if vecs is not None and len(vecs) != len(texts):
        vecs = None  # should not happen; encode every prompt rather than misalign
    hits = guard.check(texts, vecs) if texts else []
    n = len(shard.originals)
    cands: dict[str, Hit] = {}
    for j, h in zip(live, hits[n:], strict=True):
        if h is not None:
            cands[shard.candidates[j].id] = h
    return hits[:n], cands


def variant_verdict(c: Candidate, cand_hits: dict[str, Hit], source_hits: dict[str, Hit]
                    ) -> str | None:
    """The contamination reject reason of a candidate that passed QC, or None."""
    if c.id in cand_hits:
        return cand_hits[c.id].reason
    if c.source_id in source_hits:
        return contaminated_source(c.source_id)
    return None


def summary(guard: ContaminationGuard, records: list[dict[str, Any]], candidates: int,
            variants: int, dropped: bool, seconds: float) -> dict[str, Any]:
    """The report's `contamination` section."""
    by_set: dict[str, Counter[str]] = {n: Counter() for n in guard.set_names}
    for r in records:
        by_set[r["set"]][r["kind"]] += 1
    return {
        **guard.describe(),
        "originals": len(records), "candidates": candidates, "variants_of_contaminated": variants,
        "dropped_originals": sum(r["dropped"] for r in records), "drop": dropped,
        "originals_per_set": {k: dict(v) for k, v in by_set.items()},
        "rows": records[:REPORT_ROWS],
        "timings": {k: round(float(v), 3) for k, v in sorted(guard.timings.items())},
        "seconds": round(seconds, 3),
    }


def write_contaminated(output_dir: Path, records: list[dict[str, Any]]) -> None:
    write_jsonl_rows(output_dir / CONTAMINATED, iter(records))


def run_decontaminate(cfg: Config, input_path: str | os.PathLike[str],
                      output_dir: str | os.PathLike[str], *, fmt: str | None = None,
                      provenance: bool = False) -> dict[str, Any]:
    """Check a dataset's rows (originals only) against the eval sets; write the clean dataset
    (`clean.jsonl` or `clean.parquet`), rejected.jsonl, contaminated.jsonl and the report."""
    from local_augment.run.report import write_report
    from local_augment.run.setup import prepare_output_dir

    t_start = time.perf_counter()
    input_path, output_dir = Path(input_path), prepare_output_dir(Path(output_dir))
    if not input_path.is_file():
        raise UserError(f"{input_path}: no such file")
    if not cfg.qc.eval_sets:
        raise UserError("no eval set: pass --eval-set FILE (or set qc.eval_sets in the config)")
    sets = load_sets(cfg)
    container = container_of(input_path, fmt)
    from local_augment.engines.embedder import open_embedder

    embedder = open_embedder(cfg, load_manifest(cfg.run.models_dir))
    guard = build_guard(cfg, sets, embedder.encode, embedder)
    for note in guard.notes:
        print(note, file=sys.stderr)
    drop = cfg.qc.drop_contaminated
    records: list[dict[str, Any]] = []
    counts = Counter()
    rejects = AtomicJsonlWriter(output_dir / "rejected.jsonl")

    def rows() -> Iterator[dict[str, Any]]:
        batch: list = []
        for item in read_examples(input_path, fmt):
            if isinstance(item, BadRow):
                counts["bad_input_rows"] += 1
                rejects.write({"id": None, "line": item.line, "file": item.path,
                               "reason": item.reason, "raw": item.raw})
                continue
            batch.append(item)
            if len(batch) >= CHUNK:
                yield from flush(batch)
                batch = []
        yield from flush(batch)

    def flush(batch: list) -> Iterator[dict[str, Any]]:
        texts = [checked_text(ex.row, ex.layout) for ex in batch]
        for ex, text, hit in zip(batch, texts, guard.check(texts) if texts else [], strict=True):
            counts["originals"] += 1
            if hit is not None:
                records.append(record(hit, ex.id, ex.line, text, drop))
                if drop:
                    rejects.write({"id": ex.id, "line": ex.line, "reason": hit.reason,
                                   "row": ex.row})
                    continue
            row = dict(ex.row)
            if provenance:
                row["_provenance"] = {"id": ex.id, "method": "original", "line": ex.line}
            yield row

    try:
        out_name = "clean.parquet" if container == PARQUET else "clean.jsonl"
        writer = write_parquet_rows if container == PARQUET else write_jsonl_rows
        written = writer(output_dir / out_name, rows())
        n_rejects = rejects.commit()
    except BaseException:
        rejects.abort()
        raise
    write_contaminated(output_dir, records)
    dropped = sum(r["dropped"] for r in records)
    bad = counts["bad_input_rows"]
    if written != counts["originals"] - dropped or n_rejects != bad + dropped:
        raise RuntimeError("accounting does not add up in decontaminate — this is a bug")
    report = {
        "input": str(input_path), "output": out_name,
        "counts": {"input_rows": counts["originals"] + bad, "bad_input_rows": bad,
                   "originals": counts["originals"], "contaminated_originals": len(records),
                   "dropped_originals": dropped, "output_rows": written,
                   "rejected_rows": n_rejects},
        "accounting": {"input rows == output rows + rejected rows": "ok"},
        "contamination": summary(guard, records, 0, 0, drop, time.perf_counter() - t_start),
        "settings": {"qc": {k: v for k, v in cfg.qc.model_dump(mode="json").items()
                            if k.startswith("eval_") or k == "drop_contaminated"},
                     "embedder": cfg.embedder.model_dump(mode="json")},
        "timings": {"total": round(time.perf_counter() - t_start, 3)},
    }
    write_report(report, output_dir)
    return report
