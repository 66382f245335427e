"""The low-yield gate: drop a generator's survivors when they are estimated to be mostly QC's misses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from local_augment.config import QCConfig
from local_augment.quality import reasons


def survivor_precision(pass_rate: float, catch: float, false_reject: float) -> float:
    """The expected share of good rows among a generator's survivors.

    A share b of its candidates is bad; QC rejects `catch` of the bad and `false_reject` of the
    good, so the observed reject share is f = b·catch + (1−b)·false_reject. Solved for b, the
    survivors are (1−b)(1−false_reject) good and b(1−catch) bad.
    """
    f = 1.0 - pass_rate
    b = min(1.0, max(0.0, (f - false_reject) / max(catch - false_reject, 1e-9)))
    good, bad = (1 - b) * (1 - false_reject), b * (1 - catch)
    return good / (good + bad) if good + bad > 0 else 0.0


def low_yield(results: Iterable[tuple[str, str | None]], qc: QCConfig) -> dict[str, str]:
    """Generators whose survivors are estimated to be mostly QC's misses, each with its
    `low_yield_method` reason (`survivor_precision` below `qc.survivor_precision_min`).

    `results`: (generator, reason or None) for every candidate of the run: a method, or a
    method and its kind ("outputs:brief", `Candidate.generator`), judged with the method's QC
    settings. Near-copies (trivial copies, too few new words, above
    the cosine window) say nothing about a generator's errors and are not counted; a row above
    the bar fitted on people's pairs but below the generated bar (`judge_uncertain`) counts as
    passed, since QC's rates describe that bar; every other reason is a failure.
    """
    passed: Counter[str] = Counter()
    judged: Counter[str] = Counter()
    settings: dict[str, Any] = {}
    for method, reason in results:
        c = settings.setdefault(method, qc.checks(method.split(":", 1)[0]))
        if reason is None or reasons.kind(reason) == "judge_uncertain":
            passed[method] += 1
            judged[method] += 1
        elif not _near_copy(reason, c.similarity_max):
            judged[method] += 1
    out: dict[str, str] = {}
    for method, n in judged.items():
        c = settings[method]
        precision = survivor_precision(passed[method] / n, c.qc_catch_rate, c.qc_false_reject_rate)
        if n >= c.min_judged and precision < c.survivor_precision_min:
            out[method] = reasons.low_yield_method(passed[method], n)
    return out


def _near_copy(reason: str, similarity_max: float) -> bool:
    kind = reasons.kind(reason)
    if kind in reasons.NEAR_COPY or "copy" in kind:
        return True
    if kind == "out_of_window":
        try:
            return float(reason.split(":", 1)[1]) > similarity_max
        except (IndexError, ValueError):
            return False
    return False
