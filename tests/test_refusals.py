"""Refusal rows from a cases file: varied phrasing, the dataset's layout, clear case errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local_augment.augmenters.base import Context
from local_augment.augmenters.refusals import create, read_cases
from local_augment.config import load_config
from local_augment.errors import UserError

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


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
