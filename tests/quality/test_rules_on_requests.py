"""The lexical rules on the forms people write requests in: each fires on a real defect and not
on a valid rewording (the request forms below are written for this test, in the manner of
customer requests; none is taken from ../shared)."""

from __future__ import annotations

import pytest

from local_augment.quality import lexical


@pytest.mark.parametrize("source, variant", [
    ("How do I activate my new card?", "I don't know how to activate the card I just got."),
    ("Where is my refund?", "I can't find the refund you promised me."),
    ("My transfer is still pending.", "Why won't my transfer go through?"),
    ("The app won't let me log in.", "I cannot get the app to log me in."),
    ("My payment was declined.", "Why wasn't my payment accepted?"),
    ("I haven't received my card yet.", "My card failed to arrive."),
    ("Do I have a PIN already?", "I don't have a PIN yet, do I need one?"),
])
def test_request_forms_are_not_negation_flips(source, variant):
    assert not lexical.negation_flip(variant, source)
    assert not lexical.negation_flip(source, variant)


@pytest.mark.parametrize("source, variant", [
    ("Why does my card work abroad?", "Why does my card not work abroad?"),
    ("My payment was accepted.", "My payment was not accepted."),
    ("Why is there a payment I didn't make?", "Why is there a payment I did make?"),
    ("Cancel my order.", "Do not cancel my order."),
    ("Is there a fee for top-ups?", "There is no fee for top-ups, right?"),
    ("Do you send cards to people outside the EU?", "Do you send cards to people not outside the EU?"),
])
def test_negation_flips_are_caught(source, variant):
    assert lexical.negation_flip(variant, source)


@pytest.mark.parametrize("source, variant", [
    ("Will it take more than 3 days for my transfer to arrive?", "How long does a transfer take?"),
    ("Can I get a card if I live outside the UK?", "Which countries do you send cards to?"),
    ("The cash machine kept my card.", "An ATM in Leeds swallowed my card."),
    ("Why didn't I get all my cash?", "I asked for $60 and only got $40."),
])
def test_requests_may_generalise_or_add_context(source, variant):
    assert lexical.detail_change(variant, source) is None


@pytest.mark.parametrize("source, variant, reason", [
    ("Send me 3 tips for saving money.", "Send me tips for saving money.", "lost_detail:3"),
    ("I was charged $20 twice.", "I was charged $25 twice.", "lost_detail:20"),
    ("If 5 machines make 5 widgets, how many make 100?",
     "If 12 machines make 5 widgets, how many make 100?", "added_detail:12"),
    ("Can I pay with Visa?", "Can I pay with Mastercard?", "lost_detail:Visa"),
    ('What does the error "card frozen" mean?', "What does this error mean?", "lost_detail:card frozen"),
    ("Reset my password.", "Reset my password at https://example.com/reset.",
     "added_detail:https://example.com/reset"),
])
def test_replaced_and_exact_details_are_caught(source, variant, reason):
    assert lexical.detail_change(variant, source) == reason


def test_statements_keep_every_detail():
    src = "Call a licensed locksmith, who answers within 24 hours."
    assert lexical.detail_change("Phone a locksmith.", src, request=False) == "lost_detail:24"
    assert lexical.detail_change("Phone a locksmith.", src) is None  # as a request: generalised


def test_length_is_content_words_not_characters():
    short = "Card not working."
    long = "Hi there, could you please help me? It seems that my card is not working at all."
    # over 4x the characters, mostly filler and function words
    assert len(long) / len(short) > 4
    assert lexical.length_ratio(long, short) <= 4.0
    cut = lexical.length_ratio("Card?", "My card was charged twice at the hotel in Paris, then "
                               "again at the airport.")
    assert cut < 0.3


def test_truncation_and_appended_answers():
    src = "What currencies can I hold in my account and exchange between?"
    assert lexical.truncated("What currencies can I", src)
    assert not lexical.truncated("What currencies can I hold?", "What currencies can I hold?")
    assert not lexical.truncated("Which currencies can I hold?", src)
    q = "Is this tweet sarcastic: 'Great, another delay.'?"
    assert lexical.continuation(q + " Yes. It praises something bad.", q) == \
        "Yes. It praises something bad."
    assert lexical.continuation("Task: " + q, q) is None
    statement = "My payment failed and now my account is read-only."
    assert lexical.continuation(statement + " How can I fix this?", statement) is None
