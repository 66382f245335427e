"""`local-augment qc`: score (source, variant) pairs from a JSONL file with the run's own chain.

Input lines carry `source_instruction` and `variant_instruction`, and optionally `method` (else
`--method`), `source_output`, `variant_output`, `pid` and `field`; each output line is the input
line (every field kept, `pid` included) plus `verdict` (`kept` or the reject reason) and `scores`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from local_augment.config import Config
from local_augment.data.atomic import AtomicJsonlWriter, StdoutJsonl
from local_augment.engines.manifest import load_manifest
from local_augment.errors import UserError
from local_augment.methods import METHODS, STANDALONE_METHODS
from local_augment.quality.gate import low_yield
from local_augment.quality.lexical import output_kind
from local_augment.quality.pair import Pair
from local_augment.quality.reasons import kind

REQUIRED = ("source_instruction", "variant_instruction")
OPTIONAL = ("method", "source_output", "variant_output")


def pair_of(item: dict[str, Any], where: str, method: str | None = None) -> Pair:
    """The Pair a line describes: what changed decides which texts are compared. `method` is
    the default for lines without one."""
    for key in REQUIRED:
        if not isinstance(item.get(key), str):
            raise UserError(f"{where}: field {key!r} is missing or not a string; each line needs "
                            f"{', '.join(REQUIRED)} (and may have {', '.join(OPTIONAL)})")
    item = {"source_output": "", "variant_output": "", **item}
    for key in OPTIONAL:
        if key in item and not isinstance(item[key], str):
            raise UserError(f"{where}: field {key!r} is not a string")
    if "method" not in item and method is None:
        raise UserError(f"{where}: field 'method' is missing; give each line one, or pass "
                        "--method NAME")
    method = item.get("method", method)
    if method not in METHODS:
        raise UserError(f"{where}: unknown method {method!r}; methods: {', '.join(METHODS)}")
    field = item.get("field") or (
        "row" if method in STANDALONE_METHODS else
        "output" if item["variant_output"] != item["source_output"] and
        item["variant_instruction"] == item["source_instruction"] else "instruction")
    if field == "output":
        return Pair(method, field, item["variant_output"], item["source_output"],
                    instruction=item["source_instruction"],
                    kind=item.get("kind") or output_kind(item["variant_output"],
                                                         item["source_output"]))
    source, variant = item["source_instruction"], item["variant_instruction"]
    head, sep, tail = source.partition("\n\n")
    if sep and variant.endswith(sep + tail) and len(variant) > len(sep + tail):
        # an instruction with an input, both carried along: compare the instructions (as a run
        # does); an input that changed is compared whole
        source, variant = head, variant[: -len(sep + tail)]
    return Pair(method, field, variant, source, instruction=item["source_instruction"],
                output=item["source_output"])


def read_pairs(path: Path, method: str | None = None) -> Iterator[tuple[dict[str, Any], Pair]]:
    """(line as read, its Pair) for each non-blank line; bad lines are errors naming the line."""
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise UserError(f"{where}: not valid JSON ({exc.msg}); one JSON object per line"
                                ) from None
            if not isinstance(item, dict):
                raise UserError(f"{where}: expected a JSON object")
            yield item, pair_of(item, where, method)


def score_pairs(path: Path, cfg: Config, out_path: Path | None, *, exhaustive: bool = False,
                chunk: int = 4096, method: str | None = None, gate: bool = False
                ) -> tuple[int, Counter[str], list[str]]:
    """Score every pair of `path` with the run's chain, and with `gate` the low-yield gate (a
    run's verdict on a generator: it fits a file of one run's candidates, not a labelled mix);
    write JSONL lines (to `out_path`, or stdout). Returns (pairs scored, verdict kinds counted,
    notices)."""
    from local_augment.augmenters.base import Context
    from local_augment.engines.embedder import open_embedder
    from local_augment.quality.chain import create_chain

    manifest = load_manifest(cfg.run.models_dir)
    ctx = Context(config=cfg, manifest=manifest, seed=cfg.run.seed)
    embedder = open_embedder(cfg, manifest)
    chain = create_chain(ctx, embedder)
    items: list[dict[str, Any]] = []
    batch: list[tuple[dict[str, Any], Pair]] = []

    def flush() -> None:
        verdicts = chain.check([p for _, p in batch], exhaustive=exhaustive)
        for (item, pair), v in zip(batch, verdicts, strict=True):
            items.append({**item, "_method": pair.method, "verdict": v.reason or "kept",
                          "scores": {k: round(float(x), 4) for k, x in v.scores.items()}})
        batch.clear()

    try:
        for item, pair in read_pairs(path, method):
            batch.append((item, pair))
            if len(batch) >= chunk:
                flush()
        if batch:
            flush()
        gated = low_yield([(i["_method"], None if i["verdict"] == "kept" else i["verdict"])
                           for i in items], cfg.qc) if gate else {}
        counts: Counter[str] = Counter()
        with AtomicJsonlWriter(out_path) if out_path is not None else StdoutJsonl() as out:
            for item in items:
                method = item.pop("_method")
                if item["verdict"] == "kept" and method in gated:
                    item["verdict"] = gated[method]
                counts[kind(item["verdict"])] += 1
                out.write(item)
    finally:
        ctx.engines.unload_all()
    return len(items), counts, chain.notices
