"""Property-based tests over every input the tool reads (strategies: tests/hostile_inputs.py).

The `short` profile runs in `make test`; `make fuzz` runs the `long` one and scripts/fuzz.py's
whole-run fuzz over 10,000 generated files. Properties:
- a reader never crashes: it returns rows, or `BadRow`s with file, line and field, or one clean
  `UserError` for a file it refuses as a whole;
- every input row is accounted for (rows read + bad rows == input rows);
- what is written reads back to the same rows, in the input's format, extra fields kept;
- an invalid config is one clear error naming the key.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
import yaml

pytest.importorskip("hypothesis", reason="hypothesis comes with the dev extra (make install)")
from hypothesis import given
from hypothesis import strategies as st

from local_augment.augmenters.refusals import read_cases
from local_augment.config import load_config
from local_augment.data.atomic import write_jsonl_rows, write_parquet_rows
from local_augment.data.eval_sets import read_eval_set
from local_augment.data.formats import read_examples
from local_augment.errors import BadRow, UserError
from tests.hostile_inputs import (
    configs,
    eval_files,
    input_files,
    refusal_case_files,
    run_pipeline,
    same,
)


def _one_line(err: Exception, path: Path) -> None:
    msg = str(err)
    assert str(path) in msg, msg
    assert "Traceback" not in msg


@given(input_files())
def test_a_reader_accounts_for_every_row_or_refuses_the_file(f):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"data{f.suffix}"
        path.write_bytes(f.data)
        try:
            items = list(read_examples(path))
        except UserError as exc:  # empty, UTF-16, not Parquet, no known columns: one line
            _one_line(exc, path)
            return
        assert len(items) == f.rows
        for item in items:
            if isinstance(item, BadRow):
                assert item.path == str(path) and item.line >= 1 and item.detail
                assert str(item).startswith(f"{path}:{item.line}: ")
            else:
                json.dumps(item.row, allow_nan=True)  # the run's state is JSON


@given(input_files())
def test_rows_written_read_back_unchanged_in_their_own_format(f):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"data{f.suffix}"
        path.write_bytes(f.data)
        try:
            rows = [x for x in read_examples(path) if not isinstance(x, BadRow)]
        except UserError:
            return
        if not rows:
            return
        again = Path(d) / f"again{f.suffix}"
        writer = write_parquet_rows if f.suffix == ".parquet" else write_jsonl_rows
        writer(again, iter([x.row for x in rows]))
        back = list(read_examples(again))
        assert len(back) == len(rows)
        for a, b in zip(rows, back, strict=True):
            assert not isinstance(b, BadRow), b
            assert a.id == b.id and a.layout == b.layout
            ra, rb = a.row, b.row
            if f.suffix == ".parquet":
                ra = {k: v for k, v in ra.items() if v is not None}
                rb = {k: v for k, v in rb.items() if v is not None}
            assert same(ra, rb), (ra, rb)


@given(eval_files())
def test_an_eval_set_reads_or_is_one_clear_error(spec):
    data, suffix = spec
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"bench{suffix}"
        path.write_bytes(data)
        try:
            es = read_eval_set(path)
        except UserError as exc:
            _one_line(exc, path)
            return
        assert len(es.ids) == len(es.prompts) == len(set(es.ids)) > 0
        assert all(isinstance(p, str) and p.strip() for p in es.prompts)


@given(refusal_case_files())
def test_a_refusal_cases_file_reads_or_is_one_clear_error(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "cases.jsonl"
        path.write_bytes(data)
        try:
            cases = read_cases(path)
        except UserError as exc:
            _one_line(exc, path)
            return
        assert cases and all(c["instruction"].strip() for c in cases)


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) \
            else repr(v)
    if isinstance(v, int):
        return str(v) if abs(v) < 2**63 else json.dumps(str(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v if x is not None
                               and not isinstance(x, dict)) + "]"
    return json.dumps(str(v))


def _toml(cfg: dict) -> str:
    top, tables = [], []
    for k, v in cfg.items():
        if isinstance(v, dict):
            body = [f"{json.dumps(kk)} = {_toml_value(vv)}" for kk, vv in v.items()
                    if vv is not None and not isinstance(vv, dict)]
            tables.append(f"[{json.dumps(k)}]\n" + "\n".join(body))
        elif v is not None:
            top.append(f"{json.dumps(k)} = {_toml_value(v)}")
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"


@given(configs(), st.sampled_from([".yaml", ".toml"]), st.sampled_from([b"", b"\xff", b"\x00"]))
def test_an_invalid_config_is_one_error_naming_the_key(cfg, suffix, tail):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"config{suffix}"
        text = yaml.safe_dump(cfg, allow_unicode=True) if suffix == ".yaml" else _toml(cfg)
        path.write_bytes(text.encode("utf-8") + tail)
        try:
            load_config(path)
        except UserError as exc:
            msg = str(exc)
            _one_line(exc, path)
            if "invalid config:" in msg:  # it names a section or key the file has
                named = msg.split("invalid config:", 1)[1]
                keys = set(cfg) | {k for v in cfg.values() if isinstance(v, dict) for k in v}
                assert any(str(k) in named for k in keys), msg


def test_the_whole_run_accounts_for_every_row_of_hostile_files(tmp_path):
    """A few whole runs (templates, QC, dedup, mix, writer; hash embedder): every row is an
    original in the output or a bad_input reject, unchanged, and no traceback is printed.
    `make fuzz` does this over thousands of files."""
    from hypothesis import HealthCheck, settings

    seen = []

    @settings(max_examples=20, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(input_files())
    def one(f):
        out = run_pipeline(f, Path(tempfile.mkdtemp(dir=tmp_path)))
        seen.append(out)
        assert out.crash is None, out.crash
        assert out.lost == 0 and out.changed == 0 and not out.traceback

    one()
    assert seen
