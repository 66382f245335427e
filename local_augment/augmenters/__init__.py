"""One module per method; `build_augmenters` turns the configured method names into augmenters."""

from __future__ import annotations

import importlib
import logging

from local_augment.augmenters.base import Augmenter, Context
from local_augment.errors import ModelError
from local_augment.methods import METHODS, REGISTRY

log = logging.getLogger("local_augment.augmenters")

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
        module = importlib.import_module(REGISTRY[name].module)
        try:
            aug = module.create(ctx)
        except ModelError as exc:
            if explicit:
                raise
            notices.append(f"{name} skipped: {exc}")
            log.warning("%s skipped: %s", name, exc)
            continue
        if aug is not None:
            if aug.name != name:
                raise TypeError(f"{REGISTRY[name].module}.create made {aug.name!r}, not {name!r}")
            built.append(aug)
        else:
            notices.append(f"{name} skipped: nothing to do with this config")
    return built, notices
