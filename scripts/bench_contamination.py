"""Benchmark the contamination guard: recall per kind of planted contamination, false positives,
a threshold sweep, and time and memory at scale. Real MiniLM, real FAISS; asserts nothing.

Quality. The eval set is every other prompt of examples/instructions.jsonl (80 hand-written
support, coding, writing and arithmetic prompts; instruction + input). A clean training set of
similar topics (the other 80 prompts and examples/train.jsonl's 72) gets planted copies of the
eval prompts:

- verbatim: each eval prompt as it is;
- edited: each eval prompt three ways: lower case without punctuation, upper case with changed
  punctuation, and one word changed (a small substitution list, else the last word dropped);
- wrapped: each eval prompt in two of six templates ("Answer the following question: …");
- reworded: 42 rewrites written by hand below (meaning kept, wording changed; prompts without an
  input, so the input cannot give them away).

Recall per kind = planted rows matched to their own eval prompt / planted rows; false-positive
rate = clean rows flagged. With ../shared/data/stsb_dev.tsv, STS-B pairs rated ≤ 1 of 5 (other
meaning, often the same words) are harder negatives: sentence 2 against its own sentence 1.
Then: the rewordings a run's prefilter (`qc.eval_prefilter`, on row vectors of prompt + output)
would lose, and a sweep of `qc.eval_threshold`.

Scale. `--scale N` (default 100,000; 10,000 with --quick): N synthetic training prompts against
N synthetic eval prompts (eight request frames around five random words of the embedder's
vocabulary; 1 % of rows plant an eval prompt verbatim, 1 % lower-cased in a wrapper), checked as
`local-augment decontaminate` does (every prompt not matched by n-grams is encoded): seconds for
the n-gram index and lookup, encoding, the FAISS index and search, and peak RSS. Encoding 2N
prompts with MiniLM took 31 min at N = 100,000 on 2 cores, so by default a stand-in encoder (random
unit vectors) feeds FAISS and MiniLM's rate is measured on a sample; --real-encode encodes all.

    python scripts/bench_contamination.py [--quick] [--scale N] [--skip-scale] [--real-encode]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from local_augment.config import QCConfig  # noqa: E402
from local_augment.data.eval_sets import EvalSet  # noqa: E402
from local_augment.quality.contamination import ContaminationGuard  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
EXAMPLES = next((p for p in (ROOT / "examples", ROOT.parent / "main" / "examples")
                 if (p / "instructions.jsonl").is_file()), ROOT / "examples")

# 42 rewordings of eval prompts, written by hand: meaning kept, wording changed
REWORDED = json.loads((Path(__file__).with_name("bench_contamination_rewrites.json"))
                      .read_text(encoding="utf-8"))
WRAPPERS = ["Answer the following question: {p}", "Q: {p}\nA:", "{p} Please answer in detail.",
            'You are a helpful assistant. The user asks: "{p}"',
            "### Instruction:\n{p}\n\n### Response:", "Help me with this task. {p} Thanks!"]
SWAPS = {"my": "our", "the": "a", "a": "the", "is": "was", "this": "that", "do": "can",
         "what": "which", "how": "in what way", "write": "compose", "i": "we", "in": "within"}


def prompt(row: dict) -> str:
    return row["instruction"] + ("\n\n" + row["input"] if row.get("input") else "")


def edits(p: str) -> list[str]:
    """Three light edits: case + punctuation stripped, case + punctuation added, a word changed."""
    words = p.split(" ")
    swapped = None
    for k, w in enumerate(words):
        if w.lower() in SWAPS:
            swapped = " ".join([*words[:k], SWAPS[w.lower()], *words[k + 1:]])
            break
    return [re.sub(r"[^\w\s]", "", p).lower(), p.upper().replace("?", " ??").replace(".", "!"),
            swapped or " ".join(words[:-1])]


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def stsb_negatives(max_score: float = 1.0) -> list[tuple[str, str]]:
    path = SHARED / "stsb_dev.tsv"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(r["sentence1"], r["sentence2"]) for r in rows if float(r["score"]) <= max_score]


def embedder():
    from local_augment.engines.embedder import Embedder
    from local_augment.engines.manifest import load_manifest

    _, path = load_manifest().require("all-minilm-l6-v2", "embedder")
    return Embedder(path).load()


def quality(emb) -> None:
    q = QCConfig()
    rows = load_jsonl(EXAMPLES / "instructions.jsonl")
    ev_rows, clean_rows = rows[0::2], rows[1::2] + load_jsonl(EXAMPLES / "train.jsonl")
    # rows of train.jsonl that repeat an eval item (its instruction, or its input text) are real
    # overlaps between the example files, not negatives: listed apart
    ev_texts = {r["instruction"] for r in ev_rows} | {r["input"] for r in ev_rows if r["input"]}
    overlap = [r for r in clean_rows if r["instruction"] in ev_texts or r.get("input") in ev_texts]
    clean_rows = [r for r in clean_rows if r not in overlap]
    planted: dict[str, list[tuple[str, str]]] = {"verbatim": [], "edited": [], "wrapped": [],
                                                 "reworded": []}
    for k, r in enumerate(ev_rows):
        p = prompt(r)
        planted["verbatim"].append((r["id"], p))
        planted["edited"] += [(r["id"], e) for e in edits(p)]
        planted["wrapped"] += [(r["id"], WRAPPERS[(2 * k + j) % len(WRAPPERS)].format(p=p))
                               for j in range(2)]
        if r["id"] in REWORDED:
            planted["reworded"].append((r["id"], REWORDED[r["id"]]))
    stsb = stsb_negatives()
    sets = [EvalSet("instructions", Path("instructions"), [r["id"] for r in ev_rows],
                    [prompt(r) for r in ev_rows])]
    if stsb:
        sets.append(EvalSet("stsb", Path("stsb"), [f"s{i}" for i in range(len(stsb))],
                            [a for a, _ in stsb]))
    guard = ContaminationGuard(sets, emb.encode, n=q.eval_ngram, min_tokens=q.eval_min_tokens,
                               threshold=-1.0)  # keep every score: the sweep applies thresholds
    texts = [t for kind in planted.values() for _, t in kind]
    clean = [prompt(r) for r in clean_rows]
    hard = [b for _, b in stsb]
    ngram = guard.ngram_hits(texts + clean + hard)
    sims, idx = guard.nearest(emb.encode(texts + clean + hard))
    want = [i for kind in planted.values() for i, _ in kind]
    n_p, n_c = len(texts), len(clean)

    def flagged(th: float) -> np.ndarray:
        by_ngram = np.array([h is not None for h in ngram])
        return by_ngram | (sims >= th)

    def right(th: float) -> np.ndarray:
        """Planted rows matched to their own eval prompt (any other match counts as a miss)."""
        ok = np.zeros(n_p, dtype=bool)
        for k in range(n_p):
            h = ngram[k]
            ok[k] = (h is not None and h.eval_id == want[k]) or (
                h is None and sims[k] >= th and guard.ids[idx[k]] == want[k])
        return ok

    th = q.eval_threshold
    ok, fl = right(th), flagged(th)
    print(f"eval set: {len(ev_rows)} instructions" + (f" + {len(stsb)} STS-B sentences (pairs "
          "rated <= 1)" if stsb else "") + f"; threshold {th}, {q.eval_ngram}-grams")
    print(f"{'planted kind':<14} {'rows':>5} {'recall':>7} {'by ngram':>9} {'by embed':>9}")
    start = 0
    for kind, items in planted.items():
        sl = slice(start, start + len(items))
        by_ng = sum(ngram[k] is not None and ngram[k].eval_id == want[k] for k in
                    range(sl.start, sl.stop))
        print(f"{kind:<14} {len(items):>5} {ok[sl].mean():>7.3f} {by_ng:>9} "
              f"{int(ok[sl].sum()) - by_ng:>9}")
        misses = [texts[k] for k in range(sl.start, sl.stop) if not ok[k]]
        for m in misses[:3]:
            print(f"    missed: {m[:90]!r}")
        start = sl.stop
    fp = fl[n_p:n_p + n_c]
    print(f"false positives, unrelated prompts of similar topics: {int(fp.sum())}/{n_c} "
          f"= {fp.mean():.3%} ({len(overlap)} training rows that repeat an eval item's "
          "instruction or input left out: real overlaps of the example files)")
    for k in np.nonzero(fp)[0][:5]:
        j = n_p + k
        why = ngram[j].eval_text if ngram[j] else guard.prompts[idx[j]]
        print(f"    {clean[k][:60]!r} ~ {why[:60]!r} ({sims[j]:.3f})")
    hard_ev = np.array([guard.ids.index(f"s{i}") for i in range(len(hard))], dtype=np.int64)
    pair_cos = (emb.encode(hard) * emb.encode([a for a, _ in stsb])).sum(1) if hard else None

    def pair_fp(th: float) -> float:
        """STS-B sentence 2 flagged as a copy of its own sentence 1 (pairs rated <= 1)."""
        ng = [h is not None and h.eval_id == f"s{i}" for i, h in enumerate(ngram[n_p + n_c:])]
        return float((np.array(ng) | (pair_cos >= th)).mean())

    if hard:
        print(f"false positives, STS-B pairs rated <= 1 of 5 (sentence 2 flagged as its own "
              f"sentence 1): {pair_fp(th):.3%} of {len(hard)}; {len(hard_ev)} sentence 1s in "
              "the eval set")
    print("\nthreshold sweep (embedding cosine; n-gram matches always count)")
    print(f"{'threshold':>9} {'edited':>7} {'wrapped':>8} {'reworded':>9} {'FP similar':>11} "
          f"{'FP STS-B':>9}")
    for t in (0.7, 0.72, 0.75, 0.78, 0.8, 0.82, 0.85, 0.9):
        ok_t, fl_t = right(t), flagged(t)
        start, rec = 0, {}
        for kind, items in planted.items():
            rec[kind] = ok_t[start:start + len(items)].mean()
            start += len(items)
        fh = f"{pair_fp(t):>9.3%}" if hard else f"{'-':>9}"
        print(f"{t:>9.2f} {rec['edited']:>7.3f} {rec['wrapped']:>8.3f} {rec['reworded']:>9.3f} "
              f"{fl_t[n_p:n_p + n_c].mean():>11.3%} {fh}")
    # inside a run: the stored row vector (prompt + output) prefilters the embedding check
    by_id = {r["id"]: r for r in ev_rows}
    rw = planted["reworded"]
    p_vecs = emb.encode([t for _, t in rw])
    o_vecs = emb.encode([by_id[i]["output"] for i, _ in rw])
    rows_v = p_vecs + o_vecs
    rows_v /= np.linalg.norm(rows_v, axis=1, keepdims=True)
    pre, _ = guard.nearest(rows_v)
    lost = int(((pre < q.eval_prefilter) & (guard.nearest(p_vecs)[0] >= th)).sum())
    print(f"\nprefilter {q.eval_prefilter} on row vectors (reworded prompt + the item's output): "
          f"row-vector cosine to the eval set min {pre.min():.3f}, median {np.median(pre):.3f}; "
          f"rewordings the prefilter would lose: {lost}/{len(rw)}")
    clean_v = emb.encode([r["output"] for r in clean_rows])
    cv = emb.encode(clean) + clean_v
    cv /= np.linalg.norm(cv, axis=1, keepdims=True)
    passed = (guard.nearest(cv)[0] >= q.eval_prefilter).mean()
    print(f"clean rows whose row vector passes the prefilter (their prompt gets encoded): "
          f"{passed:.1%}")


def synthetic(n: int, seed: int, words: list[str]) -> list[str]:
    """`n` prompts: one of eight request frames around five random English words of the
    embedder's vocabulary (diverse like real prompts, yet sharing their frames)."""
    rng = np.random.default_rng(seed)
    frames = ["How do I {0} the {1} when the {2} is {3}? (about {4})",
              "Explain why {0} {1} matters for {2} and {3} in {4}.",
              "Write a short story about a {0} who finds a {1} near the {2}, {3} and {4}.",
              "What is the difference between {0} and {1} in the context of {2}, {3}, {4}?",
              "Summarize the {0} report on {1} for the {2} team before {3} {4}.",
              "List three ways to {0} a {1} without {2}, {3} or {4}.",
              "Can you translate '{0} {1} {2}' into French and explain {3} {4}?",
              "Give me a plan to improve {0} with {1}, {2}, {3} and {4}."]
    w = np.array(words)
    picks = rng.integers(0, len(w), (n, 5))
    kinds = rng.integers(0, len(frames), n)
    return [frames[k].format(*w[p]) for k, p in zip(kinds, picks, strict=True)]


def vocabulary(emb) -> list[str]:
    """Whole English words (4+ letters) of the embedder's WordPiece vocabulary."""
    vocab = (emb.path / "vocab.txt").read_text(encoding="utf-8").split()
    return [t for t in vocab if t.isalpha() and t.isascii() and len(t) >= 4]


def pseudo_encoder(texts: list[str], dim: int = 384) -> np.ndarray:
    """Unit vectors seeded by a 64-bit hash of each text (equal texts, equal vectors): FAISS's cost
    depends on n, dim and the index, not on where the vectors point."""
    out = np.empty((len(texts), dim), dtype=np.float32)
    for k, t in enumerate(texts):
        seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(dim)
        out[k] = v / np.linalg.norm(v)
    return out


def scale(emb, n: int, real: bool, sample: int = 4000, n_eval: int | None = None) -> None:
    q = QCConfig()
    words = vocabulary(emb)
    n_eval = n_eval or n
    ev = synthetic(n_eval, 1, words)
    rows = synthetic(n, 2, words)
    rng = np.random.default_rng(3)
    plant = rng.choice(n, n // 50, replace=False)
    for k, j in enumerate(plant):
        src = ev[int(rng.integers(0, n_eval))]
        rows[j] = src if k % 2 == 0 else "Please help: " + src.lower().rstrip("?.")
    t0 = time.perf_counter()
    guard = ContaminationGuard([EvalSet("synthetic", Path("synthetic"),
                                        [str(i) for i in range(n_eval)],
                                        ev)], emb.encode if real else pseudo_encoder,
                               n=q.eval_ngram,
                               min_tokens=q.eval_min_tokens, threshold=q.eval_threshold,
                               exact_max=q.eval_exact_max, nprobe=q.eval_nprobe)
    built = time.perf_counter() - t0
    t1 = time.perf_counter()
    hits = []
    for s in range(0, n, 4096):
        hits += guard.check(rows[s:s + 4096])
    checked = time.perf_counter() - t1
    t = guard.timings
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    found = sum(h is not None for h in hits)
    kinds = {k: sum(h is not None and h.kind == k for h in hits) for k in ("ngram", "embedding")}
    print(f"\nscale: {n:,} rows against {n_eval:,} eval prompts, index {guard.index_kind}, "
          f"{os.cpu_count()} CPUs")
    print(f"{'step':<34} {'seconds':>9}")
    for label, key in (("n-gram index", "ngram_index"), ("encode eval prompts", "encode_eval"),
                       ("FAISS index", "faiss_index"), ("n-gram lookup", "ngram"),
                       ("encode rows (not n-gram matched)", "encode_rows"),
                       ("FAISS search", "faiss_search")):
        print(f"{label:<34} {t[key]:>9.1f}")
    print(f"{'total (build + check)':<34} {built + checked:>9.1f}")
    if not real:
        t0 = time.perf_counter()
        emb.encode(rows[:sample])
        rate = sample / (time.perf_counter() - t0)
        encoded = n_eval + int(t["prefiltered_rows"])
        print(f"encode times above are of a stand-in encoder (random unit vectors per text). "
              f"MiniLM here: {rate:.0f} prompts/s on {sample:,} of these prompts, so encoding "
              f"the {n_eval:,} eval prompts and {int(t['prefiltered_rows']):,} rows would take "
              f"~{encoded / rate:.0f} s (--real-encode measures it)")
    print(f"flagged {found} rows ({kinds}); planted {len(plant)} (half verbatim, half lower-cased "
          f"in a wrapper); peak RSS {peak:.2f} GB")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="scale at 10,000 rows")
    ap.add_argument("--scale", type=int, default=None, help="rows and eval prompts (100,000)")
    ap.add_argument("--scale-eval", type=int, default=None,
                    help="eval prompts in the scale run (default: as many as rows)")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--real-encode", action="store_true",
                    help="encode the scale run with MiniLM (default: measure its rate on a sample)")
    args = ap.parse_args(argv)
    os.environ.setdefault("LOCAL_AUGMENT_MODELS", str(ROOT / "models"))
    emb = embedder()
    quality(emb)
    if not args.skip_scale:
        scale(emb, args.scale or (10_000 if args.quick else 100_000), args.real_encode,
              n_eval=args.scale_eval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
