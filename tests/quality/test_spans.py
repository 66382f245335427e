"""Protected spans: masked before translation, restored after, losses reported."""

from __future__ import annotations

import pytest

from local_augment.quality import spans


@pytest.mark.parametrize("span", [
    "`x = 1`", "```py\nprint('hi')\n```", "https://example.com/a?b=1", "www.example.org",
    "ana.b+tag@mail.example.com", "{{order_id}}", "{name}", "%s", "$HOME", "42", "3.14",
    "2024-01-05", "75%",
])
def test_each_kind_is_masked_and_restored(span):
    text = f"Please check {span} before noon"
    m = spans.mask(text)
    assert span not in m.text and m.spans == (span,)
    back, lost = spans.restore(m.text, m)
    assert back == text and lost == []


def test_masks_numbered_in_order_and_survive_reordering():
    text = "Send {name} the file at https://x.io/f to a@b.co by 5"
    m = spans.mask(text)
    assert len(m.spans) == 4 and [m.mask(i) in m.text for i in range(4)] == [True] * 4
    moved = " ".join(reversed(m.text.split()))  # a translation may reorder words
    back, lost = spans.restore(moved, m)
    assert not lost and all(s in back for s in m.spans)


def test_spaced_or_lowercased_mask_still_restores():
    m = spans.mask("Call {name} now")
    back, lost = spans.restore("Ruf qz 0 jetzt an", m)
    assert back == "Ruf {name} jetzt an" and lost == []


def test_lost_span_reported():
    m = spans.mask("Use `pip install x` and {{order_id}}")
    back, lost = spans.restore("Use QZ0 and nothing else", m)
    assert lost == ["{{order_id}}"] and "`pip install x`" in back


def test_text_looking_like_a_mask_is_protected():
    m = spans.mask("Model QZ3 is fine")
    back, lost = spans.restore(m.text, m)
    assert back == "Model QZ3 is fine" and not lost


def test_plain_text_untouched_and_mask_only():
    m = spans.mask("Explain gravity simply.")
    assert m.text == "Explain gravity simply." and m.spans == ()
    assert spans.has_mask_only(spans.mask("`code` 42 https://a.b/c").text)
    assert not spans.has_mask_only(spans.mask("Run `code` now").text)
    assert spans.short("x" * 100).endswith("…") and len(spans.short("x" * 100)) == 40
