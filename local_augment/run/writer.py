"""Write the run's files: augmented rows (input's own format), rejected rows, and the counts.

Rows are streamed shard by shard: each original, then its selected variants; rows with no source
example (refusals) come last. Files are written atomically (temp file + rename).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from local_augment.data.atomic import AtomicJsonlWriter, write_jsonl_rows, write_parquet_rows
from local_augment.data.formats import PARQUET
from local_augment.data.records import ALPACA, PROVENANCE_KEY, Candidate, Example, prompt_text
from local_augment.quality.diversity import DistinctN, Novelty
from local_augment.shard.process import as_example
from local_augment.shard.store import ShardStore

HIST_BINS = np.linspace(0.4, 1.0, 61)  # below 0.4 counts in the first bin
RATIO_BINS = np.linspace(0.0, 4.0, 41)
SAMPLES_KEPT = 5  # kept rows per method shown in the report
SAMPLES_PER_REASON = 3  # rejected rows per method and reason


class Tally:
    """Counts and score samples gathered while writing; becomes the report's numbers."""

    def __init__(self) -> None:
        self.input_rows = 0
        self.bad = 0
        self.originals = 0
        self.dropped = 0  # contaminated originals dropped (--drop-contaminated)
        self.candidates: Counter[str] = Counter()
        self.accepted: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        self.rejected_by_method: dict[str, Counter[str]] = defaultdict(Counter)
        self.sim_hist: dict[str, np.ndarray] = {}
        self.ratio_hist: dict[str, np.ndarray] = {}
        self.samples: dict[str, dict[str, Any]] = {}
        self.before = DistinctN()
        self.after = DistinctN()
        self.novelty = Novelty()
        self.gained = 0
        self.rows_after = 0

    def sample(self, c: Candidate, reason: str | None) -> None:
        """The first few kept rows per method, and of rejected ones the first few per reason."""
        s = self.samples.setdefault(c.method, {"kept": [], "rejected": {}})
        rec = {"id": c.id, "field": c.field, "source": c.source_text, "variant": c.text,
               "scores": {k: round(float(v), 3) for k, v in c.scores.items()}}
        if reason is None:
            if len(s["kept"]) < SAMPLES_KEPT:
                s["kept"].append(rec)
            return
        kind = reason.split(":", 1)[0]
        rows = s["rejected"].setdefault(kind, [])
        if len(rows) < SAMPLES_PER_REASON:
            rows.append({**rec, "reason": reason})

    def scores(self, c: Candidate) -> None:
        if "similarity" not in c.scores:
            return
        h = self.sim_hist.setdefault(c.method, np.zeros(len(HIST_BINS) - 1, dtype=np.int64))
        h[_bin(c.scores["similarity"], HIST_BINS)] += 1
        r = self.ratio_hist.setdefault(c.method, np.zeros(len(RATIO_BINS) - 1, dtype=np.int64))
        r[_bin(c.scores["length_ratio"], RATIO_BINS)] += 1


def _bin(value: float, edges: np.ndarray) -> int:
    """The bin of `value` among equal-width `edges`; values outside go to the end bins."""
    width = (edges[-1] - edges[0]) / (len(edges) - 1)
    return int(min(max((value - edges[0]) // width, 0), len(edges) - 2))


def _variant_row(c: Candidate, source_row: dict[str, Any] | None, provenance: bool) -> dict:
    row = dict(c.row)
    if source_row is not None and "id" in source_row:
        row = {"id": c.id, **row}
    if provenance:
        row[PROVENANCE_KEY] = c.provenance()
    return row


def _reject_row(c: Candidate, reason: str) -> dict[str, Any]:
    out = {"id": c.id, "source_id": c.source_id, "method": c.method, "reason": reason,
           "row": c.row, PROVENANCE_KEY: c.provenance()}
    if c.raw is not None:
        out["raw"] = c.raw
    return out


def _rows(store: ShardStore, keys: list[str], verdicts: dict[str, str], provenance: bool,
          tally: Tally, rejects: AtomicJsonlWriter, dropped: dict[str, str]
          ) -> Iterator[dict[str, Any]]:
    for key in keys:
        shard = store.load(key)
        tally.bad += len(shard.bad)
        tally.originals += len(shard.originals)
        tally.input_rows += len(shard.bad) + len(shard.originals)
        for b in shard.bad:
            tally.rejected["bad_input"] += 1
            rejects.write({"id": None, "line": b["line"], "file": b["file"],
                            "reason": b["reason"], "raw": b["raw"]})
        by_source: dict[str, list[Candidate]] = defaultdict(list)
        for c in shard.candidates:
            tally.candidates[c.method] += 1
            tally.scores(c)
            reason = c.reason or verdicts.get(c.id)
            tally.sample(c, reason)
            if reason is None:
                by_source[c.source_id].append(c)
                tally.accepted[c.method] += 1
                tally.novelty.add(c.method, c.text, c.source_text)
            else:
                kind = reason.split(":", 1)[0]
                tally.rejected[kind] += 1
                tally.rejected_by_method[c.method][kind] += 1
                rejects.write(_reject_row(c, reason))
        for o in shard.originals:
            if o["id"] in dropped:  # a contaminated original (its variants are rejects too)
                tally.dropped += 1
                rejects.write({"id": o["id"], "line": o["line"], "reason": dropped[o["id"]],
                               "row": o["row"]})
                by_source.pop(o["id"], None)
                continue
            row = dict(o["row"])
            asked = prompt_text(Example(o["id"], o["line"], o["layout"], o["row"]))
            tally.before.add(asked)
            tally.after.add(asked)
            if provenance:
                prov = {"id": o["id"], "method": "original", "line": o["line"]}
                if PROVENANCE_KEY in row:  # a row from an earlier run: its provenance is kept
                    prov["previous"] = row[PROVENANCE_KEY]
                row[PROVENANCE_KEY] = prov
            yield row
            variants = by_source.pop(o["id"], [])
            tally.gained += bool(variants)
            for c in variants:
                tally.after.add(prompt_text(as_example(c, o["layout"])))
                yield _variant_row(c, o["row"], provenance)
        for cands in by_source.values():  # rows with no source example (refusals)
            for c in cands:
                tally.after.add(prompt_text(as_example(c, ALPACA)))
                yield _variant_row(c, None, provenance)


def write_outputs(
    store: ShardStore, keys: list[str], verdicts: dict[str, str], output_dir: Path,
    input_path: Path, container: str, provenance: bool,
    dropped: dict[str, str] | None = None,
) -> dict[str, Any]:
    """augmented.jsonl (or .parquet) and rejected.jsonl; `dropped`: original id -> reason, for
    originals that go to the rejects instead of the output (contaminated, --drop-contaminated)."""
    tally = Tally()
    with AtomicJsonlWriter(output_dir / "rejected.jsonl") as rejects:
        rows = _rows(store, keys, verdicts, provenance, tally, rejects, dropped or {})
        if container == PARQUET:
            out_name = "augmented.parquet"
            written = write_parquet_rows(output_dir / out_name, map(_flatten_provenance, rows),
                                         empty_like=input_path)
        else:
            out_name = "augmented.jsonl"
            written = write_jsonl_rows(output_dir / out_name, rows)
    return account(tally, written, rejects.count, input_path, out_name)


def _flatten_provenance(row: dict[str, Any]) -> dict[str, Any]:
    """Parquet keeps `_provenance` as a JSON string: its fields differ per method."""
    if PROVENANCE_KEY in row:
        row = dict(row)
        row[PROVENANCE_KEY] = json.dumps(row[PROVENANCE_KEY], ensure_ascii=False)
    return row


def account(tally: Tally, written: int, rejected_rows: int, input_path: Path,
            out_name: str) -> dict[str, Any]:
    """The report's counts, after checking that every row is accounted for."""
    augmented = sum(tally.accepted.values())
    n_candidates = sum(tally.candidates.values())
    cand_rejects = sum(v for k, v in tally.rejected.items() if k != "bad_input")
    checks = {
        "input_rows == originals + bad_input": tally.input_rows == tally.originals + tally.bad,
        "candidates == accepted + rejected": n_candidates == augmented + cand_rejects,
        "output rows == originals - dropped originals + accepted":
            written == tally.originals - tally.dropped + augmented,
        "rejected.jsonl rows == bad_input + dropped originals + rejected candidates":
            rejected_rows == tally.bad + tally.dropped + cand_rejects,
    }
    broken = [k for k, ok in checks.items() if not ok]
    if broken:
        raise RuntimeError(f"accounting does not add up: {', '.join(broken)} — this is a bug")
    total = tally.originals - tally.dropped + augmented
    return {
        "input": str(input_path),
        "output": out_name,
        "counts": {
            "input_rows": tally.input_rows,
            "bad_input_rows": tally.bad,
            "originals": tally.originals,
            "dropped_originals": tally.dropped,
            "candidates": n_candidates,
            "augmented": augmented,
            "output_rows": written,
            "rejected_rows": rejected_rows,
            "augmented_share": round(augmented / total, 4) if total else 0.0,
        },
        "candidates_per_method": dict(sorted(tally.candidates.items())),
        "accepted_per_method": {m: tally.accepted.get(m, 0) for m in sorted(tally.candidates)},
        "rejected_per_reason": dict(tally.rejected.most_common()),
        "rejected_per_method": {m: dict(c.most_common())
                                for m, c in sorted(tally.rejected_by_method.items())},
        "accounting": {k: "ok" for k in checks},
        "diversity": {
            "before": {**tally.before.result(), "rows": tally.originals},
            "after": {**tally.after.result(), "rows": total},
            "originals_with_variant_share": round(tally.gained / tally.originals, 4)
            if tally.originals else 0.0,
            "novelty": tally.novelty.result(),
        },
        "samples": tally.samples,
        "histograms": {
            "similarity_bins": HIST_BINS.round(3).tolist(),
            "similarity": {m: h.tolist() for m, h in sorted(tally.sim_hist.items())},
            "length_ratio_bins": RATIO_BINS.round(3).tolist(),
            "length_ratio": {m: h.tolist() for m, h in sorted(tally.ratio_hist.items())},
        },
    }
