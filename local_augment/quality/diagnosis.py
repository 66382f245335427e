"""Plain words for a barren method: what rejected its candidates and what to change."""

from __future__ import annotations

from typing import Any

from local_augment.methods import LLM_METHODS
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
        if method in LLM_METHODS:
            line += (f" — {llm_model} is too small to follow the prompt; set llm.model to a 7B+ "
                     "instruct model (or llm.engine: server with one)")
        elif method == "backtranslation" and top in reasons.NEAR_COPY:
            line += (" — the translators give back the source; try backtranslation.decoding: "
                     "sample, or more pivots")
        elif method == "backtranslation":
            line += " — check the opus-mt models (`local-augment models list`)"
        elif method == "templates":
            line += (" — the instructions' structure is rarely understood; see the rejects and "
                     "templates.forms")
        gated = qc.get("low_yield_method", 0)
        if gated:
            line += f"; its {gated} survivors were dropped too (low_yield_method)"
        lines.append(line)
    return lines
