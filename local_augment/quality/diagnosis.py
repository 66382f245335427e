"""Plain words for a barren method: what rejected its candidates and what to change."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from local_augment.methods import LLM_METHODS, REGISTRY
from local_augment.quality import reasons

# below this share of candidates passing QC, a method is called barren
BARREN_SHARE = 0.1
# the mix and dedup drop good rows for budget reasons: not QC's verdicts
NOT_QC = frozenset({"near_duplicate_of", "per_original_cap", "ratio_cap"})


def diagnose(report: dict[str, Any], llm_model: str) -> list[str]:
    """One line per method that kept almost nothing through QC, naming the main reason."""
    lines: list[str] = []
    for method, n in report.get("candidates_per_method", {}).items():
        rejected = report.get("rejected_per_method", {}).get(method, {})
        qc = {k: v for k, v in rejected.items() if k not in NOT_QC}
        passed = n - sum(qc.values())
        if n < 10 or passed >= BARREN_SHARE * n:
            continue
        failures = {k: v for k, v in qc.items() if k != "low_yield_method"}
        top, count = max(failures.items(), key=lambda kv: kv[1]) if failures else ("none", 0)
        line = f"{method}: {passed} of {n} kept, {count} {top}"
        hint = _hint(method, top, llm_model)
        if hint:
            line += f" — {hint}"
        gated = qc.get("low_yield_method", 0)
        if gated:
            line += f"; its {gated} survivors were dropped too (low_yield_method)"
        lines.append(line)
    return lines


def _hint(method: str, top: str, llm_model: str) -> str:
    """What to change, from the method's registry entry (`Method.hints`)."""
    entry = REGISTRY.get(method)
    if entry is None:
        return ""
    if entry.uses_llm:
        return (f"{llm_model} is too small to follow the prompt; set llm.model to a 7B+ "
                "instruct model (or llm.engine: server with one)")
    if top in reasons.NEAR_COPY and "near_copy" in entry.hints:
        return entry.hints["near_copy"]
    return entry.hints.get("*", "")


EVIDENCE = Path(__file__).resolve().parent.parent / "evidence" / "downstream.json"


def shown_to_help(methods: list[str], llm_model: str, path: Path = EVIDENCE) -> list[str]:
    """One line per method of the run: whether scripts/bench_downstream.py showed that training
    on its rows beats training on the originals alone (the last measured run, shipped)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    arms = {a["name"]: a for a in data.get("arms", []) if "accuracy_mean" in a}
    base = arms.get("originals")
    if base is None:
        return []
    where = (f"{data.get('data')}, {data.get('k')} wordings per label, {data.get('learner')}, "
             f"{data.get('seeds')} seeds")
    lines = []
    for method in methods:
        arm = arms.get(method)
        if arm is None:
            continue
        gain = arm["accuracy_mean"] - base["accuracy_mean"]
        noise = max(arm["accuracy_sd"], base["accuracy_sd"])
        verdict = ("shown to help" if gain > 2 * noise else
                   "shown to hurt" if gain < -2 * noise else "not shown to help")
        model = f" (generator {data.get('llm_model')})" if method in LLM_METHODS and \
            data.get("llm_model") else ""
        note = (f"; this run uses {llm_model}" if method in LLM_METHODS and
                data.get("llm_model") not in (None, llm_model) else "")
        lines.append(f"{method}{model}: {verdict} on unseen wordings — accuracy "
                     f"{base['accuracy_mean']:.3f} on the originals alone, "
                     f"{arm['accuracy_mean']:.3f} with its rows ({where}; "
                     f"scripts/bench_downstream.py){note}")
    return lines
