"""Novelty per method: what kept variants add beyond their own sources."""

from __future__ import annotations

from local_augment.diversity import Novelty


def test_wrappers_add_little_and_rewordings_add_words():
    n = Novelty()
    src = "How do I reset my password?"
    n.add("templates", "Task: How do I reset my password?", src)
    n.add("templates", "Could you tell me: how do I reset my password?", src)
    n.add("paraphrase", "What are the steps to set a new password for my login?", src)
    n.add("paraphrase", "I forgot my password. How can I change it?", src)
    r = n.result()
    assert r["templates"]["kept"] == 2 and r["templates"]["reworded_share"] == 0.0
    assert r["paraphrase"]["reworded_share"] == 1.0
    assert r["paraphrase"]["new_content_words_per_variant"] >= 2.5
    assert r["templates"]["new_content_words_per_variant"] < \
        r["paraphrase"]["new_content_words_per_variant"]
    assert 0 < r["paraphrase"]["distinct_2_added"] <= 1
