"""Peak RSS of `local-augment augment --methods templates` at growing input sizes.

The input is streamed in shards, so peak memory should be bounded by one shard's working set plus
the dedup index (one 384-dim vector per original and accepted candidate) plus per-row metadata
held by the global steps — not by the input size. This measures it.

The real MiniLM embeds ~1-2k texts/s on a small CPU, so 1M rows would take hours: the bench builds
a TINY random sentence-transformers model (BERT, hidden 32, one layer, the MiniLM tokenizer, mean
pooling, a 32->384 Dense layer so the vectors have the real model's size, Normalize), saved as
safetensors in a temporary model store with its own manifest.toml, and points the run at it with a
config (`run.models_dir`, `embedder.model`). Memory, not embedding speed, is what is measured.

    .venv/bin/python scripts/bench_memory.py            # 100k and 1M rows
    .venv/bin/python scripts/bench_memory.py --quick    # 10k and 100k rows
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MINILM = ROOT / "models" / "all-minilm-l6-v2"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json")
TINY = "tiny-random-embedder"
DIM = 384


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def build_tiny_model(store: Path, seed: int = 0) -> Path:
    """A random sentence-transformers model + manifest.toml in `store`; returns its folder."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.dense import Dense
    from sentence_transformers.base.modules.normalize import Normalize
    from sentence_transformers.base.modules.transformer import Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    hf_dir = store / "_hf"
    hf_dir.mkdir(parents=True)
    for name in TOKENIZER_FILES:
        shutil.copy(MINILM / name, hf_dir / name)
    vocab = len((hf_dir / "vocab.txt").read_text(encoding="utf-8").splitlines())
    config = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    bert = BertModel(config)
    with torch.no_grad():  # spread: texts differ by their tokens, not by shared positions
        bert.embeddings.position_embeddings.weight.zero_()
        bert.embeddings.token_type_embeddings.weight.zero_()
        bert.embeddings.word_embeddings.weight.normal_(0.0, 1.0)
    bert.save_pretrained(hf_dir, safe_serialization=True)
    modules = [Transformer(str(hf_dir), max_seq_length=128), Pooling(32, "mean"),
               Dense(32, DIM, bias=False, activation_function=torch.nn.Identity()), Normalize()]
    out = store / TINY
    SentenceTransformer(modules=modules, device="cpu").save(str(out), safe_serialization=True)
    shutil.rmtree(hf_dir)
    files = {str(p.relative_to(out)): _sha256(p) for p in sorted(out.rglob("*")) if p.is_file()}
    lines = [f"[models.{TINY}]", 'role = "embedder"', f'dir = "{TINY}"', 'license = "none"',
             'description = "random BERT (hidden 32, 1 layer) for memory benchmarks only"',
             'source = { kind = "generated", by = "scripts/bench_memory.py" }', "",
             f"[models.{TINY}.files]", *[f'"{k}" = "{v}"' for k, v in files.items()]]
    (store / "manifest.toml").write_text("\n".join(lines) + "\n")
    return out


def _words() -> list[str]:
    vocab = (MINILM / "vocab.txt").read_text(encoding="utf-8").split()
    return [w for w in vocab if w.isalpha() and w.isascii() and len(w) > 3]


def write_input(path: Path, rows: int, seed: int = 0) -> None:
    """Alpaca JSONL: unique ids, a unique number in each instruction, random words for spread."""
    rng = random.Random(seed)
    words = _words()
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(rows):
            topic = " ".join(rng.choices(words, k=6))
            answer = " ".join(rng.choices(words, k=30))
            fh.write(json.dumps({"id": f"r{i}", "instruction": f"Explain {topic} for case {i}.",
                                 "input": "", "output": f"{answer.capitalize()}."}) + "\n")


def run_once(data: Path, out: Path, cfg: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB of the run, exit code); one fresh child process per run."""
    exe = Path(sys.executable).with_name("local-augment")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "local_augment"]
    cmd += ["augment", str(data), "-o", str(out), "-c", str(cfg), "--methods", "templates", "-q",
            "--fresh"]
    # a wrapper child per run, so RUSAGE_CHILDREN's max is this run's alone
    wrapper = ("import resource,subprocess,sys;rc=subprocess.call(sys.argv[1:]);"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);sys.exit(rc)")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True,
                          cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
    peak_kb = int(proc.stdout.strip().splitlines()[-1])
    return wall, peak_kb / 1024, proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="10k and 100k rows instead of 100k, 1M")
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                    help="comma-separated row counts (overrides --quick)")
    ap.add_argument("--shard-size", type=int, default=2048)
    ap.add_argument("--workdir", type=Path, help="keep inputs/outputs here (default: a temp dir)")
    ap.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([10_000, 100_000] if args.quick else [100_000, 1_000_000])
    base = args.workdir or Path(tempfile.mkdtemp(prefix="bench_memory."))
    base.mkdir(parents=True, exist_ok=True)
    store = base / "models"
    if not (store / "manifest.toml").exists():
        build_tiny_model(store)
    cfg = base / "bench.yaml"
    cfg.write_text(f"run:\n  models_dir: {store}\n  shard_size: {args.shard_size}\n"
                   f"embedder:\n  model: {TINY}\n  device: cpu\n  batch_size: 512\n")
    results = []
    print(f"{'rows':>9} {'wall s':>8} {'peak RSS MB':>12} {'MB/1k rows':>11} {'output rows':>12}")
    for n in sizes:
        data = base / f"in_{n}.jsonl"
        if not data.exists():
            write_input(data, n)
        out = base / f"out_{n}"
        wall, peak, rc = run_once(data, out, cfg)
        counts = {}
        if rc == 0:
            counts = json.loads((out / "report.json").read_text())["counts"]
        row = {"rows": n, "wall_s": round(wall, 1), "peak_rss_mb": round(peak, 1),
               "rss_mb_per_1k_rows": round(peak / (n / 1000), 3), "exit": rc,
               "output_rows": counts.get("output_rows"), "augmented": counts.get("augmented"),
               "input_mb": round(data.stat().st_size / 2**20, 1)}
        results.append(row)
        print(f"{n:>9} {wall:>8.1f} {peak:>12.1f} {row['rss_mb_per_1k_rows']:>11.3f} "
              f"{row['output_rows']!s:>12}", flush=True)
        shutil.rmtree(out, ignore_errors=True)
    if len(results) >= 2 and all(r["exit"] == 0 for r in results):
        a, b = results[0], results[-1]
        growth = b["peak_rss_mb"] / a["peak_rss_mb"]
        scale = b["rows"] / a["rows"]
        verdict = "sub-linear" if growth < scale else "linear or worse"
        slope_kb = (b["peak_rss_mb"] - a["peak_rss_mb"]) * 1024 / (b["rows"] - a["rows"])
        print(f"peak RSS x{growth:.2f} for x{scale:.0f} rows: {verdict} "
              "(bound: one shard's working set + dedup index + per-row metadata)")
        # the fixed cost (interpreter, torch, one shard) hides the per-row slope: state it too
        print(f"marginal: {slope_kb:.1f} KB per extra input row; extrapolated to 1M rows: "
              f"{(a['peak_rss_mb'] + slope_kb * (1_000_000 - a['rows']) / 1024) / 1024:.1f} GB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if not args.workdir:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if all(r["exit"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
