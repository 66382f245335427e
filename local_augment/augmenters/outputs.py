"""LLM variants of each output: a brief one (at most N words) and a bulleted one.

The instruction stays as it is. A brief variant over N words is rejected here with `too_long:<n>`, a
"bulleted" one without a list with `not_bulleted`; a variant that drops or invents a number, a
code span or a name is QC's (`lost_detail`/`added_detail`, quality/lexical.py), as for every method.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local_augment.augmenters.base import Context, sampled
from local_augment.augmenters.llm_base import LLMAugmenter, Request, messages
from local_augment.augmenters.prompting import (
    Prompt,
    cut_loop,
    load_prompt,
    normalized,
    strip_opener,
)
from local_augment.engines.llm import LLMEngine, Sampling, get_llm
from local_augment.quality import reasons
from local_augment.records import Candidate, Example

log = logging.getLogger("local_augment.outputs")

NAME = "outputs"
VARIANTS = ("brief", "bulleted")  # index of a variant's Candidate = its position here
EMPTY, COPY = reasons.EMPTY_OUTPUT, reasons.COPY_OF_SOURCE

_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+\S", re.M)
_PREAMBLE = re.compile(r"^(?:sure|here|certainly|of course|okay|ok)\b[^\n]*:\s*\n", re.I)


def words(text: str) -> int:
    return len(text.split())


def clean_variant(text: str, source: str = "") -> str:
    """The answer without a chatty first line ("Here is the shortened answer:"), an opener
    ("Sure! …") the source does not have, or a repetition loop at its end."""
    text = (text or "").strip()
    m = _PREAMBLE.match(text)
    if m and not normalized(source).startswith(normalized(m.group(0))):
        text = text[m.end():].strip()
    return cut_loop(strip_opener(text, source))


class OutputsAugmenter(LLMAugmenter):
    """Brief and bulleted variants of every long enough output, from one LLM call per batch."""

    name = NAME

    def __init__(self, ctx: Context, llm: LLMEngine, prompts: dict[str, Prompt]) -> None:
        self.ctx = ctx
        self.cfg = self.settings = ctx.config.outputs
        self.llm = llm
        self.prompts = prompts

    def sampling(self, variant: str, output: str) -> Sampling:
        cfg = self.ctx.config.llm
        budget = 2 * self.cfg.brief_max_words + 32 if variant == "brief" else 2 * words(output) + 64
        return Sampling.from_config(cfg, n=1, max_tokens=min(cfg.max_tokens, budget))

    def requests(self, batch: Sequence[Example]) -> list[Request]:
        todo = [ex for ex in batch if words(ex.output) >= self.cfg.min_output_words
                and sampled(self.ctx.seed, self.name, ex.id, self.cfg.sample)]
        out: list[Request] = []
        for variant in self.cfg.variants:  # one sampling setting (token budget) per variant
            if not todo:
                break
            params = self.sampling(variant, max((ex.output for ex in todo), key=words))
            out += [Request(ex, self.conversation(ex, variant), params, tag=variant)
                    for ex in todo]
        return out

    def conversation(self, ex: Example, variant: str) -> list[dict[str, str]]:
        """The task (with the request it answers) as a system message, the output alone as the
        user's: no "Question: … Answer:" frame for a small model to echo."""
        prompt = self.prompts[variant]
        values = {"instruction": " ".join(ex.instruction.split()),
                  "max_words": self.cfg.brief_max_words}
        if "{output}" in prompt.text:  # a user's own template that places the output itself
            return [{"role": "user", "content": prompt.render(**values, output=ex.output)}]
        return messages(prompt.render(**values), [("user", ex.output)],
                        self.ctx.config.llm.system_prompt)

    def parse(self, request: Request, answers: list[str]) -> list[Candidate]:
        return [self.candidate(request.example, request.tag, answers[0] if answers else "",
                               request.sampling)]

    def check(self, variant: str, source: str, text: str) -> str | None:
        """Why a variant is unusable, or None."""
        if not text:
            return EMPTY
        if normalized(text) == normalized(source):
            return COPY
        if variant == "brief" and words(text) > self.cfg.brief_max_words:
            return reasons.too_long(words(text))
        if variant == "bulleted" and len(_BULLET.findall(text)) < 2:
            return reasons.NOT_BULLETED
        return None  # dropped or invented numbers, names, code: QC's lost/added_detail

    def candidate(self, ex: Example, variant: str, raw: str, params: Sampling) -> Candidate:
        text = clean_variant(raw, ex.output)
        reason = self.check(variant, ex.output, text)
        return Candidate(
            source_id=ex.id, method=NAME, index=VARIANTS.index(variant),
            row=ex.replaced(output=text), field="output", text=text, source_text=ex.output,
            params={"variant": variant, "template": self.prompts[variant].id,
                    "sampling": params.describe(), "brief_max_words": self.cfg.brief_max_words},
            model=self.llm.describe(), seed=self.ctx.seed, reason=reason,
            raw=raw if reason else None,
        )

    def details(self) -> dict[str, Any]:
        return {"model": self.llm.describe(),
                "templates": {v: p.id for v, p in self.prompts.items()},
                "llm": self.ctx.config.llm.model_dump(mode="json")}


def load_prompts(variants: Sequence[str], prompt_dir: Path | None) -> dict[str, Prompt]:
    """outputs_<variant>.txt, or <variant>.txt / outputs_<variant>.txt from `prompt_dir`."""
    prompts = {}
    for v in variants:
        override = None
        if prompt_dir is not None:
            for name in (f"{v}.txt", f"outputs_{v}.txt"):
                if (Path(prompt_dir) / name).is_file():
                    override = Path(prompt_dir) / name
                    break
        prompts[v] = load_prompt(f"outputs_{v}", override)
    return prompts


def create(ctx: Context) -> OutputsAugmenter:
    """The outputs augmenter; raises ModelError when the LLM is not installed."""
    llm = get_llm(ctx)
    return OutputsAugmenter(ctx, llm, load_prompts(ctx.config.outputs.variants,
                                                    ctx.config.outputs.prompt_dir))
