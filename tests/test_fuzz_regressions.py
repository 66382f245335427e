"""What the fuzzer (tests/test_fuzz.py, make fuzz) found, each from its shrunk example."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_augment.augmenters.refusals import read_cases
from local_augment.config import load_config
from local_augment.data.atomic import write_parquet_rows
from local_augment.data.eval_sets import read_eval_set
from local_augment.data.formats import read_examples
from local_augment.errors import BadRow, UserError
from tests.hostile_inputs import HostileFile, deep, run_pipeline


@pytest.mark.parametrize("data", [b"\xff\xfe", b"\xef\xbb\xbf\xff\xfe"])
def test_a_refusal_cases_file_that_is_not_utf8_is_one_line(tmp_path, data):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(data)  # was: UnicodeDecodeError from the text-mode reader
    with pytest.raises(UserError, match=r"cases.jsonl:1: invalid UTF-8 at byte 0"):
        read_cases(path)


def test_deep_json_in_refusal_cases_and_eval_sets_is_one_line(tmp_path):
    cases, bench = tmp_path / "cases.jsonl", tmp_path / "bench.jsonl"
    cases.write_text(deep(100_000))  # was: RecursionError
    bench.write_text(deep(100_000))
    with pytest.raises(UserError, match=r"cases\.jsonl:1: JSON nested too deeply"):
        read_cases(cases)
    with pytest.raises(UserError, match=r"bench\.jsonl:1: JSON nested too deeply"):
        read_eval_set(bench)


def test_a_config_that_is_not_utf8_is_one_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_bytes(b"{}\n\xff")  # was: UnicodeDecodeError from read_text
    with pytest.raises(UserError, match=r"config.yaml: the config is not UTF-8"):
        load_config(path)


def test_a_parquet_column_missing_from_the_first_row_is_kept(tmp_path):
    """pyarrow's from_pylist takes the first row's keys: the output column of every row was
    dropped when the first row had none."""
    rows = [{"instruction": "a", "input": ""}, {"instruction": "b", "output": "kept"}]
    write_parquet_rows(tmp_path / "o.parquet", iter(rows))
    back = [x.row for x in read_examples(tmp_path / "o.parquet")]
    assert back[1]["output"] == "kept" and "output" not in back[0]


def test_a_parquet_output_with_no_rows_keeps_the_input_columns(tmp_path):
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"instruction": ["", " "], "output": ["x", "y"]}), src)
    out = run_pipeline(HostileFile(src.read_bytes(), ".parquet", 2, "parquet"), tmp_path)
    assert out.crash is None and out.lost == 0
    assert pq.read_schema(tmp_path / "out" / "augmented.parquet").names == ["instruction",
                                                                            "output"]


def test_a_binary_parquet_column_is_a_bad_row_naming_the_field(tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"instruction": ["hello there"], "output": ["hi"],
                             "blob": [b"\x00\x01"]}), path)
    (item,) = list(read_examples(path))  # was: TypeError (bytes are not JSON) in the run
    assert isinstance(item, BadRow)
    assert 'field "blob" holds bytes values' in item.detail and "cast the column" in item.detail


def test_an_input_rows_own_provenance_is_kept_as_previous(tmp_path):
    row = {"instruction": "Name three primary colours.", "output": "Red, yellow, blue.",
           "_provenance": {"method": "original", "run": "earlier"}}
    data = (json.dumps(row) + "\n").encode()
    out = run_pipeline(HostileFile(data, ".jsonl", 1, "alpaca"), tmp_path)
    assert out.changed == 0 and out.lost == 0  # was: the earlier provenance overwritten
    first = json.loads((tmp_path / "out" / "augmented.jsonl").read_text().splitlines()[0])
    assert first["_provenance"]["previous"] == {"method": "original", "run": "earlier"}
