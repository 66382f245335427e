"""Reading datasets: layouts, ids, and every kind of bad row with file/line/field in its reason."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_augment.data.formats import read_examples
from local_augment.data.records import ALPACA, MESSAGES, Example
from local_augment.errors import BadRow, UserError


def _write(tmp_path, name, lines, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(lines)
    else:
        path.write_text("\n".join(json.dumps(x) if not isinstance(x, str) else x for x in lines) + "\n")
    return path


def _split(items):
    good = [i for i in items if isinstance(i, Example)]
    bad = [i for i in items if isinstance(i, BadRow)]
    return good, bad


def test_alpaca_rows_get_ids_and_extra_fields_survive(tmp_path):
    path = _write(tmp_path, "a.jsonl", [
        {"id": 7, "instruction": "Say hi", "input": "", "output": "Hi", "lang": "en"},
        {"instruction": "Say bye", "output": "Bye"},
    ])
    good, bad = _split(list(read_examples(path)))
    assert not bad and [g.layout for g in good] == [ALPACA, ALPACA]
    assert good[0].id == "7" and good[0].row["lang"] == "en"
    assert good[1].id.startswith("h") and good[1].input == ""
    again, _ = _split(list(read_examples(path)))
    assert again[1].id == good[1].id  # content ids are stable


def test_messages_layout_reads_first_user_and_assistant_turn(tmp_path):
    row = {"messages": [{"role": "system", "content": "Be brief."},
                        {"role": "user", "content": "What is DNS?"},
                        {"role": "assistant", "content": "A name system."},
                        {"role": "user", "content": "And TLS?"},
                        {"role": "assistant", "content": "Transport security."}]}
    path = _write(tmp_path, "m.jsonl", [row])
    (ex,), _ = _split(list(read_examples(path)))
    assert ex.layout == MESSAGES and ex.instruction == "What is DNS?"
    assert ex.output == "A name system."
    new = ex.replaced(instruction="Explain DNS.")
    assert new["messages"][1]["content"] == "Explain DNS."
    assert new["messages"][2]["content"] == "A name system."  # assistant turns never rewritten
    assert new["messages"][3]["content"] == "And TLS?"


@pytest.mark.parametrize("line, expected", [
    ("not json", "malformed JSON"),
    ('{"input": "x", "output": "y"}', 'missing "instruction"'),
    ('{"instruction": 5, "output": "y"}', 'field "instruction" must be a string'),
    ('{"instruction": "x", "output": ["y"]}', 'field "output" must be a string'),
    ('{"instruction": "   ", "output": "y"}', 'empty "instruction"'),
    ('[1, 2]', "must be a JSON object"),
    ('{"instruction": "a\\u0000b", "output": "y"}', "NUL byte"),
    ('{"id": true, "instruction": "x", "output": "y"}', 'field "id" must be'),
    ('{"messages": "hi"}', "a messages row in a alpaca file"),
])
def test_bad_rows_are_reported_with_line_and_field(tmp_path, line, expected):
    path = _write(tmp_path, "a.jsonl", ['{"instruction": "Fine", "output": "ok"}', line])
    good, bad = _split(list(read_examples(path)))
    assert len(good) == 1 and len(bad) == 1
    assert bad[0].line == 2 and expected in bad[0].reason
    assert bad[0].reason.startswith("bad_input:line 2: ")


def test_invalid_utf8_bom_crlf_and_blank_lines(tmp_path):
    data = (b'\xef\xbb\xbf{"instruction": "One", "output": "1"}\r\n\r\n'
            b'{"instruction": "Tw\xff", "output": "2"}\r\n'
            b'{"instruction": "Three", "output": "3"}\r\n')
    path = _write(tmp_path, "a.jsonl", data, mode="wb")
    good, bad = _split(list(read_examples(path)))
    assert [g.instruction for g in good] == ["One", "Three"]
    assert [g.line for g in good] == [1, 4]
    assert bad[0].line == 3 and "invalid UTF-8" in bad[0].reason


def test_duplicate_ids_and_exact_duplicate_rows(tmp_path):
    path = _write(tmp_path, "a.jsonl", [
        {"id": "x", "instruction": "A", "output": "1"},
        {"id": "x", "instruction": "B", "output": "2"},
        {"instruction": "C", "output": "3"},
        {"instruction": "C", "output": "3"},
    ])
    good, bad = _split(list(read_examples(path)))
    assert len(good) == 2
    assert 'duplicate id "x" (first used on line 1)' in bad[0].reason
    assert "exact duplicate of the row on line 3" in bad[1].reason


def test_empty_missing_and_unknown_files_are_clear_errors(tmp_path):
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    with pytest.raises(UserError, match="empty"):
        list(read_examples(empty))
    blank = tmp_path / "b.jsonl"
    blank.write_text("\n\n")
    with pytest.raises(UserError, match="no rows"):
        list(read_examples(blank))
    with pytest.raises(UserError, match="no such file"):
        list(read_examples(tmp_path / "nope.jsonl"))
    odd = tmp_path / "data.csv"
    odd.write_text("a,b\n")
    with pytest.raises(UserError, match="--format"):
        list(read_examples(odd))


def test_parquet_both_layouts_and_wrong_schema(tmp_path):
    alpaca = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist([{"instruction": "Hi", "input": "", "output": "Hello"},
                                         {"instruction": "", "input": "", "output": "x"}]), alpaca)
    good, bad = _split(list(read_examples(alpaca)))
    assert good[0].layout == ALPACA and bad[0].line == 2
    chat = tmp_path / "m.parquet"
    pq.write_table(pa.Table.from_pylist([{"messages": [{"role": "user", "content": "Hi"},
                                                       {"role": "assistant", "content": "Hey"}]}]),
                   chat)
    (ex,), _ = _split(list(read_examples(chat)))
    assert ex.layout == MESSAGES and ex.output == "Hey"
    wrong = tmp_path / "w.parquet"
    pq.write_table(pa.table({"question": ["q"], "answer": ["a"]}), wrong)
    with pytest.raises(UserError, match="neither"):
        list(read_examples(wrong))
    notpq = tmp_path / "n.parquet"
    notpq.write_text("hello")
    with pytest.raises(UserError, match="not a readable Parquet"):
        list(read_examples(notpq))
