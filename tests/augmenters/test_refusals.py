"""Refusal rows from a cases file: varied phrasing, the dataset's layout, clear case errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_augment.augmenters.base import Context
from local_augment.augmenters.refusals import create, read_cases
from local_augment.config import load_config
from local_augment.errors import UserError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _ctx(manifest, **overrides):
    return Context(load_config(overrides=overrides), manifest, seed=0)


def test_template_mode_builds_varied_rows_in_both_layouts(manifest):
    ctx = _ctx(manifest, **{"refusals.cases": str(EXAMPLES / "refusal_cases.jsonl"),
                            "refusals.per_case": 3})
    aug = create(ctx)
    cases = read_cases(EXAMPLES / "refusal_cases.jsonl")
    alpaca = aug.standalone("alpaca")
    assert len(alpaca) == 3 * len(cases)
    assert all(c.method == "refusals" and c.reason is None for c in alpaca)
    for case in cases:
        rows = [c for c in alpaca if c.source_id == f"refusal:{case['_id']}"]
        assert rows[0].row["instruction"] == case["instruction"].strip()
        assert len({r.row["instruction"] for r in rows}) == len(rows)  # instruction forms vary
        for r in rows:
            assert case["reason"].rstrip(".")[1:] in r.row["output"]
            assert r.params["mode"] == "template" and r.model is None
    assert len({c.row["output"].split(".")[0] for c in alpaca}) > 2  # openers vary
    chat = aug.standalone("messages")
    assert [m["role"] for m in chat[0].row["messages"]] == ["user", "assistant"]
    assert [c.row["messages"][1]["content"] for c in chat] == [c.row["output"] for c in alpaca]


def test_incomplete_cases_in_template_mode_name_the_lines(manifest, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"instruction": "Hack my ex's e-mail.", "reason": "Illegal."})
                    + "\n" + json.dumps({"instruction": "x", "reason": "r", "alternative": "a"})
                    + "\n")
    with pytest.raises(UserError, match=r"lines 1 lack a reason or an alternative"):
        create(_ctx(manifest, **{"refusals.cases": str(path), "refusals.mode": "template"}))


@pytest.mark.parametrize("content, expected", [
    ("{nope\n", ":1: malformed JSON"),
    ('{"reason": "r"}\n', ':1: missing or empty "instruction"'),
    ('{"instruction": "x", "reason": 3, "alternative": "a"}\n', '"reason" must be a string'),
    ("\n", "no refusal cases"),
])
def test_bad_case_files(tmp_path, content, expected):
    path = tmp_path / "c.jsonl"
    path.write_text(content)
    with pytest.raises(UserError, match=expected.replace("(", r"\(")):
        read_cases(path)


def test_no_cases_means_no_method(manifest):
    assert create(_ctx(manifest)) is None


def test_reply_rewrites_vary_the_reply_and_keep_only_faithful_ones(tmp_path):
    """refusals.reply_rewrites on a queued-answer LLM: a faithful rewording is used for the
    case's second row; one that loses the number, copies the case or flips a negation is not."""
    from local_augment.engines.manifest import Manifest
    from tests.fakes import FakeLLM

    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({
        "id": "lock", "instruction": "Tell me how to pick the lock on my neighbour's door.",
        "reason": "Opening someone else's door without consent is illegal.",
        "alternative": "Call a licensed locksmith, who answers within 24 hours."}) + "\n")
    good = {"reason": "Getting into another person's home without permission is against the law.",
            "alternative": "Phone a licensed locksmith, who answers within 24 hours."}
    lost = {"reason": good["reason"], "alternative": "Phone a locksmith."}
    copy = {"reason": "Opening someone else's door without consent is illegal.",
            "alternative": "Call a licensed locksmith, who answers within 24 hours."}
    flip = {"reason": good["reason"],
            "alternative": "Do not call a licensed locksmith, who answers within 24 hours."}
    llm = FakeLLM([[json.dumps(x) for x in (lost, good, copy, flip)]])
    ctx = Context(load_config(overrides={"refusals.cases": str(cases), "refusals.per_case": 5,
                                         "refusals.reply_rewrites": True, "llm.engine": "server"}),
                  Manifest(root=tmp_path, models={}), seed=0)
    ctx.engines.get("llm", lambda: llm)
    rows = create(ctx).standalone("alpaca")
    assert len(llm.calls) == 1 and llm.calls[0][1].n == 4
    assert "24 hours" in llm.calls[0][0][0][0]["content"]
    outputs = [r.row["output"] for r in rows]
    assert "against the law" in outputs[1] and rows[1].params["reply"] == "llm"
    assert rows[1].model["name"] == "fake-llm"
    assert "is illegal" in outputs[0] and "reply" not in rows[0].params
    for later in outputs[2:]:  # no other faithful rewording: the case's own words
        assert "is illegal" in later and "Do not call" not in later
