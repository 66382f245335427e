"""One module per method; `build_augmenters` turns the configured method names into augmenters."""

from __future__ import annotations

import importlib
import logging

from local_augment.augmenters.base import Augmenter, Context
from local_augment.config import METHODS
from local_augment.errors import ModelError

log = logging.getLogger("local_augment.augmenters")

# method name -> module exposing `create(ctx: Context) -> Augmenter` (raises ModelError when a
# model it needs is not installed)
MODULES = {
    "templates": "local_augment.augmenters.templates",
    "refusals": "local_augment.augmenters.refusals",
    "backtranslation": "local_augment.augmenters.backtranslation",
    "paraphrase": "local_augment.augmenters.paraphrase",
    "outputs": "local_augment.augmenters.outputs",
}


def build_augmenters(
    ctx: Context, methods: list[str], *, explicit: bool
) -> tuple[list[Augmenter], list[str]]:
    """The augmenters for `methods`, in canonical order, and notices for the ones skipped.

    A method whose models are missing is an error when the user named it (`explicit`), and a
    visible notice otherwise, so the default config runs on whatever is installed.
    """
    built: list[Augmenter] = []
    notices: list[str] = []
    for name in METHODS:
        if name not in methods:
            continue
        module = importlib.import_module(MODULES[name])
        try:
            aug = module.create(ctx)
        except ModelError as exc:
            if explicit:
                raise
            notices.append(f"{name} skipped: {exc}")
            log.warning("%s skipped: %s", name, exc)
            continue
        if aug is not None:
            built.append(aug)
        else:
            notices.append(f"{name} skipped: nothing to do with this config")
    return built, notices
