"""Fit the request-equivalence model (local_augment/config/equivalence.json) on ../shared/data.

Embedded regime: logistic regression over `equivalence.EMBEDDED` signals (MiniLM), fitted on
the BANKING77 request pairs (paraphrase_pairs/, weighted up: they are requests, like a
fine-tuning set's), MRPC train and STS-B train (>= 4 same, <= 2 different, the rest left out).
Judged regime: the same signals plus the LLM judge's log-odds in both orders, fitted on the
BANKING77 pairs (the judge costs ~0.5-2 s a pair on 2 CPU cores, too slow for 10k news pairs).

Each regime's operating point is read off cross-validation on the BANKING77 mix, which holds out
whole intents (5 folds, recall and precision averaged over `--seeds` shuffles of the intents), so
no request of a held-out intent is fitted on. Where some threshold clears both the recall and
the precision target (`--recall`/`--precision`, `--judged-recall`/`--judged-precision`), the
threshold that clears them by the widest common margin is chosen, since held-out pairs can move
either figure; otherwise the lowest threshold that reaches the precision target. Prints the
cross-validated AUC, precision and recall; `--write` stores the coefficients.

    python scripts/fit_equivalence.py [--judge qwen2.5-coder-1.5b-instruct] [--write]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.quiet_env import quiet_offline  # noqa: E402

quiet_offline()

import numpy as np  # noqa: E402

Pairs = list[tuple[str, str, int, str]]  # (source, variant, same?, group)


def banking(data: Path) -> Pairs:
    rows = [json.loads(x) for x in (data / "paraphrase_pairs" / "banking77.jsonl").open()]
    return [(r["source_instruction"], r["variant_instruction"], int(r["label"] == "paraphrase"),
             r["intents"][0]) for r in rows]


def tsv(path: Path, scored: bool) -> Pairs:
    out: Pairs = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        value = float(parts[0])
        if scored and 2 < value < 4:
            continue
        same = int(value >= 4) if scored else int(value)
        out.append((parts[1], parts[2], same, path.stem))
    return out


def features(pairs: Pairs, embedder, names: tuple[str, ...]) -> np.ndarray:
    from local_augment.quality.equivalence import signals
    from local_augment.quality.meaning import align

    texts = sorted({t for a, b, _, _ in pairs for t in (a, b)})
    index = {t: i for i, t in enumerate(texts)}
    vecs = embedder.encode(texts)
    toks = embedder.token_vectors(texts)
    rows = []
    for a, b, _, _ in pairs:
        i, j = index[a], index[b]
        s = signals(float(vecs[j] @ vecs[i]), align(toks[j], toks[i]), b, a)
        rows.append([s[n] for n in names])
    return np.array(rows)


def judge_scores(pairs: Pairs, model: str, cache: Path) -> np.ndarray:
    """(forward, reverse) P(same) per pair from the LLM judge, cached in `cache` (keyed by the
    model, the pairs and the judge's prompt and demonstrations, so an edited prompt is asked
    again rather than read from the cache)."""
    from local_augment.engines.llm.prompting import PROMPTS_DIR, load_prompt

    prompt = load_prompt("judge").text + (PROMPTS_DIR / "judge_demos.json").read_text("utf-8")
    key = {"model": model, "pairs": [[a, b] for a, b, _, _ in pairs],
           "prompt": hashlib.sha256(prompt.encode()).hexdigest()}
    if cache.is_file():
        saved = json.loads(cache.read_text())
        if saved["key"] == key:
            return np.array(saved["scores"])
    from local_augment.config import load_config
    from local_augment.engines.llm import create_engine
    from local_augment.engines.manifest import load_manifest
    from local_augment.quality.judge import judge_conversations

    cfg = load_config(overrides={"llm.model": model, "run.models_dir": str(ROOT / "models")})
    llm = create_engine(cfg.llm, load_manifest(cfg.run.models_dir), 0)
    text = load_prompt("judge").text
    fw = llm.yes_probability(judge_conversations(text, [(a, b) for a, b, _, _ in pairs]))
    bw = llm.yes_probability(judge_conversations(text, [(b, a) for a, b, _, _ in pairs]))
    llm.unload()
    scores = np.c_[fw, bw]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "scores": scores.tolist()}))
    return scores


def auc(p: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def operating_point(oofs: list[np.ndarray], y: np.ndarray, precision: float,
                    recall: float | None = None) -> tuple[float, float, float]:
    """(threshold, recall, precision), recall and precision averaged over the cross-validation
    seeds `oofs`. With a `recall` target: among thresholds whose figures clear both targets,
    the one that clears them by the widest common margin (the held-out set can move either);
    otherwise, or when no threshold clears both, the lowest threshold reaching `precision`."""
    rows = []
    for t in np.round(np.arange(0.0, 1.0, 0.001), 3):
        kept = [p >= t for p in oofs]
        if not all(k.any() for k in kept):
            break
        prec = float(np.mean([y[k].mean() for k in kept]))
        rec = float(np.mean([(k & (y == 1)).sum() / y.sum() for k in kept]))
        rows.append((float(t), rec, prec))
    if recall is not None:
        both = [r for r in rows if r[1] >= recall and r[2] >= precision]
        if both:
            return max(both, key=lambda r: (min(r[1] - recall, r[2] - precision), -r[0]))
    reaching = [r for r in rows if r[2] >= precision]
    return reaching[0] if reaching else (1.0, 0.0, float("nan"))


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=5000).fit(x, y, sample_weight=w)


def cross_validate(xb: np.ndarray, yb: np.ndarray, groups: list[str], extra: list[tuple],
                   weight: float, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Out-of-fold probabilities on the banking pairs; whole intents are held out."""
    names = sorted(set(groups))
    order = np.random.RandomState(seed).permutation(len(names))
    fold = {names[j]: k % folds for k, j in enumerate(order)}
    f = np.array([fold[g] for g in groups])
    out = np.zeros(len(yb))
    for k in range(folds):
        tr = f != k
        xs, ys, ws = [xb[tr]], [yb[tr]], [np.full(tr.sum(), weight)]
        for x, y in extra:
            xs.append(x)
            ys.append(y)
            ws.append(np.ones(len(y)))
        m = fit(np.vstack(xs), np.concatenate(ys), np.concatenate(ws))
        out[f == k] = m.predict_proba(xb[f == k])[:, 1]
    return out


def report(name: str, oofs: list[np.ndarray], y: np.ndarray, same: np.ndarray, target: float,
           recall: float | None = None) -> tuple[float, dict[str, float]]:
    """The operating point's threshold, and the cross-validated figures stored beside it."""
    t, rec, prec = operating_point(oofs, y, target, recall)
    a = float(np.mean([auc(p, y) for p in oofs]))
    a_same = float(np.mean([auc(p[same], y[same]) for p in oofs]))
    print(f"{name} ({len(oofs)} seeds): AUC {a:.3f} (same-intent pairs {a_same:.3f}); "
          f"threshold {t:.3f}: recall {rec:.3f}, precision {prec:.3f}")
    return t, {"auc": round(a, 3), "recall": round(rec, 3), "precision": round(prec, 3)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--judge", help="LLM judge model for the judged regime (e.g. "
                    "qwen2.5-coder-1.5b-instruct); without it only the embedded model is fitted")
    ap.add_argument("--precision", type=float, default=0.85)
    ap.add_argument("--judged-precision", type=float, default=0.90)
    ap.add_argument("--recall", type=float, default=0.5,
                    help="embedded recall target: with both targets clearable, the threshold "
                    "clears them by the widest common margin")
    ap.add_argument("--judged-recall", type=float, default=0.8)
    ap.add_argument("--seeds", type=int, default=4, help="cross-validation seeds averaged")
    ap.add_argument("--banking-weight", type=float, default=5.0)
    ap.add_argument("--write", action="store_true", help="write equivalence.json")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "paraphrase_pairs" / "banking77.jsonl").is_file():
        print(f"fit_equivalence: {data} has no paraphrase_pairs/: skipped")
        return 0
    from local_augment.config.fitted import COEFFICIENTS
    from local_augment.engines.embedder import Embedder
    from local_augment.quality.equivalence import EMBEDDED, JUDGED

    emb = Embedder(ROOT / "models" / "all-minilm-l6-v2", device="cpu").load()
    bank = banking(data)
    mrpc = tsv(data / "paraphrase_train" / "mrpc_train.tsv", scored=False)
    stsb = tsv(data / "paraphrase_train" / "stsb_train.tsv", scored=True)
    xb = features(bank, emb, EMBEDDED)
    yb = np.array([s for _, _, s, _ in bank])
    groups = [g for _, _, _, g in bank]
    same = np.array([a == b for a, b in (r["intents"] for r in (
        json.loads(x) for x in (data / "paraphrase_pairs" / "banking77.jsonl").open()))])
    extra = [(features(mrpc, emb, EMBEDDED), np.array([s for _, _, s, _ in mrpc])),
             (features(stsb, emb, EMBEDDED), np.array([s for _, _, s, _ in stsb]))]
    print(f"pairs: banking77 {len(bank)} ({yb.sum()} same), MRPC train {len(mrpc)}, "
          f"STS-B train (>=4 / <=2) {len(stsb)}")
    print(f"cosine alone: AUC {auc(xb[:, 0], yb):.3f} on banking77")
    oofs = [cross_validate(xb, yb, groups, extra, args.banking_weight, seed=s)
            for s in range(args.seeds)]
    t_emb, cv_emb = report("embedded, cross-validated", oofs, yb, same, args.precision,
                           args.recall)
    # MRPC-style AUC: MRPC train, 5 folds, banking and STS-B always in the fit
    xm, ym = extra[0]
    folds = np.arange(len(ym)) % 5
    pm = np.zeros(len(ym))
    for k in range(5):
        tr = folds != k
        m = fit(np.vstack([xb, xm[tr], extra[1][0]]), np.concatenate([yb, ym[tr], extra[1][1]]),
                np.concatenate([np.full(len(yb), args.banking_weight), np.ones(tr.sum()),
                                np.ones(len(extra[1][1]))]))
        pm[folds == k] = m.predict_proba(xm[folds == k])[:, 1]
    print(f"MRPC train, cross-validated: AUC {auc(pm, ym):.3f} (cosine alone "
          f"{auc(xm[:, 0], ym):.3f})")
    full = fit(np.vstack([xb, *(x for x, _ in extra)]), np.concatenate([yb, *(y for _, y in extra)]),
               np.concatenate([np.full(len(yb), args.banking_weight),
                               *(np.ones(len(y)) for _, y in extra)]))
    models = {"embedded": {"features": list(EMBEDDED), "weights": full.coef_[0].round(5).tolist(),
                           "bias": round(float(full.intercept_[0]), 5),
                           "threshold": round(t_emb, 3), "cross_validated": cv_emb}}
    fitted_on = ["paraphrase_pairs/banking77.jsonl", "paraphrase_train/mrpc_train.tsv",
                 "paraphrase_train/stsb_train.tsv"]
    if args.judge:
        j = judge_scores(bank, args.judge, ROOT / ".cache" / "fit_equivalence" / "judge.json")
        from local_augment.quality.equivalence import log_odds

        lj = np.vectorize(log_odds)(j)
        print(f"judge alone: AUC forward {auc(j[:, 0], yb):.3f}, reverse {auc(j[:, 1], yb):.3f}, "
              f"mean {auc(j.mean(axis=1), yb):.3f}")
        xj = np.c_[xb, lj]
        oofj = [cross_validate(xj, yb, groups, [], 1.0, seed=s) for s in range(args.seeds)]
        t_j, cv_j = report("judged, cross-validated", oofj, yb, same, args.judged_precision,
                           args.judged_recall)
        mj = fit(xj, yb, np.ones(len(yb)))
        models["judged"] = {"features": list(JUDGED), "weights": mj.coef_[0].round(5).tolist(),
                            "bias": round(float(mj.intercept_[0]), 5), "threshold": round(t_j, 3),
                            "judge_model": args.judge, "cross_validated": cv_j}
    elif COEFFICIENTS.is_file():
        old = json.loads(COEFFICIENTS.read_text()).get("models", {})
        if "judged" in old:
            models["judged"] = old["judged"]
    if args.write:
        COEFFICIENTS.write_text(json.dumps({"fitted_on": fitted_on, "by": "scripts/fit_equivalence.py",
                                            "models": models}, indent=1) + "\n")
        print(f"wrote {COEFFICIENTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
