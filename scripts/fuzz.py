#!/usr/bin/env python3
"""Whole-run fuzz: thousands of generated hostile files through every reader and the real run.

    make fuzz                    # 10,000 files
    FUZZ_FILES=2000 make fuzz

Generates `FUZZ_FILES` files with the strategies of tests/hostile_inputs.py: 70 % datasets
(Alpaca JSONL, chat JSONL, mixed, Parquet) and 10 % each eval sets, refusal-case files and
YAML/TOML configs. Every file goes through its reader; a dataset must be read completely (rows
+ bad rows == input rows) or refused as a whole with one clean line. Every `FUZZ_RUN_EVERY`-th
dataset (default 4) also goes through the real pipeline (templates, QC, dedup, mix, writer;
the hash embedder stands in for the model): every row must be an original in the output or a
bad_input reject, unchanged, with no traceback on the terminal. Crashing inputs are saved under
`fuzz-crashes/` for a regression test. The last line reads
`fuzz: <files> files, <crashes> crashes, <lost> lost rows`.
"""

from __future__ import annotations

import collections
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
warnings.simplefilter("ignore")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from local_augment.augmenters.refusals import read_cases  # noqa: E402
from local_augment.config import load_config  # noqa: E402
from local_augment.data.eval_sets import read_eval_set  # noqa: E402
from local_augment.data.formats import read_examples  # noqa: E402
from local_augment.errors import UserError  # noqa: E402
from tests.hostile_inputs import (  # noqa: E402
    configs,
    eval_files,
    input_files,
    refusal_case_files,
    run_pipeline,
)


class Tally:
    def __init__(self, crashes_dir: Path) -> None:
        self.files = self.crashes = self.lost = self.runs = self.changed = self.refused = 0
        self.kinds: collections.Counter[str] = collections.Counter()
        self.found: collections.Counter[str] = collections.Counter()
        self.crashes_dir = crashes_dir

    def crash(self, what: str, data: bytes, suffix: str) -> None:
        self.crashes += 1
        first = what not in self.found
        self.found[what] += 1
        if first:  # keep one input per distinct crash
            self.crashes_dir.mkdir(parents=True, exist_ok=True)
            (self.crashes_dir / f"crash{len(self.found):03d}{suffix}").write_bytes(data)
            (self.crashes_dir / f"crash{len(self.found):03d}.txt").write_text(what + "\n")


def quiet(fn, *args):
    """Call `fn`; (result, None) or (None, UserError) or raise the crash."""
    try:
        return fn(*args), None
    except UserError as exc:
        return None, exc


def main() -> int:
    total = int(os.environ.get("FUZZ_FILES", "10000"))
    run_every = max(1, int(os.environ.get("FUZZ_RUN_EVERY", "4")))
    tally = Tally(ROOT / "fuzz-crashes")
    shutil.rmtree(tally.crashes_dir, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="fuzz-"))
    t0 = time.perf_counter()
    share = {"dataset": int(total * 0.7)}
    share.update({k: (total - share["dataset"]) // 3 for k in ("eval", "cases", "config")})
    share["dataset"] += total - sum(share.values())

    def every(n: int, strategy):
        def decorate(fn):
            return settings(max_examples=n, database=None, deadline=None,
                            phases=[Phase.generate],
                            suppress_health_check=list(HealthCheck))(given(strategy)(fn))
        return decorate

    @every(share["dataset"], input_files())
    def datasets(f):
        tally.files += 1
        tally.kinds[f.kind] += 1
        path = work / f"d{tally.files:05d}{f.suffix}"
        path.write_bytes(f.data)
        try:
            items, err = quiet(lambda: list(read_examples(path)))
        except Exception as exc:
            tally.crash(f"read_examples: {type(exc).__name__}: {exc}"[:300], f.data, f.suffix)
            return
        if err is not None:
            tally.refused += 1
        elif len(items) != f.rows:
            tally.lost += abs(f.rows - len(items))
        if tally.kinds[f.kind] % run_every == 0:
            tally.runs += 1
            with tempfile.TemporaryDirectory(dir=work) as d:
                out = run_pipeline(f, d)
            if out.crash or out.traceback:
                tally.crash(f"run: {out.crash or 'a traceback reached the terminal'}"[:300],
                            f.data, f.suffix)
            tally.lost += out.lost
            tally.changed += out.changed

    def reader(name: str, fn, suffix_of):
        def check(spec):
            tally.files += 1
            data, suffix = suffix_of(spec)
            path = work / f"{name}{tally.files:05d}{suffix}"
            path.write_bytes(data)
            try:
                _, err = quiet(fn, path)
            except Exception as exc:
                tally.crash(f"{name}: {type(exc).__name__}: {exc}"[:300], data, suffix)
                return
            if err is not None and str(path) not in str(err):
                tally.crash(f"{name}: an error that does not name the file: {err}"[:300], data,
                            suffix)
        return check

    def yaml_or_toml(cfg: dict) -> tuple[bytes, str]:
        import yaml

        return yaml.safe_dump(cfg, allow_unicode=True).encode("utf-8"), ".yaml"

    every(share["eval"], eval_files())(reader("eval", read_eval_set, lambda s: s))()
    every(share["cases"], refusal_case_files())(
        reader("cases", read_cases, lambda b: (b, ".jsonl")))()
    every(share["config"], configs() | st.binary(max_size=200).map(lambda b: {"_raw": b}))(
        reader("config", load_config,
               lambda c: (c["_raw"], ".yaml") if "_raw" in c else yaml_or_toml(c)))()
    datasets()
    shutil.rmtree(work, ignore_errors=True)
    took = time.perf_counter() - t0
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(tally.kinds.items()))
    print(f"datasets: {kinds}; {tally.refused} refused as a whole with one line; "
          f"{tally.runs} whole runs, {tally.changed} originals changed; {took:.0f} s")
    for what, n in tally.found.most_common():
        print(f"  {n:>5}  {what}")
    if tally.found:
        print(f"crashing inputs: {tally.crashes_dir}/")
    print(f"fuzz: {tally.files} files, {tally.crashes} crashes, {tally.lost + tally.changed} "
          "lost rows")
    return 1 if tally.crashes or tally.lost or tally.changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
