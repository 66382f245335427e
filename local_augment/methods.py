"""The one list of augmentation methods: name, module, config section and what each needs.

Everything that enumerates methods reads this: the config schema (`methods`, `qc.methods`), the
CLI's choices, the augmenter factory, both executors (which methods make standalone rows, which
use an LLM) and the report's diagnosis; a test checks the README's table against it. Adding a
method is one entry here plus its module (a subclass of `augmenters.base.Augmenter` whose `name`
is the entry's, and a `create(ctx)`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    name: str
    module: str  # exposes `create(ctx) -> Augmenter | None` (ModelError: models missing)
    section: str  # its config section (Config.<section>)
    uses_llm: bool = False
    uses_translator: bool = False
    standalone: bool = False  # makes rows with no source example, once per run, on the driver
    summary: str = ""


REGISTRY: dict[str, Method] = {m.name: m for m in (
    Method("templates", "local_augment.augmenters.templates", "templates",
           summary="the instruction as a question, a request, an imperative or a label"),
    Method("refusals", "local_augment.augmenters.refusals", "refusals", standalone=True,
           summary="refusal rows for supplied harmful edge cases"),
    Method("backtranslation", "local_augment.augmenters.backtranslation", "backtranslation",
           uses_translator=True, summary="instruction -> pivot language(s) -> English"),
    Method("paraphrase", "local_augment.augmenters.paraphrase", "paraphrase", uses_llm=True,
           summary="n paraphrases per instruction"),
    Method("outputs", "local_augment.augmenters.outputs", "outputs", uses_llm=True,
           summary="a brief and a bulleted version of each output"),
)}

METHODS: tuple[str, ...] = tuple(REGISTRY)
LLM_METHODS: tuple[str, ...] = tuple(m.name for m in REGISTRY.values() if m.uses_llm)
STANDALONE_METHODS: frozenset[str] = frozenset(m.name for m in REGISTRY.values() if m.standalone)
