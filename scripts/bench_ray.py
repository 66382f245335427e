"""Ray's overhead on one machine: the embed + template stages under both executors, same data.

Builds N Alpaca rows from examples/train.jsonl (or synthetic sentences), runs the per-shard work
with the local executor and with the Ray executor (one actor with the local path's threads, so the
comparison is like for like), and prints: wall time with and without startup (ray.init + actor
model loading), the overhead against local (target <= 15 % without startup), the per-stage
figures, and the rows/s one expects per added node, on paper, from those figures.

    python scripts/bench_ray.py [--rows 20000] [--quick] [--shard-size 1024]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench_ray")


def make_rows(path: Path, n: int) -> Path:
    """`n` distinct rows: the examples' rows with numbered variants, or synthetic sentences."""
    src = ROOT / "examples" / "train.jsonl"
    base = [json.loads(line) for line in src.read_text().splitlines() if line.strip()] \
        if src.is_file() else []
    if not base:
        topics = ["tides", "vaccines", "compilers", "rainbows", "inflation", "glaciers"]
        base = [{"instruction": f"Explain how {t} work.", "input": "",
                 "output": f"{t.capitalize()} work through a few simple mechanisms."}
                for t in topics]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            row = dict(base[i % len(base)])
            k = i // len(base)
            row["id"] = f"b{i}"
            if k:
                row["instruction"] = f"{row['instruction'].rstrip()} (case {k})"
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


class Timed:
    """Wraps an executor: wall time of its run_shards, and of loading the driver's embedder."""

    def __init__(self, inner: Any, preload: bool) -> None:
        self.inner = inner
        self.name = inner.name
        self.preload = preload
        self.wall = self.load = 0.0

    def run_shards(self, shards: Any, work: Any) -> Any:
        if self.preload:
            t0 = time.perf_counter()
            for aug in work.augmenters:
                aug.load()
            work.embedder.load()
            self.load = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = self.inner.run_shards(shards, work)
        self.wall = time.perf_counter() - t0
        return done


def shard_stats(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text())["stats"] for p in sorted((out / ".work/shards").glob("0*.json"))]


def stage_sums(stats: list[dict[str, Any]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for s in stats:
        total.update(s["timings"])
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--quick", action="store_true", help="2,000 rows")
    ap.add_argument("--shard-size", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0: all cores")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("local_augment", "sentence_transformers", "faiss", "ray", "transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    rows = 2_000 if args.quick else args.rows
    threads = args.threads or os.cpu_count() or 1

    import ray
    import torch

    from local_augment.config import load_config
    from local_augment.executors.local import LocalExecutor
    from local_augment.executors.ray import RayExecutor, local_ray_kwargs
    from local_augment.run.pipeline import run

    torch.set_num_threads(threads)
    cfg = load_config(None, {"run.shard_size": args.shard_size,
                             "run.models_dir": str(ROOT / "models")})
    with tempfile.TemporaryDirectory(dir=ROOT / ".cache", prefix="bench-") as tmp_s:
        tmp = Path(tmp_s)
        src = make_rows(tmp / "train.jsonl", rows)

        local = Timed(LocalExecutor(), preload=True)
        run(cfg, src, tmp / "local", methods=["templates"], executor=local)
        local_stages = stage_sums(shard_stats(tmp / "local"))

        t0 = time.perf_counter()
        ray.init(num_cpus=threads, **local_ray_kwargs(ROOT / ".cache" / "rb"))
        ray_init = time.perf_counter() - t0
        try:
            rexec = Timed(RayExecutor(actors=1, actor_cpus=1, torch_threads=threads),
                          preload=False)
            run(cfg, src, tmp / "ray", methods=["templates"], executor=rexec)
        finally:
            ray.shutdown()
        stats = shard_stats(tmp / "ray")
        ray_stages = stage_sums(stats)
        actor_init = max(s["ray"]["init_s"] for s in stats)
        same = (tmp / "local/augmented.jsonl").read_bytes() == (
            tmp / "ray/augmented.jsonl").read_bytes()

    n_shards = len(stats)
    ray_wall_wo = rexec.wall - actor_init
    overhead_wo = ray_wall_wo / local.wall - 1
    overhead_w = (rexec.wall + ray_init) / (local.wall + local.load) - 1
    stage_keys = sorted(set(local_stages) | set(ray_stages))
    lines = [
        f"Ray overhead, {rows} rows, {n_shards} shards of {args.shard_size}, {threads} threads, "
        "methods=templates (+ embed/QC)",
        f"{'':34}{'local':>10}{'ray':>10}",
        f"{'startup (ray.init / models) s':34}{local.load:>10.2f}{ray_init + actor_init:>10.2f}",
        f"{'per-shard work, wall s':34}{local.wall:>10.2f}{ray_wall_wo:>10.2f}",
        f"{'total incl. startup s':34}{local.wall + local.load:>10.2f}"
        f"{rexec.wall + ray_init:>10.2f}",
    ]
    for k in stage_keys:
        lines.append(f"{'  stage ' + k + ' s':34}{local_stages[k]:>10.2f}{ray_stages[k]:>10.2f}")
    lines += [
        f"overhead without startup: {overhead_wo:+.1%} (target <= +15%); "
        f"with startup: {overhead_w:+.1%}; outputs identical: {same}",
    ]
    machinery = (ray_wall_wo - sum(ray_stages.values())) / ray_wall_wo
    lines.append(f"Ray's own share of its wall time (wall - stage time, excl. startup): "
                 f"{machinery:.1%}; the rest of any gap is the stages running slower or faster "
                 "(noise on a shared host)")
    work_s = sum(local_stages.values())
    per_row = work_s / rows
    node_rate = rows / ray_wall_wo
    lines.append(
        f"on paper: {per_row * 1e3:.2f} ms of stage work per row -> ~{node_rate:,.0f} rows/s per "
        f"node like this one; N nodes ~ N x that while shards >= N x actors per node, since "
        f"shards share nothing and the driver only saves results "
        f"({ray_wall_wo / n_shards * 1e3 - sum(ray_stages.values()) / n_shards * 1e3:.0f} ms "
        "of non-stage time per shard)")
    for line in lines:
        log.info(line)


if __name__ == "__main__":
    main()
