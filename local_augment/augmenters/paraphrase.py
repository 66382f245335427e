"""LLM paraphrases of each instruction: `n` rewrites asked as one JSON list per instruction.

The answer is constrained by a JSON schema when the engine supports it, and parsed tolerantly
(JSON, numbered lines, quoted strings) because weak models break the format anyway. Copies of the
source, empty items and unparseable answers become rejected Candidates with a reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from local_augment.augmenters.base import Context, sampled
from local_augment.augmenters.llm_base import LLMAugmenter, Request
from local_augment.augmenters.prompting import Prompt, load_prompt, normalized, parse_list
from local_augment.engines.llm import LLMEngine, Sampling, get_llm
from local_augment.records import Candidate, Example

log = logging.getLogger("local_augment.paraphrase")

NAME = "paraphrase"
COPY = "copy_of_source"
EMPTY = "empty_output"
UNPARSEABLE = "unparseable_llm_output"


def list_schema(n: int) -> dict[str, Any]:
    """A JSON list of exactly `n` non-empty strings."""
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": n,
        "maxItems": n,
    }


def tokens_for(text: str, n: int) -> int:
    """Output budget for `n` rewrites of `text`: generous, so lists are rarely cut short."""
    return 32 + n * (len(text) // 3 + 24)


class ParaphraseAugmenter(LLMAugmenter):
    """`n` paraphrases per instruction from one LLM call over the whole batch."""

    name = NAME

    def __init__(self, ctx: Context, llm: LLMEngine, prompt: Prompt) -> None:
        self.ctx = ctx
        self.settings = ctx.config.paraphrase
        self.llm = llm
        self.prompt = prompt
        self.n = ctx.config.paraphrase.n

    def sampling(self, batch: Sequence[Example]) -> Sampling:
        longest = max((len(ex.instruction) for ex in batch), default=0)
        cfg = self.ctx.config.llm
        budget = min(cfg.max_tokens, tokens_for("x" * longest, self.n))
        return Sampling.from_config(cfg, n=1, json_schema=list_schema(self.n), max_tokens=budget)

    def conversation(self, example: Example) -> list[dict]:
        text = self.prompt.render(instruction=example.instruction, n=self.n)
        return [{"role": "user", "content": text}]

    def requests(self, batch: Sequence[Example]) -> list[Request]:
        share = self.ctx.config.paraphrase.sample
        todo = [ex for ex in batch if ex.instruction.strip()
                and sampled(self.ctx.seed, self.name, ex.id, share)]
        if not todo:
            return []
        params = self.sampling(todo)
        return [Request(ex, self.conversation(ex), params) for ex in todo]

    def parse(self, request: Request, answers: list[str]) -> list[Candidate]:
        meta = self.provenance(request.sampling)
        out: list[Candidate] = []
        for s, raw in enumerate(answers):
            out += self.candidates(request.example, raw, base=s * self.n, meta=meta)
        return out

    def provenance(self, params: Sampling) -> dict[str, Any]:
        return {"params": {"template": self.prompt.id, "n": self.n, "sampling": params.describe()},
                "model": self.llm.describe(), "seed": self.ctx.seed}

    def candidates(
        self, ex: Example, raw: str, *, base: int, meta: dict[str, Any]
    ) -> list[Candidate]:
        """The Candidates of one answer; never raises, whatever the answer is."""
        def make(index: int, text: str, reason: str | None, keep_raw: bool = False) -> Candidate:
            return Candidate(
                source_id=ex.id, method=NAME, index=index,
                row=ex.replaced(instruction=text), field="instruction", text=text,
                source_text=ex.instruction, params=meta["params"], model=meta["model"],
                seed=meta["seed"], reason=reason, raw=raw if keep_raw else None,
            )

        if not (raw or "").strip():
            return [make(base, "", EMPTY, keep_raw=True)]
        items = parse_list(raw)
        if items is None:
            return [make(base, raw.strip(), UNPARSEABLE, keep_raw=True)]
        if not items:
            return [make(base, "", EMPTY, keep_raw=True)]
        source = normalized(ex.instruction)
        out = []
        for j, item in enumerate(items[: self.n]):
            reason = EMPTY if not item else COPY if normalized(item) == source else None
            out.append(make(base + j, item, reason, keep_raw=reason is not None))
        return out

    def details(self) -> dict[str, Any]:
        return {"template": self.prompt.id, "model": self.llm.describe(),
                "sampling": self.sampling([]).describe()}


def create(ctx: Context) -> ParaphraseAugmenter:
    """The paraphrase augmenter; raises ModelError when the LLM is not installed."""
    llm = get_llm(ctx)
    prompt = load_prompt("paraphrase", ctx.config.paraphrase.prompt)
    return ParaphraseAugmenter(ctx, llm, prompt)
