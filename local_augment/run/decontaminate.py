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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local_augment.config import Config
from local_augment.data.atomic import AtomicJsonlWriter, write_jsonl_rows, write_parquet_rows
from local_augment.data.formats import PARQUET, container_of, read_examples
from local_augment.data.records import Example
from local_augment.engines.manifest import load_manifest
from local_augment.errors import BadRow, UserError
from local_augment.quality.contamination import ContaminationGuard
from local_augment.quality.guard import (
    build_guard,
    checked_text,
    load_sets,
    record,
    summary,
    write_contaminated,
)

CHUNK = 4096  # rows per check in `decontaminate`


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
    guard = build_guard(cfg, sets, embedder)
    for note in guard.notes:
        print(note, file=sys.stderr)
    drop = cfg.qc.drop_contaminated
    records: list[dict[str, Any]] = []
    counts = Counter()
    out_name = "clean.parquet" if container == PARQUET else "clean.jsonl"
    writer = write_parquet_rows if container == PARQUET else write_jsonl_rows
    with AtomicJsonlWriter(output_dir / "rejected.jsonl") as rejects:
        written = writer(output_dir / out_name, _checked_rows(
            read_examples(input_path, fmt), guard, drop, provenance, rejects, records, counts))
    n_rejects = rejects.count
    write_contaminated(output_dir, records)
    dropped = sum(r["dropped"] for r in records)
    bad = counts["bad_input_rows"]
    if written != counts["originals"] - dropped or n_rejects != bad + dropped:
        raise RuntimeError("accounting does not add up in decontaminate — this is a bug")
    report = _report(cfg, input_path, out_name, counts, records, written, n_rejects,
                     summary(guard, records, 0, 0, drop, time.perf_counter() - t_start))
    report["timings"] = {"total": round(time.perf_counter() - t_start, 3)}
    write_report(report, output_dir)
    return report


def _checked_rows(examples: Iterator[Example | BadRow], guard: ContaminationGuard, drop: bool, provenance: bool,
                  rejects: AtomicJsonlWriter, records: list[dict[str, Any]],
                  counts: Counter) -> Iterator[dict[str, Any]]:
    """The rows to keep, checked in chunks; bad and dropped rows go to `rejects`, matches to
    `records`."""

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

    batch: list = []
    for item in examples:
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


def _report(cfg: Config, input_path: Path, out_name: str, counts: Counter,
            records: list[dict[str, Any]], written: int, n_rejects: int,
            contamination: dict[str, Any]) -> dict[str, Any]:
    """The decontaminate report (report.json)."""
    dropped = sum(r["dropped"] for r in records)
    bad = counts["bad_input_rows"]
    return {
        "input": str(input_path), "output": out_name,
        "counts": {"input_rows": counts["originals"] + bad, "bad_input_rows": bad,
                   "originals": counts["originals"], "contaminated_originals": len(records),
                   "dropped_originals": dropped, "output_rows": written,
                   "rejected_rows": n_rejects},
        "accounting": {"input rows == output rows + rejected rows": "ok"},
        "contamination": contamination,
        "settings": {"qc": {k: v for k, v in cfg.qc.model_dump(mode="json").items()
                            if k.startswith("eval_") or k == "drop_contaminated"},
                     "embedder": cfg.embedder.model_dump(mode="json")},
    }
