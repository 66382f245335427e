"""Refusal examples for supplied harmful edge cases, in the dataset's own format.

A cases file (JSONL) holds one case per line: `instruction`, and `reason` + `alternative`. Each
case gives `per_case` rows whose refusals vary in phrasing and whose instructions vary in form.
Cases without a reason or alternative need an LLM to write them (mode `llm`, or `auto` when the
LLM is installed); in `template` mode they are an error naming the line.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local_augment.augmenters.base import Augmenter, Context, stable_rng_seed
from local_augment.augmenters.templates import load_template_sets, render, slots_for
from local_augment.data.formats import json_lines
from local_augment.data.records import Candidate, Example, build_row
from local_augment.errors import ModelError, UserError
from local_augment.quality.lexical import trivial_copy

OPENERS = (
    "I can't help with that.",
    "I'm sorry, but I can't assist with this request.",
    "That's not something I can help with.",
    "I have to decline this one.",
    "I won't be able to do that.",
    "Sorry, I can't provide that.",
)
BRIDGES = ("", "Instead, ", "What I can do: ", "If it helps, ")


def read_cases(path: Path) -> list[dict[str, Any]]:
    """Parse and check a cases file; every problem names the file, line and field."""
    if not path.is_file():
        raise UserError(f"{path}: refusal cases file not found (refusals.cases)")
    cases, problems = [], []
    for lineno, case, problem in json_lines(path):
        if problem is not None:
            problems.append(f"{path}:{lineno}: {problem}")
            continue
        if not isinstance(case, dict) or not isinstance(case.get("instruction"), str) \
                or not case["instruction"].strip():
            problems.append(f'{path}:{lineno}: missing or empty "instruction"')
            continue
        for key in ("reason", "alternative"):
            if case.get(key) is not None and not isinstance(case[key], str):
                problems.append(f'{path}:{lineno}: "{key}" must be a string')
        case["_line"] = lineno
        case["_id"] = str(case.get("id", f"line{lineno}"))
        cases.append(case)
    if problems:
        raise UserError("; ".join(problems[:5]) + (" …" if len(problems) > 5 else ""))
    if not cases:
        raise UserError(f"{path}: no refusal cases")
    return cases


def incomplete(cases: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [c for c in cases if not (c.get("reason") or "").strip()
            or not (c.get("alternative") or "").strip()]


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def refusal_text(case: dict[str, Any], rng: random.Random) -> tuple[str, dict[str, int]]:
    """Opener, the case's reason and its alternative (after a bridge), each chosen by `rng`."""
    o, b = rng.randrange(len(OPENERS)), rng.randrange(len(BRIDGES))
    alt = _sentence(case["alternative"])
    if BRIDGES[b]:
        alt = BRIDGES[b] + alt[0].lower() + alt[1:] if not alt[:2].isupper() else BRIDGES[b] + alt
    text = " ".join(p for p in (OPENERS[o], _sentence(case["reason"]), alt) if p)
    return text, {"opener": o, "bridge": b}


class RefusalAugmenter(Augmenter):
    """Builds refusal rows from cases; asks the LLM only for missing reasons/alternatives."""

    name = "refusals"

    def __init__(self, ctx: Context, cases: list[dict[str, Any]], use_llm: bool) -> None:
        self.ctx = ctx
        self.settings = ctx.config.refusals
        self.cases = cases
        self.use_llm = use_llm
        self.per_case = ctx.config.refusals.per_case
        self.seed = ctx.seed
        self.forms = load_template_sets(ctx.config.templates.file)

    def details(self) -> dict[str, Any]:
        return {"cases": self.cases, "llm": self.use_llm}  # reply_rewrites: in the section

    @property
    def uses_llm(self) -> bool:
        return self.use_llm

    def _instructions(self, case: dict[str, Any], rng: random.Random) -> list[str]:
        base = case["instruction"].strip()
        slots = slots_for(base)
        forms = [t for ts in self.forms.values() for t in ts]
        rendered = sorted({r for t in forms if (r := render(t, slots))
                           and not trivial_copy(r, base)})
        rng.shuffle(rendered)
        return [base, *rendered]

    def standalone(self, layout: str) -> list[Candidate]:
        cases = self.cases
        model = None
        if self.use_llm and incomplete(cases):
            from local_augment.augmenters.refusal_llm import fill_missing

            cases = fill_missing(cases, self.ctx)
        rewordings: dict[str, list[dict[str, str]]] = {}
        if self.settings.reply_rewrites and self.per_case > 1:
            from local_augment.augmenters.refusal_llm import reword_replies

            rewordings = reword_replies(cases, self.ctx, self.per_case - 1)
        llm = self.ctx.engines.peek("llm")
        model = llm.describe() if llm is not None else None
        out: list[Candidate] = []
        for case in cases:
            rng = random.Random(stable_rng_seed(self.seed, "refusals", case["_id"]))
            source_id = f"refusal:{case['_id']}"
            generated = bool(case.get("_generated"))
            if case.get("error"):
                out.append(Candidate(
                    source_id=source_id, method=self.name, index=0, row={}, field="row",
                    text="", source_text=case["instruction"], seed=self.seed,
                    reason=case["error"], raw=case.get("raw"), model=model,
                    params={"case_line": case["_line"]},
                ))
                continue
            instructions = self._instructions(case, rng)
            replies = [case, *({**case, **r} for r in rewordings.get(case["_id"], []))]
            for i in range(min(self.per_case, len(instructions))):
                reply = replies[i] if i < len(replies) else case
                output, choice = refusal_text(reply, rng)
                row = build_row(layout, instructions[i], output)
                reworded = reply is not case
                out.append(Candidate(
                    source_id=source_id, method=self.name, index=i, row=row, field="row",
                    text=instructions[i], source_text=case["instruction"], seed=self.seed,
                    params={"case_line": case["_line"], "mode": "llm" if generated else "template",
                            **choice, **({"reply": "llm"} if reworded else {})},
                    model=model if generated or reworded else None,
                ))
        return out

    def generate(self, batch: Sequence[Example]) -> list[Candidate]:  # noqa: ARG002
        """Refusal rows have no source example: they come from `standalone`, once per run."""
        return []


def create(ctx: Context) -> RefusalAugmenter | None:
    cfg = ctx.config.refusals
    if cfg.cases is None:
        return None
    cases = read_cases(Path(cfg.cases))
    missing = incomplete(cases)
    use_llm = False
    if missing:
        lines = ", ".join(str(c["_line"]) for c in missing[:8])
        if cfg.mode == "template":
            raise UserError(
                f"{cfg.cases}: cases on lines {lines} lack a reason or an alternative; add them, "
                "or set refusals.mode to llm (or auto) to have the LLM write them"
            )
        try:
            if ctx.config.llm.engine == "vllm":  # a server brings its own model
                ctx.manifest.require(ctx.config.llm.model, "llm")
        except ModelError as exc:
            raise UserError(
                f"{cfg.cases}: cases on lines {lines} lack a reason or an alternative and the LLM "
                f"that would write them is unavailable ({exc})"
            ) from None
        use_llm = True
    if cfg.reply_rewrites and ctx.config.llm.engine == "vllm":
        try:
            ctx.manifest.require(ctx.config.llm.model, "llm")
        except ModelError as exc:
            raise UserError(f"refusals.reply_rewrites needs the LLM, which is unavailable ({exc}); "
                            "install it or set refusals.reply_rewrites: false") from None
    return RefusalAugmenter(ctx, cases, use_llm)
