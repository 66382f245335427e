"""Config: defaults, YAML/TOML files, and errors that name the key."""

from __future__ import annotations

import pytest

from local_augment.config import load_config
from local_augment.errors import UserError


def test_defaults_match_the_design():
    cfg = load_config()
    assert (cfg.qc.similarity_min, cfg.qc.similarity_max) == (0.3, 0.995)
    assert cfg.dedup.threshold == 0.98
    assert cfg.mix.ratio == 2.0 and cfg.mix.max_share == 0.7
    # deterministic wrappers: trivial_copy instead of the upper cosine bound, labels allowed
    templates = cfg.qc.settings("templates")
    assert templates["similarity_max"] == 1.0 and not templates["artifact_labels"]
    assert templates["trivial_copy"] and templates["fluency"] and templates["meaning"]
    assert cfg.qc.settings("outputs")["length_ratio_min"] < cfg.qc.length_ratio_min
    assert cfg.qc.judge == "none"  # the LLM judge is opt-in


def test_yaml_and_toml_files(tmp_path):
    y = tmp_path / "c.yaml"
    y.write_text("qc:\n  similarity_min: 0.7\nmix:\n  ratio: 1.5\nmethods: [templates]\n")
    cfg = load_config(y)
    assert cfg.qc.similarity_min == 0.7 and cfg.mix.ratio == 1.5 and cfg.methods == ["templates"]
    t = tmp_path / "c.toml"
    t.write_text("[dedup]\nthreshold = 0.97\n")
    assert load_config(t).dedup.threshold == 0.97


@pytest.mark.parametrize("text, expected", [
    ("qc:\n  similarty_min: 0.7\n", "qc.similarty_min: unknown key"),
    ("qc:\n  similarity_min: 1.5\n", "qc.similarity_min"),
    ("qc:\n  similarity_min: 0.999\n", "similarity_min must be below similarity_max"),
    ("mix:\n  max_share: 1.2\n", "mix.max_share"),
    ("methods: [telepathy]\n", "unknown method 'telepathy'"),
    ("bogus_section: {}\n", "bogus_section: unknown key"),
    ("- a\n- b\n", "must be a mapping"),
    ("qc: [unclosed\n", "cannot parse"),
])
def test_bad_configs_name_file_and_key(tmp_path, text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as err:
        load_config(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(UserError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
