"""The wheel carries every file the package reads at run time (prompts, demonstrations,
templates, fitted coefficients): an air-gapped host installs from the wheel, not a checkout."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "local_augment"


def data_files() -> set[str]:
    """Every non-Python file under the package, as the wheel would name it."""
    return {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_the_wheel_holds_every_run_time_data_file(tmp_path):
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)]
    # the venv's own setuptools first (no download); an isolated build if it is too old
    if subprocess.run([*cmd, "--no-build-isolation"], capture_output=True).returncode != 0:
        subprocess.run(cmd, check=True, capture_output=True)
    wheel = next(tmp_path.glob("local_augment-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = data_files()
    assert {"local_augment/prompts/paraphrase_demos.json",
            "local_augment/quality/equivalence.json"} <= wanted
    assert wanted - names == set(), "add these to [tool.setuptools.package-data]"
