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
            "local_augment/config/equivalence.json"} <= wanted
    assert wanted - names == set(), "add these to [tool.setuptools.package-data]"


LOADERS = """
import sys
sys.path.insert(0, sys.argv[1])
opened = set()
sys.addaudithook(lambda ev, args: ev == "open" and isinstance(args[0], str)
                 and opened.add(args[0]))
import local_augment
assert local_augment.__file__.startswith(sys.argv[1]), local_augment.__file__
from local_augment.engines.llm.prompting import load_prompt
from local_augment.augmenters.paraphrase import load_demos
from local_augment.augmenters.templates import load_template_sets
from local_augment.config import fitted as equivalence
from local_augment.quality import judge
from local_augment.quality.diagnosis import shown_to_help
for name in ("paraphrase", "paraphrase_single", "outputs_brief", "outputs_bulleted", "refusal",
             "refusal_reword", "judge"):
    load_prompt(name)
load_demos(); judge._demos(); load_template_sets(None)
equivalence.load_model("embedded"); equivalence.load_model("judged")
assert shown_to_help(["templates"], "smollm2-135m-instruct"), "evidence/downstream.json unread"
root = sys.argv[1] + "/"
print("\\n".join(sorted(p[len(root):] for p in opened
                        if p.startswith(root) and not p.endswith((".py", ".pyc")))))
"""


@pytest.mark.slow
def test_the_installed_wheel_opens_its_data_files_from_itself(tmp_path):
    """The code's own loaders (prompts, demonstrations, templates, coefficients, evidence) run
    from an installed wheel, not the checkout; every data file they open is in the wheel."""
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)]
    if subprocess.run([*cmd, "--no-build-isolation"], capture_output=True).returncode != 0:
        subprocess.run(cmd, check=True, capture_output=True)
    wheel = next(tmp_path.glob("local_augment-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    res = subprocess.run([sys.executable, "-c", LOADERS, str(target)], capture_output=True,
                         text=True, cwd=tmp_path, check=False)
    assert res.returncode == 0, res.stderr[-2000:]
    opened = set(res.stdout.split())
    assert {"local_augment/prompts/paraphrase_demos.json",
            "local_augment/config/equivalence.json",
            "local_augment/templates/default.yaml"} <= opened
    assert opened <= set(zipfile.ZipFile(wheel).namelist())
