"""LLM paraphrases of each instruction, in one of two styles (`paraphrase.style`).

`single` (default): `n` requests per instruction, each asking for one rewrite along its own axis
(more formal, casual, in plainer words, as a question…), after few-shot demonstrations written by
the team, with the task as a system message; with `samples` > 1, of the answers that are no copy
and pass quality control's model-free checks, the one with the most new content words is kept.
`list`: one request per instruction asking for a JSON list of `n` rewrites (schema-constrained
when the engine supports it). Answers are parsed tolerantly: a leading label ("Rewritten instruction:") or
quotes the model adds are stripped; copies of the source, empty and unparseable answers become
rejected Candidates with a reason.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local_augment.augmenters.base import Context, sampled, stable_rng_seed
from local_augment.augmenters.llm_base import LLMAugmenter, Request, messages
from local_augment.data.records import Candidate, Example
from local_augment.engines.llm import LLMEngine, Sampling, get_llm
from local_augment.engines.llm.prompting import (
    PROMPTS_DIR,
    Prompt,
    choose,
    clean_item,
    content_id,
    cut_loop,
    load_prompt,
    normalized,
    parse_list,
    strip_opener,
)
from local_augment.quality import reasons

log = logging.getLogger("local_augment.paraphrase")

NAME = "paraphrase"
COPY, EMPTY, UNPARSEABLE = reasons.COPY_OF_SOURCE, reasons.EMPTY_OUTPUT, reasons.UNPARSEABLE


def list_schema(n: int) -> dict[str, Any]:
    """A JSON list of exactly `n` non-empty strings."""
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": n,
        "maxItems": n,
    }


# "Rewritten instruction:", "Here is the rewrite:", "Sure! Here it is:", "Style: …" on its own
_LABEL = re.compile(
    r"^\s*(?:(?:sure|okay|ok|certainly|of course)[!,.]?\s*)?"
    r"(?:(?:here(?:'s| is| are)?[^:\n]{0,40}|(?:the\s+)?(?:re\s*written|rewrite|rewritten|new|"
    r"paraphrased?|reworded|revised)[^:\n]{0,30}|instruction|style|version|answer|output)"
    r"\s*(?:\d+\s*)?:)\s*", re.I)


_STYLE_LINE = re.compile(r"^\s*style\s*:", re.I)


def one_rewrite(text: str, source: str = "") -> str:
    """The rewrite in a single-style answer: its first line with content, without a leading
    label ("Rewritten instruction:", "Style: …"), an opener ("Sure! …") the source does not
    have, the quotes the model put around it, or a sentence repeated in a loop."""
    lines = [ln.strip() for ln in (text or "").strip().splitlines() if ln.strip()]
    while lines:
        line = lines.pop(0)
        if _STYLE_LINE.match(line):  # the demonstrations' "Style: …" line echoed
            continue
        line = cut_loop(strip_opener(clean_item(_LABEL.sub("", line, count=1)), source))
        if line:
            return clean_item(line)
    return ""


def load_demos(path: Path | None = None) -> list[dict[str, str]]:
    """The few-shot demonstrations: instruction, axis, rewrite."""
    path = path or PROMPTS_DIR / "paraphrase_demos.json"
    return json.loads(path.read_text(encoding="utf-8"))


def tokens_for(text: str, n: int) -> int:
    """Output budget for `n` rewrites of `text`: generous, so lists are rarely cut short."""
    return 32 + n * (len(text) // 3 + 24)


class ParaphraseAugmenter(LLMAugmenter):
    """`n` paraphrases per instruction, one LLM call per sampling setting over the whole batch."""

    name = NAME

    def __init__(self, ctx: Context, llm: LLMEngine, prompt: Prompt,
                 demos: list[dict[str, str]] | None = None) -> None:
        self.ctx = ctx
        self.settings = self.cfg = ctx.config.paraphrase
        self.llm = llm
        self.prompt = prompt
        self.demos = demos if demos is not None else load_demos()
        self.n = self.cfg.n

    def sampling(self, batch: Sequence[Example]) -> Sampling:
        longest = max((len(ex.instruction) for ex in batch), default=0)
        cfg = self.ctx.config.llm
        if self.cfg.style == "single":
            budget = min(cfg.max_tokens, tokens_for("x" * longest, 1))
            return Sampling.from_config(cfg, n=self.cfg.samples, max_tokens=budget,
                                        temperature=self.cfg.temperature)
        budget = min(cfg.max_tokens, tokens_for("x" * longest, self.n))
        return Sampling.from_config(cfg, n=1, json_schema=list_schema(self.n), max_tokens=budget,
                                    temperature=self.cfg.temperature)

    def axis(self, example: Example, k: int) -> str:
        """The k-th rewrite direction of an example (a seeded rotation: sources differ)."""
        axes = self.cfg.axes
        start = stable_rng_seed(self.ctx.seed, NAME, example.id) % len(axes)
        return axes[(start + k) % len(axes)]

    def conversation(self, example: Example, axis: str = "") -> list[dict]:
        system_prompt = self.ctx.config.llm.system_prompt
        if self.cfg.style == "list":
            text = self.prompt.render(instruction=example.instruction, n=self.n)
            return [{"role": "user", "content": text}]
        turns: list[tuple[str, str]] = []
        for demo in self.pick_demos(example, axis):
            turns += [("user", f"Style: {demo['axis']}\n\n{demo['instruction']}"),
                      ("assistant", demo["rewrite"])]
        turns.append(("user", f"Style: {axis}\n\n{example.instruction}"))
        return messages(self.prompt.text, turns, system_prompt)

    def pick_demos(self, example: Example, axis: str) -> list[dict[str, str]]:
        """`demos` demonstrations: the one on `axis` first, then others chosen by a seeded hash."""
        if not self.cfg.demos or not self.demos:
            return []
        same = [d for d in self.demos if d["axis"] == axis]
        rest = [d for d in self.demos if d["axis"] != axis]
        start = stable_rng_seed(self.ctx.seed, "demos", example.id) % max(1, len(rest))
        rest = rest[start:] + rest[:start]
        return (same[:1] + rest)[: self.cfg.demos][::-1]  # the closest demo nearest the request

    def requests(self, batch: Sequence[Example]) -> list[Request]:
        todo = [ex for ex in batch if ex.instruction.strip()
                and sampled(self.ctx.seed, self.name, ex.id, self.cfg.sample)]
        if not todo:
            return []
        params = self.sampling(todo)
        if self.cfg.style == "list":
            return [Request(ex, self.conversation(ex), params) for ex in todo]
        return [Request(ex, self.conversation(ex, self.axis(ex, k)), params,
                        tag=f"{k}:{self.axis(ex, k)}")
                for ex in todo for k in range(self.n)]

    def parse(self, request: Request, answers: list[str]) -> list[Candidate]:
        meta = self.provenance(request.sampling)
        if self.cfg.style == "single":
            k, _, axis = request.tag.partition(":")
            ex = request.example
            if len(answers) > 1:  # several samples: the most reworded one worth a candidate
                from local_augment.quality.lexical import new_content_words

                src = ex.instruction
                texts = [one_rewrite(raw, src) for raw in answers]
                pick = choose(texts, lambda t: self.flaw(t, ex),
                              lambda t: new_content_words(t, src))
                meta["params"] = {**meta["params"], "chosen": f"{pick + 1}/{len(answers)}"}
                answers = [answers[pick]]
            return [self.single(ex, raw, index=int(k) + s * self.n, axis=axis,
                                meta=meta) for s, raw in enumerate(answers)]
        out: list[Candidate] = []
        for s, raw in enumerate(answers):
            out += self.candidates(request.example, raw, base=s * self.n, meta=meta)
        return out

    def single(self, ex: Example, raw: str, *, index: int, axis: str,
               meta: dict[str, Any]) -> Candidate:
        """The Candidate of one single-style answer; never raises."""
        text = one_rewrite(raw, ex.instruction)
        params = {**meta["params"], "axis": axis}
        reason = EMPTY if not text else COPY if normalized(text) == normalized(
            ex.instruction) else None
        return Candidate(
            source_id=ex.id, method=NAME, index=index, row=ex.replaced(instruction=text),
            field="instruction", text=text, source_text=ex.instruction, params=params,
            model=meta["model"], seed=meta["seed"], reason=reason,
            raw=raw if reason is not None or text != (raw or "").strip() else None)

    def flaw(self, text: str, ex: Example) -> str | None:
        """Why a rewrite is not worth a candidate when another sample may be: empty, a copy, or
        any reason quality control's model-free checks give it (a detail lost, a negation
        flipped, the asker's doing made the addressee's…), with this method's settings."""
        from local_augment.quality.checks import lexical_reason
        from local_augment.quality.pair import Pair

        if not text:
            return EMPTY
        if normalized(text) == normalized(ex.instruction):
            return COPY
        pair = Pair(NAME, "instruction", text, ex.instruction, instruction=ex.instruction,
                    output=ex.output, generated=True)
        return lexical_reason(pair, self.ctx.config.qc.checks(NAME))

    def provenance(self, params: Sampling) -> dict[str, Any]:
        return {"params": {"template": self.prompt.id, "style": self.cfg.style, "n": self.n,
                           "sampling": params.describe()},
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
        demos = json.dumps(self.demos, sort_keys=True)
        return {"template": self.prompt.id, "model": self.llm.describe(),
                "sampling": self.sampling([]).describe(), "demos": content_id(demos),
                "system_prompt": self.ctx.config.llm.system_prompt}


def create(ctx: Context) -> ParaphraseAugmenter:
    """The paraphrase augmenter; raises ModelError when the LLM is not installed."""
    llm = get_llm(ctx)
    cfg = ctx.config.paraphrase
    name = "paraphrase" if cfg.style == "list" else "paraphrase_single"
    return ParaphraseAugmenter(ctx, llm, load_prompt(name, cfg.prompt))
