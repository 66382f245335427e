"""The LLM behind paraphrase, outputs, refusals and the judge: vLLM in-process, or a server.

Both engines share one interface (`base.LLMEngine`): `chat(conversations, params)` returns `n`
answers per conversation in the order given. The in-process engine hands vLLM whole chunks of
conversations per `LLM.chat` call; the server engine keeps many requests in flight.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from local_augment.config import LLMConfig
from local_augment.engines.context import Context
from local_augment.engines.llm.base import TOP_LOGPROBS, LLMEngine, Sampling, yes_share
from local_augment.engines.llm.cached import CachedLLM
from local_augment.engines.manifest import Manifest
from local_augment.errors import ModelError

__all__ = ["TOP_LOGPROBS", "CachedLLM", "LLMEngine", "Sampling", "create_engine", "get_llm",
           "model_info", "yes_share"]


def model_info(manifest: Manifest, cfg: LLMConfig, *, require: bool) -> tuple[dict, Path | None]:
    """Provenance info (name, checksum) and the local folder of the configured model.

    In-process mode needs the model installed (`require`); server mode only uses the manifest
    for the checksum when it knows the model.
    """
    if require:
        spec, path = manifest.require(cfg.model, "llm")
        return manifest.describe(spec), path
    spec = manifest.models.get(cfg.model)
    if spec is not None and manifest.expected_files(spec):
        return manifest.describe(spec), None
    return {"name": cfg.served_model or cfg.model}, None


def create_engine(cfg: LLMConfig, manifest: Manifest, seed: int = 0) -> LLMEngine:
    """The engine the config names, not loaded yet (a missing model raises ModelError now)."""
    if cfg.engine == "server":
        from local_augment.engines.llm.server import ServerEngine

        info, _ = model_info(manifest, cfg, require=False)
        return ServerEngine(cfg, info, seed)
    info, path = model_info(manifest, cfg, require=True)
    if importlib.util.find_spec("vllm") is None:
        raise ModelError(
            "vLLM is not installed: run `make install`, or set llm.engine: server and start a "
            "server with `make serve`"
        )
    from local_augment.engines.llm.inprocess import VLLMEngine

    return VLLMEngine(cfg, path, info, seed)  # type: ignore[arg-type]


def get_llm(ctx: Context) -> LLMEngine:
    """The run's one LLM engine (through the run's model-output cache), built on first use.

    Kept in the run's `EnginePool` (`ctx.engines`) under "llm". Loading is left to the first
    `chat`, so methods that turn out to have nothing to do never start vLLM.
    """
    def build() -> LLMEngine:
        engine = create_engine(ctx.config.llm, ctx.manifest, ctx.seed)
        return CachedLLM(engine, ctx.cache)

    return ctx.engines.get("llm", build)
