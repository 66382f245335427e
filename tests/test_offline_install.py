"""The air-gapped install: a bundle made here installs and runs with the network cut.

The unit tests check the installer's refusals on a tiny hand-made bundle (one line naming the
missing or corrupt file). The proof builds a real bundle with the core dependencies and the
embedded models, installs it into a fresh venv inside a network namespace with no interfaces
(`unshare -n`, root only) and runs a templates augment over examples/ there."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from scripts import install_offline

ROOT = Path(__file__).resolve().parent.parent


def _bundle(path: Path, files: dict[str, bytes], *, listed: dict[str, str] | None = None,
            fmt: str = install_offline.FORMAT) -> Path:
    sums = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    meta = {"format": fmt, "files": listed if listed is not None else sums,
            "target": {"kind": "cpu", "python": "3.11"}}
    with tarfile.open(path, "w") as tf:
        for name, data in [("bundle.json", json.dumps(meta).encode()), *files.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_a_bundle_whose_files_verify_unpacks(tmp_path):
    bundle = _bundle(tmp_path / "b.tar", {"wheels/a.whl": b"a", "models.tar": b"m"})
    meta = install_offline.unpack(bundle, tmp_path / "out")
    assert (tmp_path / "out" / "wheels" / "a.whl").read_bytes() == b"a"
    assert set(meta["files"]) == {"wheels/a.whl", "models.tar"}


def test_a_corrupt_file_is_one_line_naming_it(tmp_path):
    listed = {"wheels/a.whl": hashlib.sha256(b"other").hexdigest()}
    bundle = _bundle(tmp_path / "b.tar", {"wheels/a.whl": b"a"}, listed=listed)
    with pytest.raises(SystemExit) as exc:
        install_offline.unpack(bundle, tmp_path / "out")
    msg = str(exc.value)
    assert "wheels/a.whl is corrupt" in msg and "copy the bundle again" in msg
    assert "\n" not in msg


def test_a_missing_file_is_one_line_naming_it(tmp_path):
    listed = {"wheels/a.whl": hashlib.sha256(b"a").hexdigest(), "wheels/torch.whl": "0" * 64}
    bundle = _bundle(tmp_path / "b.tar", {"wheels/a.whl": b"a"}, listed=listed)
    with pytest.raises(SystemExit, match=r"wheels/torch.whl is missing from the bundle"):
        install_offline.unpack(bundle, tmp_path / "out")


def test_a_model_only_bundle_or_no_bundle_says_what_it_is(tmp_path):
    with pytest.raises(SystemExit, match="model-only bundle installs with `make models BUNDLE=`"):
        install_offline.unpack(_bundle(tmp_path / "m.tar", {}, fmt=None), tmp_path / "o")
    with pytest.raises(SystemExit, match="bundle not found"):
        install_offline.unpack(tmp_path / "nope.tar", tmp_path / "o")
    (tmp_path / "junk.tar").write_bytes(b"not a tar")
    with pytest.raises(SystemExit, match="cannot read the bundle"):
        install_offline.unpack(tmp_path / "junk.tar", tmp_path / "o")


def test_a_listed_path_that_escapes_is_refused(tmp_path):
    bundle = _bundle(tmp_path / "b.tar", {}, listed={"../evil": "0" * 64})
    with pytest.raises(SystemExit, match="escapes the bundle"):
        install_offline.unpack(bundle, tmp_path / "out")


def test_another_python_is_refused_with_what_to_do():
    meta = {"target": {"python": "2.7"}}
    with pytest.raises(SystemExit, match=r"wheels are for Python 2.7.*--python-version"):
        install_offline.check_host(meta, sys.executable)


def test_pip_sees_no_config_and_no_index_variables(monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", "https://example.invalid/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    env = install_offline.offline_env()
    assert "PIP_INDEX_URL" not in env and "PIP_FIND_LINKS" not in env
    assert env["PIP_CONFIG_FILE"] == os.devnull


def _can_cut_the_network() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        return "unshare -n needs root (CI runs as root)"
    return None


@pytest.mark.slow
@pytest.mark.models
@pytest.mark.skipif(_can_cut_the_network() is not None, reason=str(_can_cut_the_network()))
def test_the_bundle_installs_and_runs_with_the_network_cut(tmp_path):
    bundle = tmp_path / "core.tar"
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_bundle.py"), "--set",
                          "core", "-o", str(bundle)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    host = tmp_path / "airgap"
    host.mkdir()
    with tarfile.open(bundle) as tf:
        source = tf.extractfile("source.tar.gz")
        assert source is not None
        with tarfile.open(fileobj=io.BytesIO(source.read()), mode="r:gz") as src:
            src.extractall(host, filter="data")
    repo = host / "local_augment"
    (repo / "templates.yaml").write_text("methods: [templates]\n")
    probe = ("import socket; s = socket.socket(); s.settimeout(2)\n"
             "try:\n    s.connect(('1.1.1.1', 443)); print('NETWORK')\n"
             "except OSError as e:\n    print('no network:', e)")
    script = (f"ip -o link; {sys.executable} -c \"{probe}\" && "
              f"make install-offline BUNDLE={bundle} && "
              f"make augment CONFIG=templates.yaml OUT={host / 'out'}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep)
                                  if not p.startswith(str(ROOT)))
    run = subprocess.run(["unshare", "-n", "bash", "-c", script], cwd=repo, env=env,
                         capture_output=True, text=True, check=False)
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:]
    links = [line for line in run.stdout.splitlines() if ": <" in line]
    assert all(" lo: " in line and "state DOWN" in line for line in links), links
    assert "no network:" in run.stdout and "NETWORK\n" not in run.stdout
    assert "install-offline: done" in run.stdout
    assert "Traceback" not in log
    rows = (host / "out" / "augmented.jsonl").read_text().splitlines()
    originals = sum(1 for x in (ROOT / "examples" / "train.jsonl").read_text().splitlines()
                    if x.strip())
    assert len(rows) > originals
    assert (repo / ".venv" / "bin" / "local-augment").exists()
