"""The model store: `models/manifest.toml` names every model, where it lives and its checksums.

Models load only from local folders listed here; a missing or corrupt model is one line that names
the model, where it was expected and the command that installs it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from local_augment.config import default_models_dir
from local_augment.errors import ModelError, UserError

log = logging.getLogger("local_augment.engines.manifest")
CHECKSUM_FILE = "CHECKSUMS.json"
STAMP_FILE = ".verified.json"
INSTALL_HINT = "make models"


@dataclass(frozen=True)
class ModelSpec:
    """One manifest entry."""

    name: str
    role: str
    dir: str
    license: str
    source: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    pair: tuple[str, str] | None = None
    description: str = ""
    install: str = INSTALL_HINT
    default: bool = False


@dataclass
class Manifest:
    """The parsed manifest plus the folder models are installed in."""

    root: Path
    models: dict[str, ModelSpec]

    def get(self, name: str, role: str | None = None) -> ModelSpec:
        spec = self.models.get(name)
        if spec is None:
            known = ", ".join(sorted(self.models)) or "(none)"
            raise ModelError(
                f"model {name!r} is not in {self.root / 'manifest.toml'}; known models: {known}"
            )
        if role is not None and spec.role != role:
            raise ModelError(f"model {name!r} is a {spec.role}, not a {role}")
        return spec

    def path(self, spec: ModelSpec) -> Path:
        return self.root / spec.dir

    def translator(self, src: str, tgt: str) -> ModelSpec | None:
        for spec in self.models.values():
            if spec.role == "translator" and spec.pair == (src, tgt):
                return spec
        return None

    def expected_files(self, spec: ModelSpec) -> dict[str, str]:
        """sha256 per file: from the manifest, else from the CHECKSUMS.json written at fetch time."""
        if spec.files:
            return dict(spec.files)
        sums = self.path(spec) / CHECKSUM_FILE
        if sums.is_file():
            return json.loads(sums.read_text(encoding="utf-8"))
        return {}

    def status(self, spec: ModelSpec, *, full: bool = False) -> tuple[str, str]:
        """('ok'|'missing'|'corrupt'|'unverified', detail)."""
        path = self.path(spec)
        if not path.is_dir():
            return "missing", f"not installed at {path}"
        expected = self.expected_files(spec)
        if not expected:
            return "unverified", f"no checksums for {path}"
        for rel in expected:
            if not (path / rel).is_file():
                return "missing", f"file {rel} missing in {path}"
        if not full and _stamp_matches(path, expected):
            return "ok", str(path)
        for rel, want in expected.items():
            got = sha256_file(path / rel)
            if got != want:
                return "corrupt", f"{rel} has sha256 {got[:12]}…, expected {want[:12]}…"
        _write_stamp(path, expected)
        return "ok", str(path)

    def require(self, name: str, role: str | None = None) -> tuple[ModelSpec, Path]:
        """The spec and folder of an installed, verified model, or a one-line ModelError."""
        spec = self.get(name, role)
        state, detail = self.status(spec)
        if state == "ok":
            return spec, self.path(spec)
        verb = {"missing": "is not installed", "corrupt": "is corrupt", "unverified": "has no checksums"}
        raise ModelError(
            f"model {spec.name} ({spec.role}) {verb[state]}: {detail}; install it with `{spec.install}`"
        )

    def checksum(self, spec: ModelSpec) -> str:
        """One digest for the whole model (over its files' sha256), used in provenance."""
        expected = self.expected_files(spec)
        blob = "\n".join(f"{k}:{v}" for k, v in sorted(expected.items()))
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:16]

    def describe(self, spec: ModelSpec, engine: str | None = None) -> dict[str, Any]:
        info = {"name": spec.name, "checksum": self.checksum(spec)}
        if engine:
            info["engine"] = engine
        return info


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _fingerprint(path: Path, expected: dict[str, str]) -> dict[str, Any]:
    out = {}
    for rel in sorted(expected):
        st = (path / rel).stat()
        out[rel] = [st.st_size, st.st_mtime_ns, expected[rel]]
    return out


def _stamp_matches(path: Path, expected: dict[str, str]) -> bool:
    stamp = path / STAMP_FILE
    try:
        return json.loads(stamp.read_text()) == _fingerprint(path, expected)
    except (OSError, ValueError):
        return False


def _write_stamp(path: Path, expected: dict[str, str]) -> None:
    with contextlib.suppress(OSError):  # a read-only model store: we just hash again next time
        (path / STAMP_FILE).write_text(json.dumps(_fingerprint(path, expected)))


def load_manifest(root: str | Path | None = None) -> Manifest:
    root = Path(root) if root is not None else default_models_dir()
    path = root / "manifest.toml"
    if not path.is_file():
        raise UserError(
            f"{path}: model manifest not found; run from the project folder or set "
            "run.models_dir / LOCAL_AUGMENT_MODELS to the folder holding manifest.toml"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: {exc}") from exc
    models = {}
    for name, entry in data.get("models", {}).items():
        try:
            pair = tuple(entry["pair"]) if "pair" in entry else None
            models[name] = ModelSpec(
                name=name, role=entry["role"], dir=entry.get("dir", name),
                license=entry.get("license", "unknown"), source=entry.get("source", {}),
                files=entry.get("files", {}), pair=pair,  # type: ignore[arg-type]
                description=entry.get("description", ""),
                install=entry.get("install", INSTALL_HINT), default=entry.get("default", False),
            )
        except KeyError as exc:
            raise UserError(f"{path}: model {name!r} lacks key {exc}") from exc
    return Manifest(root=root, models=models)


def pick_device(requested: str = "auto") -> str:
    """`cuda` when a GPU is visible (or asked for), else `cpu`; decided at run time."""
    if requested != "auto":
        return requested
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"
