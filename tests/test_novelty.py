"""Novelty per method: what kept variants add beyond their own sources."""

from __future__ import annotations

from local_augment.quality.diversity import Novelty


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


def test_the_report_says_whether_a_method_was_shown_to_help(tmp_path):
    import json

    from local_augment.quality.diagnosis import shown_to_help

    path = tmp_path / "downstream.json"
    path.write_text(json.dumps({
        "data": "banking77", "k": 4, "learner": "fast", "seeds": 3, "llm_model": "tiny",
        "arms": [{"name": "originals", "accuracy_mean": 0.60, "accuracy_sd": 0.01},
                 {"name": "templates", "accuracy_mean": 0.66, "accuracy_sd": 0.01},
                 {"name": "paraphrase", "accuracy_mean": 0.605, "accuracy_sd": 0.01},
                 {"name": "backtranslation", "skipped": "no models"}]}))
    lines = shown_to_help(["templates", "paraphrase", "backtranslation"], "big", path)
    assert len(lines) == 2
    assert lines[0].startswith("templates: shown to help") and "0.600" in lines[0]
    assert lines[1].startswith("paraphrase (generator tiny): not shown to help")
    assert lines[1].endswith("this run uses big")
    assert shown_to_help(["templates"], "big", tmp_path / "missing.json") == []
