"""`make bench`: run every benchmark script one after another and print their tables.

bench_qc, bench_qc_quality, bench_dedup and bench_contamination always run; bench_backtranslation,
bench_llm, bench_ray and bench_memory run when their files exist. Each runs as its own process (so one's memory and threads do not disturb the next),
with `--quick` passed through. Exits non-zero if any script fails; asserts no timings.

    python scripts/bench.py [--quick] [--only qc,dedup]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REQUIRED = ["bench_qc", "bench_qc_quality", "bench_dedup", "bench_contamination"]
OPTIONAL = ["bench_backtranslation", "bench_llm", "bench_ray", "bench_memory"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, passed to every script")
    ap.add_argument("--only", default="",
                    help="comma-separated names to run (qc, dedup, contamination, backtranslation, "
                         "llm, ray, memory)")
    args = ap.parse_args(argv)
    only = {f"bench_{s.strip().removeprefix('bench_')}" for s in args.only.split(",") if s.strip()}

    plan: list[tuple[str, Path | None]] = []
    for name in REQUIRED + OPTIONAL:
        if only and name not in only:
            continue
        path = HERE / f"{name}.py"
        if path.is_file():
            plan.append((name, path))
        elif name in REQUIRED:
            plan.append((name, None))

    results: list[tuple[str, str, float]] = []
    for name, path in plan:
        print(f"\n=== {name}{' --quick' if args.quick else ''} ===", flush=True)
        if path is None:
            print(f"{name}: scripts/{name}.py is missing", flush=True)
            results.append((name, "missing", 0.0))
            continue
        cmd = [sys.executable, str(path)] + (["--quick"] if args.quick else [])
        t0 = time.perf_counter()
        rc = subprocess.call(cmd, cwd=HERE.parent)
        took = time.perf_counter() - t0
        results.append((name, "ok" if rc == 0 else f"failed (exit {rc})", took))

    skipped = [n for n in OPTIONAL if not (HERE / f"{n}.py").is_file() and (not only or n in only)]
    print("\n=== summary ===")
    print(f"{'benchmark':<24} {'status':<18} {'wall s':>8}")
    for name, status, took in results:
        print(f"{name:<24} {status:<18} {took:>8.1f}")
    for name in skipped:
        print(f"{name:<24} {'not present':<18} {'-':>8}")
    failed = [n for n, s, _ in results if s != "ok"]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
