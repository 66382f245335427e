"""Every engine, and every test fake that stands in for one, has what its Protocol promises:
each member, and for methods every parameter the Protocol names (so a caller typed against
the Protocol can call the concrete engine as written)."""

from __future__ import annotations

import inspect
from typing import Protocol

import pytest

from local_augment.engines.embedder import Embedder
from local_augment.engines.llm.cached import CachedLLM
from local_augment.engines.llm.inprocess import VLLMEngine
from local_augment.engines.llm.server import ServerEngine
from local_augment.engines.protocols import ChatModel, Encoder, ModelEngine, Scorer, TextTranslator
from local_augment.engines.scorer import LMScorer
from local_augment.engines.translator import TransformersTranslator
from local_augment.engines.translators import CT2Translator
from tests.fakes import FakeLLM, HashEmbedder

IMPLEMENTATIONS = [
    (Encoder, Embedder), (Encoder, HashEmbedder),
    (Scorer, LMScorer),
    (TextTranslator, TransformersTranslator), (TextTranslator, CT2Translator),
    (ChatModel, VLLMEngine), (ChatModel, ServerEngine), (ChatModel, CachedLLM),
    (ChatModel, FakeLLM),
]


def _members(proto: type) -> dict[str, object]:
    """The Protocol's own members, its bases' included (methods and annotated attributes)."""
    out: dict[str, object] = {}
    for base in reversed(proto.__mro__):
        if base is Protocol or base is object or Protocol not in base.__mro__[1:]:
            continue
        out.update({k: v for k, v in vars(base).items()
                    if inspect.isfunction(v) and not k.startswith("_")})
        out.update({k: None for k in getattr(base, "__annotations__", {})})
    return out


@pytest.mark.parametrize(("proto", "impl"), IMPLEMENTATIONS,
                         ids=[f"{p.__name__}-{c.__name__}" for p, c in IMPLEMENTATIONS])
def test_the_engine_has_what_its_protocol_promises(proto, impl):
    members = _members(proto)
    assert members, proto
    assert set(_members(ModelEngine)) <= set(members)
    for name, spec in members.items():
        if spec is None:  # an attribute: a class attribute, or set by every constructor
            assert hasattr(impl, name) or name in inspect.getsource(impl.__init__) or any(
                name in inspect.getsource(b.__init__) for b in impl.__mro__[1:]
                if "__init__" in vars(b)), f"{impl.__name__}.{name}"
            continue
        method = getattr(impl, name, None)
        assert callable(method), f"{impl.__name__} has no {name}"
        want = [p for p in inspect.signature(spec).parameters.values() if p.name != "self"]
        have = inspect.signature(method).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in have.values())
        for p in want:
            assert p.name in have or takes_any, f"{impl.__name__}.{name} lacks {p.name}"
            if p.name in have and p.default is not p.empty:
                assert have[p.name].default is not have[p.name].empty, \
                    f"{impl.__name__}.{name}: {p.name} must stay optional"


def test_fakes_pass_the_runtime_check():
    assert isinstance(HashEmbedder(), Encoder)
    assert isinstance(FakeLLM(), ChatModel)
    assert not isinstance(HashEmbedder(), ChatModel)
