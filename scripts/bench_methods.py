"""What each method adds: candidates, kept by QC, yield per source, reasons, novelty.

Runs the chosen methods over each input (default: examples/train.jsonl and the hand-written
examples/instructions.jsonl) with the run's own pipeline, then reads the output back. Per method:
candidates, kept by the QC chain (before dedup and the mix, which drop good rows for budget
reasons), kept per source row, the QC reasons, and how new the kept variants are against their
sources (share of the variant's words and word pairs that its source lacks). Asserts nothing.

    python scripts/bench_methods.py [--methods templates,refusals] [--inputs a.jsonl,b.jsonl]
                                    [--config examples/config.yaml] [--show 5]
                                    [--set paraphrase.style=list ...] [--dump kept.jsonl]

`--set` compares settings on the same sources and model (e.g. the paraphrase prompt styles);
`--dump` writes every kept variant with its source, for reading (`--dump-rejects`: the rejected
ones too, with their reasons).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.quiet_env import quiet_offline  # noqa: E402

quiet_offline()

NOT_QC = ("ratio_cap", "per_original_cap")  # kept by QC, cut for the mix's budget: counted kept
NOT_NEW = ("near_duplicate_of",)  # a copy of a kept sibling or of another row: not counted
_WORD = re.compile(r"\w+")


def novelty(variant: str, source: str) -> tuple[float, float]:
    """Share of the variant's words, and word pairs, that its source does not have."""
    v, s = _WORD.findall(variant.casefold()), _WORD.findall(source.casefold())
    out = []
    for n in (1, 2):
        vg = {tuple(v[i:i + n]) for i in range(len(v) - n + 1)}
        sg = {tuple(s[i:i + n]) for i in range(len(s) - n + 1)}
        out.append(len(vg - sg) / len(vg) if vg else 0.0)
    return out[0], out[1]


def text_of(row: dict, field: str) -> str:
    if "messages" in row:
        role = "assistant" if field == "output" else "user"
        return next((m["content"] for m in row["messages"] if m.get("role") == role), "")
    return row.get("output", "") if field == "output" else row.get("instruction", "")


def distinct2(texts: list[str]) -> float:
    """Distinct word pairs over all pairs, across the kept variants (diversity among them)."""
    grams = [tuple(w[i:i + 2]) for t in texts for w in [_WORD.findall(t.casefold())]
             for i in range(len(w) - 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def measure(input_path: Path, methods: list[str], cfg, show: int,
            dump: Path | None = None, dump_rejects: bool = False) -> None:
    from local_augment.run import pipeline

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        res = pipeline.run(cfg, input_path, out, methods=methods)
        rows = [json.loads(x) for x in (out / "augmented.jsonl").read_text().splitlines()]
        rejects = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    sources = {r["_provenance"]["id"]: r for r in rows if r["_provenance"]["method"] == "original"}
    n_sources = len(sources)
    cands = res.report["candidates_per_method"]
    kept: dict[str, list[tuple[str, str]]] = defaultdict(list)
    prov: dict[str, list[dict]] = defaultdict(list)  # each kept variant's provenance, for --dump
    reasons: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        p = r["_provenance"]
        if p["method"] != "original":
            src = sources.get(p["source_id"])
            kept[p["method"]].append((text_of(src, p["field"]) if src else "",
                                      text_of(r, p["field"])))
            prov[p["method"]].append(p)
    for r in rejects:
        if "method" not in r:
            continue
        kind = r["reason"].split(":", 1)[0]
        if kind in NOT_NEW:
            continue
        if kind in NOT_QC:
            p = r["_provenance"]
            src = sources.get(p["source_id"])
            kept[r["method"]].append((text_of(src, p["field"]) if src else "",
                                      text_of(r["row"], p["field"])))
            prov[r["method"]].append(p)
        else:
            reasons[r["method"]][kind] += 1
    print(f"\n{input_path.name}: {n_sources} source rows")
    print(f"{'method':<16}{'candidates':>11}{'kept':>6}{'per source':>11}{'new words':>10}"
          f"{'new pairs':>10}{'distinct-2':>11}{'new content':>12}  reasons")
    from local_augment.quality.diversity import Novelty

    for m in sorted(cands):
        pairs = [(s, v) for s, v in kept[m] if s]
        nov = [novelty(v, s) for s, v in pairs]
        w = sum(a for a, _ in nov) / len(nov) if nov else 0.0
        b = sum(b for _, b in nov) / len(nov) if nov else 0.0
        per = len(kept[m]) / n_sources if n_sources else 0.0
        d2 = distinct2([v for _, v in kept[m]])
        fresh = Novelty()  # new content words per kept variant, as the run's report counts them
        for s, v in pairs:
            fresh.add(m, v, s)
        content = fresh.result().get(m, {}).get("new_content_words_per_variant", 0.0)
        print(f"{m:<16}{cands[m]:>11}{len(kept[m]):>6}{per:>11.2f}{w:>10.2f}{b:>10.2f}"
              f"{d2:>11.2f}{content:>12.2f}  {dict(reasons[m].most_common())}")
    if dump is not None:
        with open(dump, "a", encoding="utf-8") as fh:
            for m in sorted(kept):
                for (s, v), p in zip(kept[m], prov[m], strict=True):
                    fh.write(json.dumps({"input": input_path.name, "method": m, "source": s,
                                         "variant": v, "provenance": p},
                                        ensure_ascii=False) + "\n")
            for r in rejects if dump_rejects else []:
                if "method" in r and r["reason"].split(":", 1)[0] not in NOT_QC:
                    p = r["_provenance"]
                    src = sources.get(p["source_id"])
                    fh.write(json.dumps({
                        "input": input_path.name, "method": r["method"],
                        "source": text_of(src, p["field"]) if src else "",
                        "variant": text_of(r["row"], p["field"]), "reason": r["reason"],
                        "provenance": p},
                        ensure_ascii=False) + "\n")
    for m in sorted(kept):
        for s, v in kept[m][:show]:
            print(f"  [{m}] {s[:70]!r}\n      -> {v[:90]!r}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="templates and refusals only")
    ap.add_argument("--methods", default="templates,refusals,backtranslation,paraphrase,outputs")
    ap.add_argument("--inputs", default="examples/train.jsonl,examples/instructions.jsonl")
    ap.add_argument("--config", default="examples/config.yaml")
    ap.add_argument("--show", type=int, default=0, help="kept rows printed per method")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="config override, e.g. paraphrase.style=list (repeatable)")
    ap.add_argument("--dump", type=Path, help="append every kept variant here (JSONL)")
    ap.add_argument("--dump-rejects", action="store_true",
                    help="with --dump: also every variant QC rejected, with its reason")
    args = ap.parse_args(argv)
    import yaml

    overrides = {"run.models_dir": str(ROOT / "models")}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key.strip()] = yaml.safe_load(value)
    from local_augment.config import METHODS, load_config

    methods = ["templates", "refusals"] if args.quick else [
        m.strip() for m in args.methods.split(",") if m.strip()]
    cfg = load_config(ROOT / args.config, overrides)
    from local_augment.augmenters import build_augmenters
    from local_augment.augmenters.base import Context
    from local_augment.engines.manifest import load_manifest

    ctx = Context(config=cfg, manifest=load_manifest(cfg.run.models_dir), seed=0)
    usable = [a.name for a in build_augmenters(ctx, [m for m in methods if m in METHODS],
                                               explicit=False)[0]]
    print(f"methods: {', '.join(usable)} (of {', '.join(methods)}; the rest lack models)")
    for name in args.inputs.split(","):
        path = ROOT / name.strip()
        if path.is_file():
            measure(path, usable, cfg, args.show, args.dump, args.dump_rejects)
    return 0


if __name__ == "__main__":
    sys.exit(main())
