"""Instruction-format expansion: the same task as a question, a request, an imperative, a label.

The instruction is first classified (question, imperative, statement) and cut into slots; a
template is used only when every slot it names exists, so no "Can you how do I …?". Only a known
leading verb is lower-cased (never names or acronyms), and questions stay questions.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from local_augment.augmenters.base import Augmenter, Context, stable_rng_seed
from local_augment.data.records import Candidate, Example
from local_augment.errors import UserError
from local_augment.quality.lexical import trivial_copy

# Verbs that open an imperative instruction; only these are ever lower-cased.
IMPERATIVE_VERBS = frozenset(["add", "analyze", "analyse", "answer", "arrange", "assess", "build", "calculate", "categorize", "categorise", "change", "check", "choose", "classify", "combine", "compare", "compile", "compose", "compute", "condense", "construct", "convert", "correct", "count", "create", "debug", "decide", "define", "describe", "design", "detect", "determine", "develop", "diagnose", "draft", "edit", "estimate", "evaluate", "explain", "extract", "fill", "find", "fix", "format", "generate", "give", "group", "guess", "help", "identify", "illustrate", "improve", "interpret", "judge", "label", "list", "locate", "make", "name", "offer", "organize", "organise", "outline", "paraphrase", "pick", "plan", "predict", "prepare", "produce", "proofread", "propose", "provide", "rank", "rate", "read", "recommend", "reformat", "refactor", "remove", "rephrase", "replace", "reply", "respond", "restate", "review", "revise", "rewrite", "schedule", "select", "show", "simplify", "solve", "sort", "spell", "state", "suggest", "summarize", "summarise", "tell", "transform", "translate", "troubleshoot", "turn", "update", "use", "verify", "walk", "write"])

_QUESTION_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^how (?:do|can|should|could|would) (?:i|we|you|one) (.+)\?$", re.I), "how to {0}"),
    (re.compile(r"^how to (.+)\?$", re.I), "how to {0}"),
    (re.compile(r"^what (is|are|was|were) (.+)\?$", re.I), "what {1} {0}"),
    (re.compile(r"^who (is|are|was|were) (.+)\?$", re.I), "who {1} {0}"),
    (re.compile(r"^where (is|are) (.+)\?$", re.I), "where {1} {0}"),
    (re.compile(r"^why (?:is|are) (.+?) (\w+)\?$", re.I), ""),
    (re.compile(r"^(?:can|could) (?:i|we) (.+)\?$", re.I), "whether I can {0}"),
]
_SENTENCE_BREAK = re.compile(r"[.!?]\s+\S|\n")
FORMS = ("question", "request", "imperative", "label")
# Text whose inside a template must not touch: quotes, code, placeholders, a colon before
# material. Such instructions get only the forms that keep them whole ({text}).
_OPAQUE = re.compile(r"[\"“”`]|'[^'\s][^']*'|\{\{|:\s*\S")
# A second clause inside a question: "What is SCIM and do you support it?" has no single
# indirect form ("what SCIM is and whether you support it" needs a parse we do not have).
_COMPOUND = re.compile(
    r"(?:,|\b(?:and|or|but)\b)\s+(?:do|does|did|can|could|is|are|was|were|will|would|should|"
    r"have|has|how|what|why|where|when|which|who|if)\b", re.I)
# How a problem statement starts (a subject), as opposed to an imperative with a verb we do
# not list ("Switch me to annual billing."): only statements get "… What should I do?".
SUBJECT_STARTS = frozenset(["i", "i'm", "i've", "i'd", "my", "our", "we", "we're", "we've", "the", "this", "that", "these", "those", "it", "it's", "its", "your", "you", "someone", "somebody", "nobody", "everyone", "there", "they", "their", "his", "her", "he", "she", "a", "an", "one", "some", "all", "none", "every", "each", "after", "since", "when", "yesterday", "today", "lately", "recently"])


def _one_sentence(text: str) -> bool:
    return _SENTENCE_BREAK.search(text.strip().rstrip(".!?")) is None


def slots_for(text: str) -> dict[str, str]:
    """The template slots this instruction offers: only those its structure is understood for.

    Multi-sentence instructions, and those with quotes, code, placeholders or a colon before
    material, offer only {text} (the label forms keep them whole). A compound question offers
    {question} but no {indirect}; a sentence is a {statement} only when it starts with a
    subject, and a {task} only when it starts with a known imperative verb.
    """
    text = text.strip()
    slots = {"text": text}
    if not _one_sentence(text) or _OPAQUE.search(text):
        return slots
    if text[:1].islower():  # "how do i export…": the forms below start sentences and say "I"
        text = re.sub(r"\bi\b", "I", text[:1].upper() + text[1:])
    first, _, rest = text.partition(" ")
    if text.endswith("?"):
        slots["question"] = text[:1].upper() + text[1:]
        if _COMPOUND.search(text):
            return slots
        for pattern, form in _QUESTION_RULES:
            m = pattern.match(text)
            if m and form:
                groups = [g.strip() for g in m.groups()]
                slots["indirect"] = form.format(*groups)
                break
            if m:
                break
    elif first.lower().strip(string.punctuation) in IMPERATIVE_VERBS and not first.isupper() \
            and rest:
        core = text.rstrip(".!:").rstrip()
        slots["task"] = first.lower() + core[len(first):]
        slots["Task"] = first[:1].upper() + core[1:]
    elif text.endswith((".", "!")) and len(text.split()) >= 3 and \
            first.lower().strip(string.punctuation) in SUBJECT_STARTS:
        statement = text.rstrip(".!").rstrip()
        slots["statement"] = statement[:1].upper() + statement[1:]
    return slots


_SLOT = re.compile(r"\{(\w+)\}")


def render(template: str, slots: dict[str, str]) -> str | None:
    """Fill a template, or None when it names a slot this instruction lacks."""
    names = _SLOT.findall(template)
    if any(n not in slots for n in names):
        return None
    out = _SLOT.sub(lambda m: slots[m.group(1)], template)
    out = out.replace("??", "?").replace("?.", "?").replace("..", ".").replace("!.", "!")
    return out[:1].upper() + out[1:] if out[:1].islower() else out


def load_template_sets(path: Path | None) -> dict[str, list[str]]:
    """Built-in template sets, or a user's YAML file with the same form -> list shape."""
    if path is None:
        text = resources.files("local_augment.templates").joinpath("default.yaml").read_text("utf-8")
        source = "built-in templates"
    else:
        if not Path(path).is_file():
            raise UserError(f"{path}: templates file not found (templates.file)")
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: cannot parse: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{source}: must map forms ({', '.join(FORMS)}) to lists of templates")
    sets: dict[str, list[str]] = {}
    for form, templates in data.items():
        if form not in FORMS:
            raise UserError(f"{source}: unknown form {form!r}; forms: {', '.join(FORMS)}")
        if not isinstance(templates, list) or not all(isinstance(t, str) for t in templates):
            raise UserError(f"{source}: {form} must be a list of strings")
        sets[form] = templates
    return sets


class TemplateAugmenter(Augmenter):
    """Deterministic rewrites of the instruction into other forms; no model."""

    name = "templates"

    def __init__(self, ctx: Context) -> None:
        cfg = self.settings = ctx.config.templates
        self.seed = ctx.seed
        self.per_example = cfg.per_example
        self.forms = [f for f in cfg.forms]
        self.sets = load_template_sets(cfg.file)
        self.set_id = "builtin" if cfg.file is None else Path(cfg.file).name

    def details(self) -> dict[str, Any]:
        return {"sets": self.sets}

    def variants(self, example: Example) -> list[tuple[str, int, str]]:
        """(form, template number, text) for one example, at most `per_example`, seeded."""
        source = example.instruction.strip()
        slots = slots_for(source)
        rng = random.Random(stable_rng_seed(self.seed, "templates", example.id))
        options: dict[str, list[tuple[int, str]]] = {}
        for form in self.forms:
            rendered = []
            for k, template in enumerate(self.sets.get(form, [])):
                text = render(template, slots)
                # never a trivial copy ("Please explain X." for "Explain X.")
                if text and not trivial_copy(text, source):
                    rendered.append((k, text))
            if rendered:
                options[form] = rendered
        forms = list(options)
        rng.shuffle(forms)
        picked: list[tuple[str, int, str]] = []
        seen = {source}
        for form in forms:
            k, text = rng.choice(options[form])
            if text not in seen:
                seen.add(text)
                picked.append((form, k, text))
            if len(picked) == self.per_example:
                break
        return picked

    def generate(self, batch: Sequence[Example]) -> list[Candidate]:
        out = []
        for ex in batch:
            for i, (form, k, text) in enumerate(self.variants(ex)):
                out.append(Candidate(
                    source_id=ex.id, method=self.name, index=i,
                    row=ex.replaced(instruction=text), field="instruction", text=text,
                    source_text=ex.instruction,
                    params={"form": form, "template": f"{self.set_id}:{form}:{k}"},
                    seed=self.seed,
                ))
        return out


def create(ctx: Context) -> TemplateAugmenter:
    return TemplateAugmenter(ctx)
