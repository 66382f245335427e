"""SIGKILL at several points, rerun the same command: outputs byte-identical to a clean run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _cmd(out: Path, cfg: Path) -> list[str]:
    return [sys.executable, "-m", "local_augment", "augment", str(EXAMPLES / "train.jsonl"),
            "-o", str(out), "-c", str(cfg), "--methods", "templates,refusals", "-q"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = tmp_path_factory.mktemp("kill")
    cfg = base / "cfg.yaml"
    cfg.write_text(f"run:\n  shard_size: 6\n  models_dir: {ROOT / 'models'}\n"
                   f"refusals:\n  cases: {EXAMPLES / 'refusal_cases.jsonl'}\n"
                   "qc:\n  fluency: false\n")  # about crashes and resume, not QC
    ref = base / "reference"
    subprocess.run(_cmd(ref, cfg), check=True, cwd=ROOT, capture_output=True)
    return base, cfg, ref


def _kill_when(cmd: list[str], ready, timeout: float = 120) -> bool:
    """Start the run, SIGKILL it as soon as `ready()` is true; False if it finished first."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if ready():
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(0.005)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _done(out: Path) -> int:
    d = out / ".work" / "shards"
    return len(list(d.glob("*.done"))) if d.is_dir() else 0


POINTS = {
    "before_any_shard": lambda out: (out / ".work").is_dir(),
    "after_one_shard": lambda out: _done(out) >= 1,
    "mid_shards": lambda out: _done(out) >= 6,
    "while_writing": lambda out: (out / "augmented.jsonl.tmp").exists()
    or (out / "rejected.jsonl.tmp").exists(),
}


@pytest.mark.slow
@pytest.mark.parametrize("point", list(POINTS))
def test_sigkill_then_rerun_is_byte_identical(setup, point):
    base, cfg, ref = setup
    out = base / point
    shutil.rmtree(out, ignore_errors=True)
    killed = _kill_when(_cmd(out, cfg), lambda: POINTS[point](out))
    # a killed run never leaves a visible, truncated output file
    for name in ("augmented.jsonl", "rejected.jsonl", "report.json"):
        if killed and (out / name).exists():
            assert (out / name).read_bytes() == (ref / name).read_bytes() or name == "report.json"
    subprocess.run(_cmd(out, cfg), check=True, cwd=ROOT, capture_output=True)
    for name in ("augmented.jsonl", "rejected.jsonl"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), (point, name)
    a = json.loads((out / "report.json").read_text())
    b = json.loads((ref / "report.json").read_text())
    assert a["counts"] == b["counts"] and a["rejected_per_reason"] == b["rejected_per_reason"]
    assert os.path.getsize(out / "augmented.jsonl") > 0
