"""Does augmentation help? Train on the augmented set, test on wordings never seen in training.

`k` wordings per label are drawn (seeded) from the training split and written as Alpaca rows:
the request is the instruction, the label's reply ("card arrival") the output. Each arm runs the
real `local-augment augment` (QC, dedup, mix) on that set and trains a learner on what it wrote;
accuracy is measured on the test split, which is never augmented or trained on.

Arms: originals; each method alone (templates, paraphrase, backtranslation where installed);
all default methods; the mix share swept (mix.ratio 0.5, 1, 2); and an oracle that adds real
wordings of the training split, as many rows as the default arm added.

Learners, every arm with the same steps and hyperparameters, over `--seeds` seeds:
- fast (default): all-MiniLM-L6-v2 fine-tuned with a linear head (mean pooling), argmax;
- sft (`--sft`): SmolLM2-135M-Instruct fully fine-tuned to answer the label, greedy answer
  matched to the label.

    python scripts/bench_downstream.py [--sft] [--seeds 3] [--out results.json]
    python scripts/bench_downstream.py --data my.csv --text-field q --label-field intent \
        [--test my_test.csv | --test-share 0.3]

Prints a table; `--out` writes {"learner", "data", "arms": [{"name", "accuracy_mean",
"accuracy_sd", "rows", "new_words", "seconds"} | {"name", "skipped"}]}.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from scripts.quiet_env import quiet_offline  # noqa: E402

quiet_offline()

ARMS = ("originals", "templates", "paraphrase", "backtranslation", "default", "ratio-0.5",
        "ratio-1", "ratio-2", "oracle")
Example = tuple[str, str]  # (text, label)


# ------------------------------------------------------------------------------------ data

def read_table(path: Path, text_field: str, label_field: str) -> list[Example]:
    """(text, label) rows of a CSV or JSONL file; a row without both fields is an error."""
    rows: list[dict[str, Any]] = []
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    else:
        rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    out = []
    for n, r in enumerate(rows, 2 if path.suffix.lower() == ".csv" else 1):
        text, label = r.get(text_field), r.get(label_field)
        if not isinstance(text, str) or not text.strip() or label in (None, ""):
            raise SystemExit(f"{path}:{n}: needs a non-empty {text_field!r} and {label_field!r}")
        out.append((" ".join(text.split()), str(label)))
    return out


def load_splits(args: argparse.Namespace) -> tuple[list[Example], list[Example], str]:
    """(train, test, name): banking77 from ../shared by default, else --data [--test]."""
    if args.data is None:
        folder = Path(args.shared) / "banking77"
        if not (folder / "train.csv").is_file():
            raise SystemExit(f"{folder}: no train.csv; pass --data FILE")
        return (read_table(folder / "train.csv", "text", "category"),
                read_table(folder / "test.csv", "text", "category"), "banking77")
    data = read_table(Path(args.data), args.text_field, args.label_field)
    if args.test:
        return data, read_table(Path(args.test), args.text_field, args.label_field), args.data
    rng = random.Random(args.split_seed)
    idx = list(range(len(data)))
    rng.shuffle(idx)
    cut = int(len(idx) * args.test_share)
    return [data[i] for i in idx[cut:]], [data[i] for i in idx[:cut]], args.data


def draw(train: list[Example], k: int, labels: list[str], seed: int
         ) -> tuple[list[Example], dict[str, list[str]]]:
    """`k` wordings per label (seeded), and each label's other training wordings (the oracle's
    pool), in a seeded order."""
    by: dict[str, list[str]] = defaultdict(list)
    for text, label in train:
        if text not in by[label]:
            by[label].append(text)
    rng = random.Random(seed)
    chosen, pool = [], {}
    for label in labels:
        texts = list(by[label])
        rng.shuffle(texts)
        chosen += [(t, label) for t in texts[:k]]
        pool[label] = texts[k:]
    return chosen, pool


def reply(label: str) -> str:
    """The fixed reply a row of this label answers with: the label in words."""
    return label.replace("_", " ").strip()


def write_alpaca(rows: list[Example], path: Path) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for i, (text, label) in enumerate(rows):
            fh.write(json.dumps({"id": f"r{i:05d}", "instruction": text, "input": "",
                                 "output": reply(label)}) + "\n")


# ------------------------------------------------------------------------------------ arms

@dataclass
class Arm:
    name: str
    methods: list[str] | None = None  # None: no augmentation (originals, oracle)
    ratio: float | None = None
    rows: list[Example] = field(default_factory=list)
    skipped: str | None = None
    seconds: float = 0.0


def arm_plan(names: list[str], installed: set[str]) -> list[Arm]:
    """The arms asked for; one whose method cannot run is kept with a `skipped` reason."""
    plan = []
    for name in names:
        if name in ("originals", "oracle"):
            plan.append(Arm(name))
        elif name in ("templates", "paraphrase", "backtranslation"):
            arm = Arm(name, [name])
            if name not in installed:
                arm.skipped = f"{name}: its models are not installed (make models; see README)"
            plan.append(arm)
        elif name == "default":
            plan.append(Arm(name, sorted(installed)))
        elif name.startswith("ratio-"):
            plan.append(Arm(name, sorted(installed), float(name.split("-", 1)[1])))
        else:
            raise SystemExit(f"unknown arm {name!r}; arms: {', '.join(ARMS)}")
    return plan


def runnable_methods(models_dir: Path) -> set[str]:
    """The default methods whose models are installed here (refusals need cases: left out)."""
    from local_augment.config import load_config
    from local_augment.engines.manifest import load_manifest

    manifest = load_manifest(models_dir)
    cfg = load_config()
    out = {"templates"}
    if manifest.status(manifest.get(cfg.llm.model))[0] == "ok":
        out |= {"paraphrase", "outputs"}
    if any(s.role == "translator" and manifest.status(s)[0] == "ok"
           for s in manifest.models.values()):
        out.add("backtranslation")
    return out


def run_augment(arm: Arm, train: Path, work: Path, seed: int, label_of: dict[str, str],
                config: dict[str, Any], resume: Path | None = None,
                answers_from: list[Path] = ()) -> list[Example]:
    """`local-augment augment` on the training set; the rows it wrote, each with its source's
    label (a variant's `_provenance.source_id`). `resume`: a finished run of the same methods
    whose output folder is copied first, so the run resumes its shards and redoes only the
    global steps (dedup, mix, write): the mix share is not part of a shard's fingerprint.
    `answers_from`: finished runs whose model-output caches are merged in first, so an LLM
    answer another arm already has (the same prompt, sampling and seed) is replayed, not
    generated again; the rows are the same either way."""
    out = work / arm.name
    if resume is not None:
        shutil.copytree(resume, out)
    elif answers_from:
        merge_model_caches([p / ".work" / "model_cache.sqlite" for p in answers_from],
                           out / ".work" / "model_cache.sqlite")
    cfg = {"methods": arm.methods, "run": {"seed": seed}, **config}
    if arm.ratio is not None:
        cfg["mix"] = {**cfg.get("mix", {}), "ratio": arm.ratio}
    cfg_path = work / f"{arm.name}.json"
    cfg_path.write_text(json.dumps(cfg))
    cmd = [str(Path(sys.executable).with_name("local-augment")), "augment", str(train),
           "--output-dir", str(out), "--config", str(cfg_path)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"arm {arm.name}: local-augment augment failed:\n{res.stdout}\n"
                         f"{res.stderr[-3000:]}")
    rows = []
    for line in (out / "augmented.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        prov = r["_provenance"]
        source = prov.get("source_id") or prov.get("id")
        rows.append((" ".join(r["instruction"].split()), label_of[source]))
    return rows


def merge_model_caches(sources: list[Path], dest: Path) -> None:
    """Copy every entry of the given model-output caches into `dest` (local_augment.engines.cache)."""
    from local_augment.engines.cache import ModelCache

    into = ModelCache(dest)
    try:
        for src in sources:
            if not src.is_file():
                continue
            with sqlite3.connect(src) as db:
                rows = db.execute("SELECT k, v FROM out").fetchall()
            into.put_many({k: json.loads(v) for k, v in rows})
    finally:
        into.close()


def oracle_rows(originals: list[Example], pool: dict[str, list[str]], extra: int
                ) -> list[Example]:
    """The originals plus `extra` real wordings, label by label in turn."""
    out, labels, taken = list(originals), list(pool), defaultdict(int)
    while extra > 0 and any(taken[lab] < len(pool[lab]) for lab in labels):
        for lab in labels:
            if extra > 0 and taken[lab] < len(pool[lab]):
                out.append((pool[lab][taken[lab]], lab))
                taken[lab] += 1
                extra -= 1
    return out


def new_words(rows: list[Example], originals: list[Example]) -> int:
    from local_augment.quality.lexical import tokens

    seen = {w for t, _ in originals for w in tokens(t)}
    return len({w for t, _ in rows for w in tokens(t)} - seen)


def rows_key(rows: list[Example]) -> str:
    """The training rows' content hash, in order: the learners are deterministic per seed, so
    two arms that wrote the same rows get the same scores, and training them twice buys
    nothing (a method that kept no rows equals the originals)."""
    import hashlib

    return hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------ main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", help="a CSV or JSONL file (default: ../shared/data/banking77)")
    ap.add_argument("--text-field", default="text")
    ap.add_argument("--label-field", default="category")
    ap.add_argument("--test", help="a separate test file (else a seeded split of --data)")
    ap.add_argument("--test-share", type=float, default=0.3)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--shared", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--k", type=int, default=4, help="training wordings per label")
    ap.add_argument("--labels", type=int, default=0, help="use only the first N labels (0: all)")
    ap.add_argument("--arms", default=",".join(ARMS))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--sft", action="store_true", help="fine-tune SmolLM2 instead of MiniLM")
    ap.add_argument("--steps", type=int, default=0, help="optimizer steps (0: the learner's)")
    ap.add_argument("--test-limit", type=int, default=0,
                    help="test rows used, a seeded sample (0: all; sft default 600)")
    ap.add_argument("--models-dir", default=str(ROOT / "models"))
    ap.add_argument("--config", help="YAML/JSON config merged into every arm's augment config")
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args(argv)

    from scripts.downstream_learners import learner_for

    train_all, test, name = load_splits(args)
    labels = sorted({lab for _, lab in train_all})
    if args.labels:
        labels = labels[: args.labels]
    test = [t for t in test if t[1] in set(labels)]
    limit = args.test_limit or (600 if args.sft else 0)
    if limit and len(test) > limit:
        test = random.Random(1).sample(test, limit)
    originals, pool = draw(train_all, args.k, labels, seed=0)
    learner = learner_for(args.sft, Path(args.models_dir), labels, args.steps)
    base = {"paraphrase": {"sample": 1.0}, "outputs": {"sample": 1.0}}
    if args.config:
        import yaml

        base.update(yaml.safe_load(Path(args.config).read_text()) or {})
    plan = arm_plan(args.arms.split(","), runnable_methods(Path(args.models_dir)))
    print(f"{name}: {len(labels)} labels, {len(originals)} training rows ({args.k} per label), "
          f"{len(test)} test rows; learner {learner.name}, {learner.steps} steps, "
          f"{args.seeds} seeds", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train_path = work / "train.jsonl"
        write_alpaca(originals, train_path)
        label_of = {f"r{i:05d}": lab for i, (_, lab) in enumerate(originals)}
        os.environ.setdefault("LOCAL_AUGMENT_CACHE", str(ROOT / ".cache" / "bench_downstream"))
        done: dict[tuple, list[Example]] = {}
        ran: dict[tuple, Path] = {}  # methods -> a finished output folder
        for arm in plan:
            if arm.skipped:
                continue
            t0 = time.perf_counter()
            if arm.name == "originals":
                arm.rows = list(originals)
            elif arm.methods is not None:
                key = (tuple(arm.methods), arm.ratio or 2.0)
                if key not in done:
                    done[key] = run_augment(arm, train_path, work, 0, label_of, base,
                                            resume=ran.get(key[0]),
                                            answers_from=list(ran.values()))
                    ran.setdefault(key[0], work / arm.name)
                arm.rows = done[key]
            arm.seconds = time.perf_counter() - t0
        default = next((a for a in plan if a.name == "default" and not a.skipped), None)
        for arm in plan:
            if arm.name == "oracle":
                extra = len(default.rows) - len(originals) if default else len(originals)
                arm.rows = oracle_rows(originals, pool, extra)
        trained: dict[str, tuple[str, list[float]]] = {}  # rows -> (first arm, accuracies)
        for arm in plan:
            if arm.skipped:
                results.append({"name": arm.name, "skipped": arm.skipped})
                print(f"{arm.name:<16} skipped: {arm.skipped}", flush=True)
                continue
            t0 = time.perf_counter()
            key = rows_key(arm.rows)
            if key in trained:
                first, accs = trained[key]
                print(f"{arm.name:<16} wrote the same rows as {first}: its scores are reused",
                      flush=True)
            else:
                accs = [learner.train_and_test(arm.rows, test, seed)
                        for seed in range(args.seeds)]
                trained[key] = (arm.name, accs)
            took = arm.seconds + time.perf_counter() - t0
            row = {"name": arm.name, "accuracy_mean": round(statistics.mean(accs), 4),
                   "accuracy_sd": round(statistics.stdev(accs), 4) if len(accs) > 1 else 0.0,
                   "rows": len(arm.rows), "new_words": new_words(arm.rows, originals),
                   "seconds": round(took, 1), "accuracies": [round(a, 4) for a in accs]}
            results.append(row)
            print(f"{arm.name:<16} accuracy {row['accuracy_mean']:.3f} ± {row['accuracy_sd']:.3f}"
                  f"  rows {row['rows']:>5}  new words {row['new_words']:>5}  "
                  f"{row['seconds']:>7.1f} s", flush=True)
    from local_augment.config import load_config

    llm_model = base.get("llm", {}).get("model") or load_config().llm.model
    out = {"learner": learner.name, "data": name, "llm_model": llm_model,
           "labels": len(labels), "k": args.k,
           "steps": learner.steps, "seeds": args.seeds, "test_rows": len(test), "arms": results}
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
