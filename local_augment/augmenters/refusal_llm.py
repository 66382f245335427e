"""LLM mode of refusals: write the missing `reason` / `alternative` of refusal cases.

All cases that need it go to the LLM in one `chat` call. A case whose answer can't be used keeps
`error` (a reject reason such as `unparseable_llm_output`) and `raw` (the answer) for the
refusals augmenter to reject with.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from local_augment.engines.context import Context
from local_augment.engines.llm import Sampling, get_llm
from local_augment.engines.llm.prompting import extract_json, load_prompt
from local_augment.quality import reasons

log = logging.getLogger("local_augment.refusal_llm")

FIELDS = ("reason", "alternative")
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {f: {"type": "string", "minLength": 1} for f in FIELDS},
    "required": list(FIELDS),
}
_LABELLED = re.compile(r"^\W*(reason|alternative)\W*\s*[:=-]\s*(.+?)\s*$", re.I | re.M)


def parse_answer(text: str) -> dict[str, str] | None:
    """{"reason", "alternative"} from JSON or "Reason: …" lines; None when either is missing."""
    found: dict[str, str] = {}
    value = extract_json(text or "")
    if isinstance(value, dict):
        for f in FIELDS:
            v = value.get(f)
            if isinstance(v, str) and v.strip():
                found[f] = v.strip()
    if len(found) < len(FIELDS):
        for key, v in _LABELLED.findall(text or ""):
            found.setdefault(key.lower(), v.strip().strip('",').strip())
    return found if all(found.get(f) for f in FIELDS) else None


def _missing(case: dict[str, Any]) -> bool:
    return any(not str(case.get(f) or "").strip() for f in FIELDS)


def fill_missing(cases: list[dict], ctx: Context) -> list[dict]:
    """Copies of `cases` with reason and alternative filled in by the LLM where they were missing.

    Given values are kept. A filled case gains `_generated: True` and `llm` (model, template,
    sampling, seed); one that failed gains `error` (`empty_output` / `unparseable_llm_output`)
    and `raw`.
    """
    out = [dict(c) for c in cases]
    todo = [c for c in out if _missing(c)]
    if not todo:
        return out
    llm = get_llm(ctx)
    prompt = load_prompt("refusal")
    params = Sampling.from_config(ctx.config.llm, n=1, json_schema=SCHEMA,
                                  max_tokens=min(ctx.config.llm.max_tokens, 160))
    convs = [[{"role": "user", "content": prompt.render(instruction=c.get("instruction", ""))}]
             for c in todo]
    answers = llm.chat(convs, params)
    model = llm.describe()
    for case, samples in zip(todo, answers, strict=True):
        raw = samples[0] if samples else ""
        parsed = parse_answer(raw)
        if parsed is None:
            case["error"] = reasons.EMPTY_OUTPUT if not raw.strip() else reasons.UNPARSEABLE
            case["raw"] = raw
            continue
        for f in FIELDS:
            if not str(case.get(f) or "").strip():
                case[f] = parsed[f]
        case["_generated"] = True
        case["llm"] = {"model": model, "template": prompt.id, "sampling": params.describe(),
                       "seed": ctx.seed}
    log.info("refusals: LLM filled %d of %d cases", sum("error" not in c for c in todo), len(todo))
    return out


def reword_replies(cases: list[dict], ctx: Context, k: int) -> dict[str, list[dict[str, str]]]:
    """Up to `k` rewordings of each case's reason and alternative, by case id.

    One `chat` call, `k` samples per case. A rewording is kept only when both parts parse, differ
    from the case's own words, keep every detail (numbers, names, code) without adding one, and
    keep the negation of the original; what is dropped is logged, never used.
    """
    from local_augment.quality.lexical import detail_change, negation_flip, trivial_copy

    todo = [c for c in cases if not c.get("error") and not _missing(c)]
    if not todo or k < 1:
        return {}
    llm = get_llm(ctx)
    prompt = load_prompt("refusal_reword")
    params = Sampling.from_config(ctx.config.llm, n=k, json_schema=SCHEMA,
                                  max_tokens=min(ctx.config.llm.max_tokens, 160))
    convs = [[{"role": "user", "content": prompt.render(
        instruction=c["instruction"], reason=c["reason"], alternative=c["alternative"])}]
        for c in todo]
    out: dict[str, list[dict[str, str]]] = {}
    dropped = 0
    for case, samples in zip(todo, llm.chat(convs, params), strict=True):
        kept: list[dict[str, str]] = []
        for raw in samples:
            parsed = parse_answer(raw)
            ok = parsed is not None and all(
                not trivial_copy(parsed[f], case[f]) and not detail_change(parsed[f], case[f], request=False)
                and not negation_flip(parsed[f], case[f]) for f in FIELDS)
            if ok and parsed not in kept:
                kept.append(parsed)
            else:
                dropped += 1
        out[case["_id"]] = kept
    log.info("refusals: %d reply rewordings kept, %d dropped", sum(map(len, out.values())),
             dropped)
    return out
