"""LLM variants of each output: a brief one (at most N words) and a bulleted one.

The instruction stays as it is. Only outputs that can take a variant are asked for one: a brief
one needs `brief_min_words` of prose (code blocks are kept whole, not shortened), a bulleted one
`bulleted_min_sentences` sentences of prose, no list already, and a request that does not ask
for the prose itself (an e-mail, a paragraph, a text rewritten: a list of it answers something
else). A brief variant is asked for in
at most `brief_share` of its source's words (and `brief_max_words`) and rejected here with
`too_long:<n>` above that; a "bulleted" one without a list with `not_bulleted`. A bulleted one is
asked for one bullet per sentence in the source's own words (a format variant), and of several
samples that quality control's model-free checks pass, the one closest to that is chosen
(`gain`); QC rejects a list that restates its source (`not_its_kind:restated`). A variant that
drops or invents a number, a code span or a name is QC's (`lost_detail`/`added_detail`,
quality/lexical/), as for every method.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from local_augment.augmenters.base import Context, sampled
from local_augment.augmenters.llm_base import LLMAugmenter, Request, messages
from local_augment.data.records import Candidate, Example
from local_augment.engines.llm import LLMEngine, Sampling, get_llm
from local_augment.engines.llm.prompting import (
    Prompt,
    choose,
    cut_loop,
    load_prompt,
    normalized,
    strip_opener,
)
from local_augment.quality import lexical, reasons

log = logging.getLogger("local_augment.outputs")

NAME = "outputs"
VARIANTS = ("brief", "bulleted")  # index of a variant's Candidate = its position here
EMPTY, COPY = reasons.EMPTY_OUTPUT, reasons.COPY_OF_SOURCE

_PREAMBLE = re.compile(r"^(?:sure|here|certainly|of course|okay|ok)\b[^\n]*:\s*\n", re.I)
_FENCED = re.compile(r"```.*?(?:```|$)", re.S)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?;])[\"”'’)]*\s+|\n\s*\n")
# a piece of prose the request asks to be written or edited: the output is the deliverable itself
_PROSE = (r"(?:e-?mail|letter|reply|message|note|bio|biography|paragraph|post|tweet|caption|"
          r"announcement|essay|story|poem|speech|blurb|tagline|slogan|invitation|summary|"
          r"description|response)")
_WRITE_PROSE = re.compile(
    r"(?<!how to )(?<!how do i )(?<!how can i )(?<!how should i )\b(?:re-?write|reword|rephrase|"
    r"paraphrase|proofread|polish|translate|(?:write|draft|compose)\s+(?:[\w'-]+\s+){0,4}?"
    + _PROSE + r")\b", re.I)
_INTO_PROSE = re.compile(r"\b(?:turn|expand|make|convert|combine)\b[^.?!\n]{0,60}?\binto\s+"
                         r"(?:an?\s+)?(?:[\w'-]+\s+){0,2}?" + _PROSE + r"\b", re.I)
_GREETING = re.compile(r"\A\s*(?:subject:[^\n]*\n\s*)?(?:hi|hello|dear|hey)\b[^\n]{0,40}\n", re.I)
_SIGN_OFF = re.compile(r"\n\s*(?:best|kind|warm)?\s*(?:regards|wishes|thanks|cheers|sincerely)"
                       r"[^\n]{0,20}\n[^\n]{1,40}\s*\Z", re.I)


def words(text: str) -> int:
    return len(text.split())


def prose(text: str) -> str:
    """The text without its fenced code blocks."""
    return _FENCED.sub(" ", text or "")


def sentences(text: str) -> int:
    """Sentences (or ;-separated clauses, or paragraphs) of the text's prose."""
    return sum(1 for part in _SENTENCE_BREAK.split(prose(text)) if part.strip())


def deliverable_prose(instruction: str, output: str) -> bool:
    """Whether the output is a piece of prose the request asks for as such: an e-mail, a reply,
    a bio, a paragraph, or given text rewritten, proofread or translated. A bulleted version of
    it no longer answers the request (read on Qwen's kept bulleted variants: 8 of 22 bad ones)."""
    return bool(_WRITE_PROSE.search(instruction) or _INTO_PROSE.search(instruction)
                or _GREETING.search(output) or _SIGN_OFF.search(output))


def brief_budget(output: str, max_words: int, share: float) -> int:
    """The most words a brief variant of `output` may have: `share` of its prose, at most
    `max_words`, plus the words of its code blocks (kept whole)."""
    code = words(output) - words(prose(output))
    return min(max_words, int(share * words(prose(output)))) + code


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
        budget = 2 * self.budget(output) + 32 if variant == "brief" else 2 * words(output) + 64
        return Sampling.from_config(cfg, n=self.cfg.samples, max_tokens=min(cfg.max_tokens, budget),
                                    temperature=self.cfg.temperature)

    def budget(self, output: str) -> int:
        """The most words a brief variant of `output` may have."""
        return brief_budget(output, self.cfg.brief_max_words, self.cfg.brief_share)

    def fits(self, variant: str, ex: Example) -> bool:
        """Whether the example's output can take the variant: enough prose to shorten for a
        brief one; several sentences, no list already, and no piece of prose the request asks
        for as such (`deliverable_prose`) for a bulleted one."""
        output = ex.output
        if variant == "brief":
            return words(prose(output)) >= self.cfg.brief_min_words
        return (sentences(output) >= self.cfg.bulleted_min_sentences
                and lexical.bullet_count(output) < 2
                and not deliverable_prose(ex.instruction, output))

    def requests(self, batch: Sequence[Example]) -> list[Request]:
        todo = [ex for ex in batch if words(ex.output) >= self.cfg.min_output_words
                and sampled(self.ctx.seed, self.name, ex.id, self.cfg.sample)]
        out: list[Request] = []
        for variant in self.cfg.variants:  # one sampling setting (token budget) per variant
            fit = [ex for ex in todo if self.fits(variant, ex)]
            if not fit:
                continue
            params = self.sampling(variant, max((ex.output for ex in fit), key=words))
            out += [Request(ex, self.conversation(ex, variant), params, tag=variant)
                    for ex in fit]
        return out

    def conversation(self, ex: Example, variant: str) -> list[dict[str, str]]:
        """The task (with the request it answers) as a system message, the output alone as the
        user's: no "Question: … Answer:" frame for a small model to echo."""
        prompt = self.prompts[variant]
        values = {"instruction": " ".join(ex.instruction.split()),
                  "max_words": self.budget(ex.output)}
        if "{output}" in prompt.text:  # a user's own template that places the output itself
            return [{"role": "user", "content": prompt.render(**values, output=ex.output)}]
        return messages(prompt.render(**values), [("user", ex.output)],
                        self.ctx.config.llm.system_prompt)

    def parse(self, request: Request, answers: list[str]) -> list[Candidate]:
        ex, variant = request.example, request.tag
        pick = choose(answers, lambda raw: self.flaw(variant, ex, clean_variant(raw, ex.output)),
                      self.gain(variant, ex.output))
        chosen = f"{pick + 1}/{len(answers)}" if len(answers) > 1 else None
        return [self.candidate(ex, variant, answers[pick] if answers else "", request.sampling,
                               chosen)]

    def gain(self, variant: str, source: str) -> Callable[[str], tuple[int, int]] | None:
        """How to rank a bulleted variant's flawless samples: the one closest to a list of its
        source's own statements (fewest content words new or lost, `lexical.list_drift`), then
        the one that breaks fewest of its sentences into pieces (fewest bullets); a brief one's:
        the first."""
        if variant != "bulleted":
            return None

        def closeness(raw: str) -> tuple[int, int]:
            text = clean_variant(raw, source)
            return -sum(lexical.list_drift(text, source)), -lexical.bullet_count(text)
        return closeness

    def flaw(self, variant: str, ex: Example, text: str) -> str | None:
        """Why a variant is not worth a candidate when another sample may be: the variant's
        own check, or any reason quality control's model-free checks give it (not its kind, a
        list item that is a piece of a sentence, a fact lost or invented…), with this method's
        settings."""
        from local_augment.quality.checks import lexical_reason
        from local_augment.quality.pair import Pair

        if why := self.check(variant, ex.output, text):
            return why
        pair = Pair(NAME, "output", text, ex.output, instruction=ex.instruction,
                    output=ex.output, kind=variant, generated=True)
        return lexical_reason(pair, self.ctx.config.qc.checks(NAME))

    def check(self, variant: str, source: str, text: str) -> str | None:
        """Why a variant is unusable, or None."""
        if not text:
            return EMPTY
        if normalized(text) == normalized(source):
            return COPY
        if variant == "brief" and words(text) > self.budget(source):
            return reasons.too_long(words(text))
        if variant == "bulleted" and lexical.bullet_count(text) < 2:
            return reasons.NOT_BULLETED
        return None  # dropped or invented numbers, names, code: QC's lost/added_detail

    def candidate(self, ex: Example, variant: str, raw: str, params: Sampling,
                  chosen: str | None = None) -> Candidate:
        text = clean_variant(raw, ex.output)
        reason = self.check(variant, ex.output, text)
        extra = {"chosen": chosen} if chosen else {}
        return Candidate(
            source_id=ex.id, method=NAME, index=VARIANTS.index(variant),
            row=ex.replaced(output=text), field="output", text=text, source_text=ex.output,
            params={"variant": variant, "template": self.prompts[variant].id,
                    "sampling": params.describe(), "brief_max_words": self.budget(ex.output),
                    **extra},
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
