"""The run: read -> generate -> score -> dedup -> mix -> write, in shards that a rerun resumes.

Per-shard work (generation and quality scores) is stored under `<output>/.work/` with a marker;
the global steps (near-duplicates over the whole set, the mix) then read every shard back. Every
input row ends as an original in the output or a `bad_input` reject, every candidate as an output
row or a reasoned reject, and the run fails loudly if that accounting does not hold.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_augment.augmenters import build_augmenters
from local_augment.augmenters.base import Context
from local_augment.config import Config
from local_augment.data.eval_sets import EvalSet
from local_augment.data.formats import container_of
from local_augment.data.records import ALPACA
from local_augment.engines.cache import ModelCache
from local_augment.engines.embedder import open_embedder
from local_augment.engines.manifest import load_manifest
from local_augment.engines.protocols import Encoder
from local_augment.errors import UserError
from local_augment.executors import Executor, ShardsDone, ShardWork, get_executor
from local_augment.methods import STANDALONE_METHODS
from local_augment.progress import Progress, reporting
from local_augment.quality.chain import create_chain
from local_augment.quality.contamination import ContaminationGuard
from local_augment.quality.equivalence import regime_summary
from local_augment.quality.gate import low_yield
from local_augment.quality.guard import build_guard, load_sets, summary, write_contaminated
from local_augment.quality.mix import budget, mix
from local_augment.quality.reasons import CONTAMINATED_SOURCE
from local_augment.run.assembly import Part, build_report
from local_augment.run.report import write_report
from local_augment.run.setup import (
    count_rows,
    fingerprint,
    iter_shards,
    models_used,
    prepare_output_dir,
)
from local_augment.run.steps import Kept, dedup, diversity, gather, screen
from local_augment.run.writer import write_outputs
from local_augment.shard.process import process_shard
from local_augment.shard.store import ShardStore

log = logging.getLogger("local_augment.run.pipeline")
STANDALONE_KEY = "standalone"


@dataclass
class RunResult:
    output_dir: Path
    report: dict[str, Any]
    notices: list[str] = field(default_factory=list)


def _noop(stage: str, done: int, total: int | None) -> None:
    pass


def run(cfg: Config, input_path: str | os.PathLike[str], output_dir: str | os.PathLike[str],
        **kwargs: Any) -> RunResult:
    """Augment one dataset into `output_dir`; see the module docstring.

    A full disk (or quota, or file-size limit) is a clear error: finished shards stay in
    `<output>/.work/` and rerunning the same command resumes from them.
    """
    try:
        with reporting(kwargs.get("progress")):
            return _run(cfg, input_path, output_dir, **kwargs)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise UserError(
                f"{output_dir}: cannot write ({exc.strerror}); free some space and rerun the same "
                "command: finished shards are kept and will not be redone"
            ) from None
        raise


def _run(
    cfg: Config,
    input_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    methods: list[str] | None = None,
    strict: bool = False,
    provenance: bool = True,
    fresh: bool = False,
    progress: Progress | None = None,
    executor: Executor | None = None,
    engines: dict[str, Any] | None = None,
) -> RunResult:
    """`engines`: engines to use instead of building them ("llm", "embedder"), for in-process
    tests and benchmarks (fakes around the code under test; the Ray executor builds its own)."""
    progress = progress or _noop
    t_start = time.perf_counter()
    input_path, output_dir = Path(input_path), prepare_output_dir(Path(output_dir))
    container, eval_sets = _checked_input(input_path, fmt), load_sets(cfg)  # before any work
    manifest = load_manifest(cfg.run.models_dir)
    explicit = methods is not None
    methods = list(methods) if methods is not None else list(cfg.methods)
    ctx = Context(config=cfg, manifest=manifest, seed=cfg.run.seed,
                  cache=ModelCache(output_dir / ".work" / "model_cache.sqlite"))
    if fresh:
        ctx.cache.clear()
    for key, engine in (engines or {}).items():
        ctx.engines.get(key, lambda engine=engine: engine)
    augmenters, notices = build_augmenters(ctx, methods, explicit=explicit)
    for note in notices:
        progress(f"notice: {note}", 0, None)
    embedder = ctx.engines.peek("embedder") or open_embedder(cfg, manifest)  # shared, lazy load
    fp = fingerprint(cfg, input_path, augmenters, [a.name for a in augmenters], manifest)
    store = ShardStore(output_dir / ".work", fp)
    if fresh:
        store.clear()
    chain = create_chain(ctx, embedder)
    work = ShardWork(ctx=ctx, methods=[a.name for a in augmenters], augmenters=augmenters,
                     embedder=embedder, store=store, progress=progress,
                     total_rows=count_rows(input_path, container), chain=chain)
    shards = iter_shards(input_path, fmt, cfg.run.shard_size, strict)
    done = _generate(work, shards, executor)
    guard = _build_guard(cfg, eval_sets, embedder, done.timings, progress, notices)
    parts = finish(cfg, store, done.keys, output_dir, input_path, container, provenance,
                   done.timings, progress, guard=guard)
    notices.extend(chain.notices)
    parts.append({
        "methods": [a.name for a in augmenters],
        "model_cache": {"hits": ctx.cache.hits + done.cache["hits"],
                        "misses": ctx.cache.misses + done.cache["misses"]},
        "notices": notices,
        "settings": cfg.model_dump(mode="json"),
        "models": models_used(manifest, cfg, augmenters),
    })
    done.timings["total"] = time.perf_counter() - t_start
    parts.append({"timings": {k: round(v, 3) for k, v in sorted(done.timings.items())}})
    report = build_report(parts, cfg.llm.model)
    write_report(report, output_dir)
    return RunResult(output_dir=output_dir, report=report, notices=notices)


def _checked_input(input_path: Path, fmt: str | None) -> str:
    """The input's container (jsonl or parquet); a missing file or a folder is a UserError."""
    if input_path.is_dir():
        raise UserError(f"{input_path}: is a directory; pass a .jsonl or .parquet file")
    if not input_path.is_file():
        raise UserError(f"{input_path}: no such file")
    return container_of(input_path, fmt)


def _generate(work: ShardWork, shards: Iterator[Any], executor: Executor | None) -> ShardsDone:
    """Generate and score every shard on the executor, then the standalone rows (refusals) once
    on the driver; every engine is unloaded after. Returns the executor's result, keys
    extended by the standalone shard."""
    augmenters, store = work.augmenters, work.store
    try:
        done = (executor or get_executor("local")).run_shards(shards, work)
        standalone = [a for a in augmenters if a.name in STANDALONE_METHODS]
        if standalone:
            if not store.done(STANDALONE_KEY):
                for aug in standalone:
                    aug.load()
                result = process_shard(STANDALONE_KEY, [], [], standalone, work.chain,
                                       done.layout or ALPACA, standalone=True)
                store.save(result)
                done.timings.update(result.stats["timings"])
            done.keys.append(STANDALONE_KEY)
    finally:
        for aug in augmenters:
            aug.unload()
        work.ctx.engines.unload_all()
        work.ctx.cache.close()
    return done


def _build_guard(cfg: Config, eval_sets: list[EvalSet], embedder: Encoder, timings: Counter,
                 progress: Progress, notices: list[str]) -> ContaminationGuard | None:
    """The contamination guard over the eval sets (None without any), timed into `timings`."""
    if not eval_sets:
        return None
    t0 = time.perf_counter()
    guard = build_guard(cfg, eval_sets, embedder)
    timings["contamination_index"] += time.perf_counter() - t0
    timings["contamination_encode_eval"] += guard.timings["encode_eval"]
    for note in guard.notes:
        progress(f"notice: {note}", 0, None)
    notices.extend(guard.notes)
    return guard


def finish(
    cfg: Config, store: ShardStore, keys: list[str], output_dir: Path, input_path: Path,
    container: str, provenance: bool, timings: Counter[str], progress: Progress,
    guard: ContaminationGuard | None = None,
) -> list[Part]:
    """The global steps over every shard, in order: gather (with the contamination guard's
    scan), gate (low yield), screen (sibling copies), dedup, the mix, diversity, then the output
    files; each returns its part of the report (`run/assembly.py` puts them together)."""
    t0 = time.perf_counter()
    drop = cfg.qc.drop_contaminated
    g = gather(store, keys, guard, drop)
    gated = low_yield(g.results, cfg.qc)  # a method whose survivors are mostly QC's misses
    k = screen(g, gated, guard is not None)
    g.results, g.live = [], {}
    dropped = {h: g.source_hits[h].reason for h in g.source_hits} if drop else {}
    matrix, dedup_part = dedup(cfg, store, keys, g, k, dropped)
    timings["dedup"] += time.perf_counter() - t0 - g.guard_seconds
    if guard is not None:
        timings["contamination"] += g.guard_seconds
    progress("dedup", 1, 1)
    mixed = _mix(cfg, k, len(g.orig_ids) - len(dropped), timings)
    distance = diversity(matrix, g, k, dropped, cfg.run.seed)
    del matrix
    t0 = time.perf_counter()
    guarded: Part = {}
    if guard is not None:
        write_contaminated(output_dir, g.contaminated)
        variants = sum(v.startswith(CONTAMINATED_SOURCE + ":") for v in k.verdicts.values())
        guarded = {"contamination": summary(guard, g.contaminated, len(g.cand_hits), variants,
                                            drop, g.guard_seconds)}
    written = write_outputs(store, keys, k.verdicts, output_dir, input_path, container,
                            provenance, dropped=dropped)
    timings["write"] += time.perf_counter() - t0
    progress("write", 1, 1)
    qc = {"qc_settings": {m: cfg.qc.settings(m) for m in written["candidates_per_method"]},
          "qc_regime": regime_summary(cfg.qc.judge, cfg.llm.model)}
    return [written, dedup_part, guarded, distance, {"low_yield_methods": gated}, mixed, qc]


def _mix(cfg: Config, k: Kept, originals: int, timings: Counter[str]) -> Part:
    """The mix: verdicts for the survivors it leaves out (into `k`); its part of the report."""
    t0 = time.perf_counter()
    survivors = [p for cid, p in k.picks.items() if cid not in k.verdicts]
    for cid, verdict in mix(survivors, originals, cfg.mix, cfg.run.seed).items():
        if verdict is not None:
            k.verdicts[cid] = verdict
    timings["mix"] += time.perf_counter() - t0
    return {"mix": {"budget": budget(originals, cfg.mix), **cfg.mix.model_dump()}}
