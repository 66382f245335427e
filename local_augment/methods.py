"""The one list of augmentation methods: name, module, config section and what each needs.

Everything that enumerates methods reads this: the config schema (`methods`, `qc.methods`, the
method's own section), the CLI's choices, the augmenter factory, both executors (which methods
make standalone rows, which use an LLM) and the report's diagnosis; a test checks the README's
table against it. Adding a method is its module (a subclass of `augmenters.base.Augmenter` or
`augmenters.llm_base.LLMAugmenter` whose `name` is the entry's, its settings model, and a
`create(ctx)`) plus one `Method` entry here (or a `register` call); see tests/test_registry.py.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any


@dataclass(frozen=True)
class Method:
    name: str
    module: str  # exposes `create(ctx) -> Augmenter | None` (ModelError: models missing)
    section: str  # its config section (Config.<section>)
    uses_llm: bool = False  # calls the run's shared LLM (its own models: `Augmenter.models()`)
    standalone: bool = False  # makes rows with no source example, once per run, on the driver
    summary: str = ""
    # its config section's pydantic model: the class, or "module:Class" (imported when the config
    # is first built, so the registry stays below the config layer). Built-ins and plugins
    # declare it the same way; the config builds `Config.<section>` from it (None: no settings)
    settings: Any = None
    # the method's own defaults for QC check settings (config/checks.py CHECK_FIELDS); the user's
    # `qc.methods.<name>` overrides them
    qc: dict[str, Any] = field(default_factory=dict)
    # what the report suggests when the method keeps almost nothing (quality/diagnosis.py), by
    # the main reason: "near_copy" (a trivial copy or too few new words) or "*" (any other);
    # methods that use the LLM get the advice to use a bigger one
    hints: dict[str, str] = field(default_factory=dict)

    def settings_model(self) -> type | None:
        """The section's pydantic model (a "module:Class" reference imported once)."""
        return _resolved(self.settings) if isinstance(self.settings, str) else self.settings


@cache
def _resolved(ref: str) -> type:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


SECTIONS = "local_augment.config.sections:"  # where the built-in methods' settings live

REGISTRY: dict[str, Method] = {m.name: m for m in (
    # deterministic wrappers: trivial_copy replaces the upper cosine bound; labels are the form;
    # meaning 0.75: a wrapper keeps the whole source, its own words lower alignment precision
    Method("templates", "local_augment.augmenters.templates", "templates",
           settings=SECTIONS + "TemplatesConfig",
           summary="the instruction as a question, a request, an imperative or a label",
           hints={"*": "the instructions' structure is rarely understood; see the rejects and "
                       "templates.forms"},
           qc={"similarity_max": 1.0, "artifact_labels": False, "meaning_min": 0.75}),
    # a refusal row is new (request and reply); only its request's form is checked
    Method("refusals", "local_augment.augmenters.refusals", "refusals",
           settings=SECTIONS + "RefusalsConfig", standalone=True,
           summary="refusal rows for supplied harmful edge cases",
           qc={"similarity_min": -1.0, "similarity_max": 1.0, "length_ratio_min": 1e-6,
               "length_ratio_max": 1e6, "artifact_labels": False, "answered": False,
               "lost_detail": False, "added_detail": False, "negation": False,
               "perspective": False, "trivial_copy": False, "fluency": False, "meaning": False,
               "fit": False, "survivor_precision_min": 0.0}),
    Method("backtranslation", "local_augment.augmenters.backtranslation", "backtranslation",
           settings=SECTIONS + "BacktranslationConfig",
           summary="instruction -> pivot language(s) -> English",
           hints={"near_copy": "the translators give back the source; try "
                               "backtranslation.decoding: sample, or more pivots",
                  "*": "check the opus-mt models (`local-augment models list`)"}),
    Method("paraphrase", "local_augment.augmenters.paraphrase", "paraphrase",
           settings=SECTIONS + "ParaphraseConfig", uses_llm=True,
           summary="n paraphrases per instruction"),
    # a brief answer drops words by design: alignment recall falls, so meaning is looser
    Method("outputs", "local_augment.augmenters.outputs", "outputs",
           settings=SECTIONS + "OutputsConfig", uses_llm=True,
           summary="a brief and a bulleted version of each output",
           qc={"similarity_min": 0.6, "similarity_max": 0.98, "length_ratio_min": 0.05,
               "artifact_numbering": False, "answered": False, "fit": False,
               "meaning_min": 0.75}),
)}

# Views of the registry, kept in step by `register`/`unregister` (updated in place, so modules
# that imported them, and the CLI's choices, see a method registered later).
METHODS: list[str] = []
LLM_METHODS: list[str] = []
STANDALONE_METHODS: set[str] = set()


def _derive() -> None:
    METHODS[:] = list(REGISTRY)
    LLM_METHODS[:] = [m.name for m in REGISTRY.values() if m.uses_llm]
    STANDALONE_METHODS.clear()
    STANDALONE_METHODS.update(m.name for m in REGISTRY.values() if m.standalone)


def register(method: Method) -> Method:
    """Add a method (a plugin, or a test's throwaway one); its name must be new."""
    if method.name in REGISTRY:
        raise ValueError(f"method {method.name!r} is already registered")
    REGISTRY[method.name] = method
    _derive()
    return method


def unregister(name: str) -> None:
    REGISTRY.pop(name, None)
    _derive()


_derive()
