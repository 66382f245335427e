"""Shared fixtures: the real installed models, temp dirs. Engine fixtures live in plugin files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("LOCAL_AUGMENT_MODELS", str(ROOT / "models"))
os.environ.setdefault("VLLM_CACHE_ROOT", str(ROOT / ".cache" / "vllm"))

# Hypothesis profiles: `short` in make test (seconds), `long` in make fuzz (HYPOTHESIS_PROFILE).
try:
    from hypothesis import HealthCheck, settings

    _quiet = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
    settings.register_profile("short", max_examples=60, deadline=None,
                              suppress_health_check=_quiet)
    settings.register_profile("long", max_examples=3000, deadline=None,
                              suppress_health_check=_quiet)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "short"))
except ImportError:  # hypothesis comes with the dev extra; without it tests/test_fuzz.py skips
    pass

# Session-scoped engine fixtures (a vLLM start costs about a minute here), one file per engine.
pytest_plugins = [
    p for p in ("tests.fixtures_llm", "tests.fixtures_marian")
    if (ROOT / (p.replace(".", "/") + ".py")).exists()
]


# Fixtures that load an installed model: a test that asks for one is marked `models`, so
# `make test-fast` (-m "not slow and not models") runs with no model installed.
MODEL_FIXTURES = {"embedder", "vllm_engine", "llm_ctx", "vllm_server", "llm_path", "local_run",
                  "alpaca_run",
                  "llm_local_run"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.models)


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return Path(os.environ["LOCAL_AUGMENT_MODELS"])


@pytest.fixture(scope="session")
def manifest(models_dir):
    from local_augment.engines.manifest import load_manifest

    return load_manifest(models_dir)


@pytest.fixture(scope="session")
def embedder(manifest):
    """The real all-MiniLM-L6-v2, loaded once per test run."""
    from local_augment.engines.embedder import Embedder

    _, path = manifest.require("all-minilm-l6-v2", "embedder")
    return Embedder(path).load()
