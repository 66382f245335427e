"""What a run hands to the code that builds engines and augmenters: the config, the model store,
the run seed, the engines built so far and the model-output cache."""

from __future__ import annotations

from dataclasses import dataclass, field

from local_augment.config import Config
from local_augment.engines.base import EnginePool
from local_augment.engines.cache import ModelCache
from local_augment.engines.manifest import Manifest


@dataclass
class Context:
    """What an augmenter (and the QC chain) may use: the config, the model store, the run seed,
    shared engines.

    `engines` holds engines used by several methods (one LLM for paraphrase, outputs, refusals
    and the judge), built on first use and unloaded by the pipeline at the end of the run.
    `cache` holds model outputs by (model checksum, params, text): engines call `cache.map`.
    """

    config: Config
    manifest: Manifest
    seed: int
    engines: EnginePool = field(default_factory=EnginePool)
    cache: ModelCache = field(default_factory=lambda: ModelCache(None))
