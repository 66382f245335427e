"""Setting up a run: the output folder, the input's shards, the resume fingerprint, the models.

Kept apart from `pipeline` (which runs the stages) so each stays small.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from local_augment.augmenters.base import Augmenter
from local_augment.config import Config
from local_augment.data.formats import PARQUET, read_examples
from local_augment.data.records import Example
from local_augment.engines.manifest import Manifest
from local_augment.errors import BadRow, UserError
from local_augment.version import __version__


def prepare_output_dir(path: Path) -> Path:
    """Create the output dir or explain why it can't be used."""
    if path.exists() and not path.is_dir():
        raise UserError(f"{path}: output path exists and is a file; pass a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise UserError(f"{path}: output directory is not writable ({exc.strerror})") from None
    return path


def count_rows(path: Path, container: str) -> int | None:
    """Rows to expect, for progress bars (cheap: newline count or Parquet metadata)."""
    try:
        if container == PARQUET:
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        n = 0
        with open(path, "rb") as fh:
            while block := fh.read(1 << 22):
                n += block.count(b"\n")
        return n
    except Exception:
        return None


def fingerprint(cfg: Config, input_path: Path, augmenters: list[Augmenter], methods: list[str],
                manifest: Manifest) -> str:
    """What a finished shard depends on: input file, settings that shape shards, models, code."""
    st = input_path.stat()
    model_sums = {n: manifest.checksum(s) for n, s in manifest.models.items()
                  if manifest.path(s).is_dir()}
    blob = json.dumps({
        "version": __version__, "input": [str(input_path.resolve()), st.st_size, st.st_mtime_ns],
        "methods": methods, "seed": cfg.run.seed, "shard_size": cfg.run.shard_size,
        "qc": {k: v for k, v in cfg.qc.model_dump(mode="json").items()
               if not k.startswith("eval_") and k != "drop_contaminated"},  # used in finish only
        "embedder": cfg.embedder.model,
        "augmenters": {a.name: a.describe() for a in augmenters}, "models": model_sums,
    }, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def iter_shards(
    path: Path, fmt: str | None, shard_size: int, strict: bool
) -> Iterator[tuple[str, list[Example], list[dict[str, Any]]]]:
    """(key, examples, bad rows) per `shard_size` input rows, in file order."""
    stream = read_examples(path, fmt)
    for n in itertools.count():
        chunk = list(itertools.islice(stream, shard_size))
        if not chunk:
            return
        examples, bad = [], []
        for item in chunk:
            if isinstance(item, BadRow):
                if strict:
                    raise UserError(f"{item} (--strict stops at the first bad row)")
                bad.append({"line": item.line, "reason": item.reason, "raw": item.raw,
                            "file": item.path})
            else:
                examples.append(item)
        yield f"{n:06d}", examples, bad


def models_used(manifest: Manifest, cfg: Config, augmenters: Sequence[Augmenter]
                ) -> dict[str, dict]:
    """Name and checksum of each installed model the run's settings point at, by role: the
    embedder, the scorer LM when a check uses it, the LLM when an augmenter of the run calls it
    (or the judge does), and what each augmenter says it uses of its own (`models()`)."""
    wanted = {"embedder": cfg.embedder.model}
    if cfg.qc.fluency or cfg.qc.fit:
        wanted["qc scorer"] = cfg.qc.scorer_model
    if any(a.uses_llm for a in augmenters) or cfg.qc.judge == "llm":
        wanted["llm"] = cfg.llm.model
    for a in augmenters:
        wanted.update(a.models())
    out: dict[str, dict] = {}
    for role, name in wanted.items():
        spec = manifest.models.get(name)
        if spec is not None and manifest.path(spec).is_dir():
            out[role] = manifest.describe(spec)
        elif role == "llm" and cfg.llm.engine == "server":
            out[role] = {"name": cfg.llm.served_model or name, "engine": "server",
                         "base_url": cfg.llm.base_url}
    return out
