"""A throwaway method that exists only to show what adding a method takes: this one module.

It registers itself, brings its own settings section, and prefixes each instruction with a fixed
phrase. tests/test_registry.py imports it and runs it through the config, the CLI and a run.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from local_augment.augmenters.base import Augmenter, Context
from local_augment.config import Section
from local_augment.data.records import Candidate, Example
from local_augment.methods import Method, register

NAME = "prefix"


class PrefixConfig(Section):
    phrase: str = Field("Quick question:", description="put before each instruction")


METHOD = register(Method(NAME, __name__, "prefix", settings=PrefixConfig,
                         summary="a fixed phrase before the instruction"))


class PrefixAugmenter(Augmenter):
    name = NAME

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.settings = getattr(ctx.config, METHOD.section)

    def generate(self, batch: Sequence[Example]) -> list[Candidate]:
        out = []
        for ex in batch:
            text = f"{self.settings.phrase} {ex.instruction[:1].lower()}{ex.instruction[1:]}"
            out.append(Candidate(source_id=ex.id, method=NAME, index=0,
                                 row=ex.replaced(instruction=text), field="instruction",
                                 text=text, source_text=ex.instruction,
                                 params={"phrase": self.settings.phrase}, seed=self.ctx.seed))
        return out


def create(ctx: Context) -> PrefixAugmenter:
    return PrefixAugmenter(ctx)
