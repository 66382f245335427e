"""One encoder pass per text: the sentence vectors and the token vectors of the meaning check
come from the same forward pass, and equal what two separate passes give (real MiniLM)."""

from __future__ import annotations

import numpy as np

from local_augment.engines.embedder import Embedder

TEXTS = ["How do I reset my password if I lost my phone?",
         "Could you tell me how to reset my password after losing my phone?",
         "Summarise the benefits of annual billing for a small team.",
         "Why does the app keep crashing on startup since the March update?"]


def test_kept_token_vectors_equal_a_separate_pass(embedder):
    fresh = Embedder(embedder.path).load()
    plain = fresh.encode(TEXTS)
    separate = fresh.token_vectors(TEXTS[:2])
    one = Embedder(embedder.path).load()
    vecs = one.encode(TEXTS, keep_tokens=set(TEXTS[:2]))
    np.testing.assert_allclose(vecs, plain, atol=1e-6)
    assert one._tokens.get(TEXTS[0]) is not None and one._tokens.get(TEXTS[2]) is None
    kept = one.token_vectors(TEXTS[:2])
    for a, b in zip(kept, separate, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_token_vectors_are_kept_by_content_and_asked_once(embedder):
    one = Embedder(embedder.path).load()
    first = one.token_vectors([TEXTS[3], TEXTS[3]])
    assert len(one._tokens._items) == 1
    again = one.token_vectors([TEXTS[3]])
    assert again[0] is first[0]  # from the store: no second forward pass
