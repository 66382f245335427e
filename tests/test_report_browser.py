"""report.html in a real headless browser (Debian's chromium): it renders at phone and desktop
width, its tables and plots are there, and the page logs no console errors.

`make test` installs chromium when it can; without it this test skips and says why.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from local_augment.config import load_config
from local_augment.run import pipeline

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


def _chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install "
                    "chromium; `make test` does this where it can)")
@pytest.mark.models
def test_report_renders_in_a_browser(tmp_path, models_dir):
    out = tmp_path / "out"
    cfg = load_config(overrides={"run.models_dir": str(models_dir),
                                 "refusals.cases": str(EXAMPLES / "refusal_cases.jsonl")})
    pipeline.run(cfg, EXAMPLES / "train.jsonl", out, methods=["templates", "refusals"])
    page = (out / "report.html").resolve().as_uri()
    dom = _chromium(["--enable-logging=stderr", "--v=0", "--dump-dom", page], tmp_path / "p1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    for needle in ("<table", "<svg", "Diversity", "Kept rows", "Rejected rows", "templates",
                   "distinct-2", "Settings"):
        assert needle in html, needle
    console = [ln for ln in dom.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    assert not console, console
    for name, size in (("phone", "390,2400"), ("desktop", "1280,2400")):
        shot = tmp_path / f"report-{name}.png"
        res = _chromium([f"--screenshot={shot}", f"--window-size={size}", page],
                        tmp_path / f"p-{name}")
        assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
        assert shot.stat().st_size > 10_000  # a page, not a blank
