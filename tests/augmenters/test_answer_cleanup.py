"""What a competent model adds around a good answer is taken off, and self-commentary is an
artifact (issue: paraphrase and output variants worth keeping). No model needed."""

from __future__ import annotations

import pytest

from local_augment.augmenters.outputs import clean_variant
from local_augment.augmenters.paraphrase import one_rewrite
from local_augment.engines.llm.prompting import cut_loop, strip_opener
from local_augment.quality import lexical

SOURCE = "Accounts lock automatically after 5 failed sign-in attempts. The lock lifts after 15 minutes."


@pytest.mark.parametrize("raw, want", [
    ("Sure! Here is the brief version: accounts lock after 5 failed attempts.",
     "Accounts lock after 5 failed attempts."),
    ("Certainly, accounts lock after 5 failed attempts.", "Accounts lock after 5 failed attempts."),
    ("Here is the shortened answer:\nAccounts lock after 5 failed attempts.",
     "Accounts lock after 5 failed attempts."),
])
def test_openers_are_taken_off_an_output_variant(raw, want):
    assert clean_variant(raw, SOURCE) == want


def test_an_opener_the_source_has_stays():
    src = "Here are the steps: open Settings, then Security."
    assert clean_variant("Here are the steps:\n- Open Settings\n- Then Security", src) == \
        "Here are the steps:\n- Open Settings\n- Then Security"
    assert strip_opener("Okay, so my card is lost, what now?",
                        "Okay, so my card is lost. What do I do?").startswith("Okay")


def test_a_rewrite_loses_its_opener_and_its_loop():
    raw = ("Sure! Could you help me reset my card PIN? Could you help me reset my card PIN? "
           "Could you help")
    assert one_rewrite(raw, "How do I reset the PIN of my card?") == \
        "Could you help me reset my card PIN?"


def test_a_loop_is_cut_where_it_starts_and_only_there():
    assert cut_loop("Why? Why? Because.") == "Why? Because."
    assert cut_loop("Open it. Close it. Open it.") == "Open it. Close it. Open it."  # no loop


@pytest.mark.parametrize("text", [
    "Accounts lock after 5 failed attempts. I made several changes to make it shorter.",
    "Accounts lock after 5 failed attempts. I have condensed the text into one sentence.",
    "I've broken the answer down into bullets:\n- Accounts lock after 5 attempts",
    "The edited text is below. Accounts lock after 5 attempts.",
])
def test_commenting_on_its_own_edits_is_an_artifact(text):
    assert (lexical.artifact(text, SOURCE, numbering=False) or "").startswith("meta:")


@pytest.mark.parametrize("text", [
    "I made a transfer yesterday and it has not arrived.",
    "I edited my address, why is it not updated?",
    "I have made several payments this week; why is one pending?",
])
def test_requests_about_the_users_own_actions_are_not_commentary(text):
    assert lexical.artifact(text, "") is None
