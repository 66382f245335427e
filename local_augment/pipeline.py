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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.augmenters import build_augmenters
from local_augment.augmenters.base import Context
from local_augment.cache import ModelCache
from local_augment.config import Config
from local_augment.decontaminate import (
    build_guard,
    checked_text,
    load_sets,
    record,
    scan_shard,
    summary,
    variant_verdict,
    write_contaminated,
)
from local_augment.diversity import mean_pairwise_distance
from local_augment.engines.embedder import open_embedder
from local_augment.errors import UserError
from local_augment.executors import Executor, ShardWork, get_executor
from local_augment.formats import container_of
from local_augment.methods import STANDALONE_METHODS
from local_augment.models import load_manifest
from local_augment.progress import reporting
from local_augment.quality.chain import create_chain, low_yield
from local_augment.quality.contamination import ContaminationGuard, Hit
from local_augment.quality.dedup import find_near_duplicates
from local_augment.quality.diagnosis import diagnose, shown_to_help
from local_augment.quality.equivalence import regime_summary
from local_augment.quality.lexical import trivial_copy
from local_augment.quality.mix import Pick, budget, mix
from local_augment.quality.reasons import CONTAMINATED_SOURCE
from local_augment.records import ALPACA, Candidate
from local_augment.run_setup import (
    count_rows,
    fingerprint,
    iter_shards,
    models_used,
    prepare_output_dir,
)
from local_augment.shards import ShardStore
from local_augment.stages import process_shard
from local_augment.writer import write_outputs

log = logging.getLogger("local_augment.pipeline")
Progress = Callable[[str, int, int | None], None]
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
    input_path = Path(input_path)
    output_dir = prepare_output_dir(Path(output_dir))
    if input_path.is_dir():
        raise UserError(f"{input_path}: is a directory; pass a .jsonl or .parquet file")
    if not input_path.is_file():
        raise UserError(f"{input_path}: no such file")
    container = container_of(input_path, fmt)
    eval_sets = load_sets(cfg)  # a bad eval set stops the run before any work
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
    total = count_rows(input_path, container)
    chain = create_chain(ctx, embedder)
    work = ShardWork(ctx=ctx, methods=[a.name for a in augmenters], augmenters=augmenters,
                     embedder=embedder, store=store, progress=progress, total_rows=total,
                     chain=chain)
    try:
        shards = iter_shards(input_path, fmt, cfg.run.shard_size, strict)
        done = (executor or get_executor("local")).run_shards(shards, work)
        keys, layout, timings = done.keys, done.layout, done.timings
        standalone = [a for a in augmenters if a.name in STANDALONE_METHODS]
        if standalone:
            if not store.done(STANDALONE_KEY):
                for aug in standalone:
                    aug.load()
                result = process_shard(STANDALONE_KEY, [], [], standalone, chain,
                                       layout or ALPACA, standalone=True)
                store.save(result)
                timings.update(result.stats["timings"])
            keys.append(STANDALONE_KEY)
    finally:
        for aug in augmenters:
            aug.unload()
        ctx.engines.unload_all()
        ctx.cache.close()
    guard = None
    if eval_sets:
        t0 = time.perf_counter()
        guard = build_guard(cfg, eval_sets, embedder.encode, embedder)
        timings["contamination_index"] += time.perf_counter() - t0
        timings["contamination_encode_eval"] += guard.timings["encode_eval"]
        for note in guard.notes:
            progress(f"notice: {note}", 0, None)
        notices.extend(guard.notes)
    report = finish(cfg, store, keys, output_dir, input_path, container, provenance, timings,
                    progress, guard=guard)
    report["methods"] = [a.name for a in augmenters]
    report["model_cache"] = {"hits": ctx.cache.hits + done.cache["hits"],
                             "misses": ctx.cache.misses + done.cache["misses"]}
    notices.extend(chain.notices)
    report["notices"] = notices
    report["diagnosis"] = diagnose(report, cfg.llm.model)
    report["downstream"] = shown_to_help(report["methods"], cfg.llm.model)
    report["settings"] = cfg.model_dump(mode="json")
    report["models"] = models_used(manifest, cfg, augmenters)
    report["timings"]["total"] = round(time.perf_counter() - t_start, 3)
    from local_augment.report import write_report

    write_report(report, output_dir)
    return RunResult(output_dir=output_dir, report=report, notices=notices)


def finish(
    cfg: Config, store: ShardStore, keys: list[str], output_dir: Path, input_path: Path,
    container: str, provenance: bool, timings: Counter[str], progress: Progress,
    guard: ContaminationGuard | None = None,
) -> dict[str, Any]:
    """The global steps over every shard: the contamination guard (with eval sets),
    near-duplicates, the mix, then the output files."""
    t0 = time.perf_counter()
    guard_seconds = 0.0
    source_hits: dict[str, Hit] = {}
    cand_hits: dict[str, Hit] = {}
    contaminated: list[dict[str, Any]] = []
    drop = cfg.qc.drop_contaminated
    orig_ids: list[str] = []
    cand_ids: list[str] = []
    picks: dict[str, Pick] = {}
    live_by_key: dict[str, list[int]] = {}
    results: list[tuple[str, str | None]] = []
    live_info: dict[str, list[tuple[int, Candidate]]] = {}
    for key in keys:
        shard = store.load(key)
        orig_ids.extend(o["id"] for o in shard.originals)
        results.extend((c.method, c.reason) for c in shard.candidates)
        if guard is not None:  # after QC, before dedup and the mix: originals and QC passes
            t_guard = time.perf_counter()
            orig_hits, hits = scan_shard(guard, shard, *store.vectors(key))
            cand_hits.update(hits)
            for o, h in zip(shard.originals, orig_hits, strict=True):
                if h is not None:
                    source_hits[o["id"]] = h
                    contaminated.append(record(h, o["id"], o["line"],
                                               checked_text(o["row"], o.get("layout")), drop))
            guard_seconds += time.perf_counter() - t_guard
        live_info[key] = [(j, c) for j, c in enumerate(shard.candidates) if c.reason is None]
    # a method whose candidates mostly failed QC: its survivors are mostly QC's misses
    gated = low_yield(results, cfg.qc)
    verdicts: dict[str, str] = {}
    for key, live in live_info.items():
        live_by_key[key] = []
        family: dict[str, list[Candidate]] = {}
        for j, c in live:
            bad = variant_verdict(c, cand_hits, source_hits) if guard is not None else None
            if bad is not None:  # never kept, whatever the other steps say
                verdicts[c.id] = bad
                continue
            if c.method in gated:
                verdicts[c.id] = gated[c.method]
                continue
            siblings = family.setdefault(c.source_id, [])
            twin = next((s for s in siblings if s.field == c.field
                         and trivial_copy(c.text, s.text)), None)
            if twin is not None:  # dedup does not compare siblings: their lexical copies go here
                verdicts[c.id] = f"near_duplicate_of:{twin.id}"
                continue
            siblings.append(c)
            live_by_key[key].append(j)
            cand_ids.append(c.id)
            picks[c.id] = Pick(c.id, c.source_id, c.method, c.scores.get("similarity", 0.0))
    del live_info, results
    n_orig = len(orig_ids)
    dropped = {h: source_hits[h].reason for h in source_hits} if drop else {}
    ids = orig_ids + cand_ids  # originals first: candidates are checked against all of them
    protected = np.arange(len(ids)) < n_orig
    dedup_info: dict[str, Any] = {"index": "empty", "original_pairs": 0}
    if ids:
        matrix = gather_vectors(store, keys, live_by_key, n_orig, len(cand_ids))
        row_of = {oid: k for k, oid in enumerate(orig_ids)}
        families: dict[str, int] = {}  # rows with no source row (refusal cases): a family id
        own_source = np.array([row_of[s] if s in row_of else families.setdefault(
            s, len(ids) + len(families)) for s in (picks[cid].source_id for cid in cand_ids)],
            dtype=np.int64)
        own_source = np.concatenate([np.full(n_orig, -1, dtype=np.int64), own_source])
        result = find_near_duplicates(
            matrix, protected, cfg.dedup.threshold, exact_max=cfg.dedup.exact_max,
            nprobe=cfg.dedup.nprobe, seed=cfg.run.seed, own_source=own_source,
            absent=np.array([i in dropped for i in ids], dtype=bool) if dropped else None)
        dedup_info = {"index": result.index_kind, "original_pairs": result.original_pairs}
        for i in np.nonzero(result.duplicate_of >= 0)[0]:
            verdicts[ids[i]] = f"near_duplicate_of:{ids[result.duplicate_of[i]]}"
    timings["dedup"] += time.perf_counter() - t0 - guard_seconds
    if guard is not None:
        timings["contamination"] += guard_seconds
    progress("dedup", 1, 1)
    t0 = time.perf_counter()
    survivors = [p for cid, p in picks.items() if cid not in verdicts]
    for cid, verdict in mix(survivors, n_orig - len(dropped), cfg.mix, cfg.run.seed).items():
        if verdict is not None:
            verdicts[cid] = verdict
    timings["mix"] += time.perf_counter() - t0
    distance: dict[str, float] = {}
    if ids:
        kept = np.concatenate([np.array([o not in dropped for o in orig_ids], dtype=bool),
                               np.array([c not in verdicts for c in cand_ids], dtype=bool)])
        distance = {
            "before": mean_pairwise_distance(matrix, np.arange(n_orig), seed=cfg.run.seed),
            "after": mean_pairwise_distance(matrix, np.nonzero(kept)[0], seed=cfg.run.seed)}
        del matrix
    t0 = time.perf_counter()
    if guard is not None:
        write_contaminated(output_dir, contaminated)
    report = write_outputs(store, keys, verdicts, output_dir, input_path, container, provenance,
                           dropped=dropped)
    timings["write"] += time.perf_counter() - t0
    progress("write", 1, 1)
    report["dedup"] = dedup_info
    if guard is not None:
        variants = sum(v.startswith(CONTAMINATED_SOURCE + ":") for v in verdicts.values())
        report["contamination"] = summary(guard, contaminated, len(cand_hits), variants, drop,
                                          guard_seconds)
    if distance:
        report["diversity"]["before"]["mean_distance"] = distance["before"]
        report["diversity"]["after"]["mean_distance"] = distance["after"]
    report["low_yield_methods"] = gated
    report["mix"] = {"budget": budget(n_orig - len(dropped), cfg.mix), **cfg.mix.model_dump()}
    report["qc_settings"] = {m: cfg.qc.settings(m) for m in report["candidates_per_method"]}
    report["qc_regime"] = regime_summary(cfg.qc.judge, cfg.llm.model)
    report["timings"] = {k: round(v, 3) for k, v in sorted(timings.items())}
    return report


def gather_vectors(store: ShardStore, keys: list[str], live_by_key: dict[str, list[int]],
                   n_orig: int, n_cand: int) -> np.ndarray:
    """One float16 matrix, originals then live candidates in shard order, filled shard by shard.

    Peak memory is this matrix (2 bytes × dim per row) plus one shard's vectors; the shards store
    float16, so nothing is lost by keeping it.
    """
    matrix: np.ndarray | None = None
    o = c = 0
    for key in keys:
        orig, cand = store.vectors(key)
        live = live_by_key[key]
        for block in (orig, cand):
            if matrix is None and block.ndim == 2 and block.shape[0] and block.shape[1]:
                matrix = np.empty((n_orig + n_cand, block.shape[1]), dtype=np.float16)
        if matrix is None:
            continue
        if len(orig):
            matrix[o:o + len(orig)] = orig
            o += len(orig)
        if live:
            matrix[n_orig + c:n_orig + c + len(live)] = cand[live]
            c += len(live)
    if matrix is None or (o, c) != (n_orig, n_cand):
        raise RuntimeError(f"shard vectors do not match their rows ({o}/{n_orig}, {c}/{n_cand})")
    return matrix

