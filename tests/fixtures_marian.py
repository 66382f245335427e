"""Tiny real MarianMT models (en<->de, en<->fr, with CTranslate2 conversions), built once per run."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _builder():
    from scripts import build_tiny_marian

    return build_tiny_marian


@pytest.fixture(scope="session")
def tiny_marian_dir(tmp_path_factory) -> Path:
    """A models/ folder with tiny translators and the real embedder listed at its real path."""
    out = tmp_path_factory.mktemp("tiny_marian") / "models"
    embedder = ROOT / "models" / "all-minilm-l6-v2"
    return _builder().build(out, embedder=embedder if embedder.is_dir() else None)


@pytest.fixture(scope="session")
def tiny_manifest(tiny_marian_dir):
    from local_augment.engines.manifest import load_manifest

    return load_manifest(tiny_marian_dir)


@pytest.fixture(scope="session")
def tiny_builder():
    return _builder()
