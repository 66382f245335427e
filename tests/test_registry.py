"""The one list of methods and the augmenter contract: everything reads the registry."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from local_augment.augmenters import build_augmenters
from local_augment.augmenters.base import Augmenter, Context
from local_augment.config import Config, absolute_paths, load_config, path_fields
from local_augment.methods import LLM_METHODS, METHODS, REGISTRY, STANDALONE_METHODS

ROOT = Path(__file__).resolve().parent.parent


def test_registry_is_the_one_list():
    assert Config().methods == list(METHODS)
    assert set(LLM_METHODS) == {"paraphrase", "outputs"}
    assert {"refusals"} == STANDALONE_METHODS
    for name, info in REGISTRY.items():
        module = importlib.import_module(info.module)
        assert callable(module.create)
        classes = [c for c in vars(module).values() if isinstance(c, type)
                   and issubclass(c, Augmenter) and c.__module__ == module.__name__]
        assert [c.name for c in classes] == [name]
        # built-ins declare their settings as plugins do: in the entry, not as a Config field
        assert info.section not in Config.model_fields
        assert type(getattr(Config(), info.section)) is info.settings_model()


@pytest.mark.models
def test_a_method_is_one_module(tmp_path, manifest):
    """A throwaway method registers itself from its own module (tests/throwaway_method.py): the
    config takes its section and its qc settings, the CLI lists it, a run makes its rows."""
    import json

    from click.testing import CliRunner

    from local_augment.cli import cli
    from local_augment.methods import unregister

    try:
        from tests import throwaway_method as plug

        cfg = load_config(overrides={"prefix.phrase": "Quick one:", "qc.fluency": False,
                                     "qc.methods.prefix.meaning_min": 0.5})
        assert cfg.prefix.phrase == "Quick one:" and "prefix" in cfg.methods
        assert cfg.qc.settings("prefix")["meaning_min"] == 0.5
        with pytest.raises(Exception, match="phrase"):
            load_config(overrides={"prefix.phrase": 3})
        src = tmp_path / "in.jsonl"
        src.write_text(json.dumps({"instruction": "Explain how to reset a forgotten password",
                                   "output": "Use the link on the login page."}) + "\n")
        conf = tmp_path / "c.yaml"
        conf.write_text("prefix:\n  phrase: 'Quick one:'\nqc:\n  fluency: false\n")
        res = CliRunner().invoke(cli, ["augment", str(src), "-o", str(tmp_path / "out"), "-q",
                                       "-c", str(conf), "--methods", "prefix"])
        assert res.exit_code == 0, res.output
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        assert report["candidates_per_method"] == {"prefix": 1}
        rows = (tmp_path / "out" / "augmented.jsonl").read_text()
        rejected = (tmp_path / "out" / "rejected.jsonl").read_text()
        assert "Quick one: explain how" in rows + rejected
        assert plug.METHOD.name == "prefix"
    finally:
        unregister("prefix")
    assert "prefix" not in Config().methods


def test_readme_method_table_matches_the_registry():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| method | what it writes | model |"):]
    table = table[: table.index("\n\n")]
    assert re.findall(r"^\| `(\w+)` \|", table, re.M) == list(METHODS)


def test_the_contract_is_enforced():
    with pytest.raises(TypeError, match=r"not in methods\.REGISTRY"):
        class Stray(Augmenter):
            name = "stray"

            def generate(self, batch):  # noqa: ARG002
                return []

    class NoGenerate(Augmenter):
        name = "templates"

    with pytest.raises(TypeError):
        NoGenerate()


@pytest.mark.models
def test_every_setting_of_a_section_is_in_the_fingerprint(manifest):
    """describe() is the config section plus models: a new setting cannot be forgotten."""
    def described(**over):
        cfg = load_config(overrides=over)
        ctx = Context(config=cfg, manifest=manifest, seed=0)
        augs, _ = build_augmenters(ctx, ["templates", "paraphrase"], explicit=True)
        return {a.name: a.describe() for a in augs}

    base = described()
    assert base["templates"]["settings"] == Config().templates.model_dump(mode="json")
    assert base["paraphrase"]["model"]["name"] == "smollm2-135m-instruct"
    assert described(**{"paraphrase.sample": 0.5})["paraphrase"] != base["paraphrase"]
    assert described(**{"templates.per_example": 3})["templates"] != base["templates"]


def test_path_fields_are_found_by_type_and_resolved(tmp_path):
    names = {(type(s).__name__, f) for s, f in path_fields(Config())}
    assert {("RefusalsConfig", "cases"), ("TemplatesConfig", "file"),
            ("ParaphraseConfig", "prompt"), ("OutputsConfig", "prompt_dir"),
            ("RunConfig", "models_dir")} <= names
    (tmp_path / "prompts").mkdir()
    (tmp_path / "cases.jsonl").write_text("")
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("refusals:\n  cases: cases.jsonl\noutputs:\n  prompt_dir: prompts\n")
    cfg = load_config(cfg_file)
    assert cfg.refusals.cases == tmp_path / "cases.jsonl"
    assert cfg.outputs.prompt_dir == tmp_path / "prompts"
    portable = absolute_paths(load_config(overrides={"outputs.prompt_dir": "rel/dir"}))
    assert portable.outputs.prompt_dir.is_absolute() and portable.run.models_dir.is_absolute()


def test_the_models_a_run_records_follow_its_augmenters_not_method_names():
    """A run whose refusals fill in missing fields with the LLM records the LLM; what else a
    method uses (a translator) comes from its augmenter's `models()`, not from its name."""
    from types import SimpleNamespace

    import pytest

    from local_augment.config import load_config
    from local_augment.engines.manifest import load_manifest
    from local_augment.run.setup import models_used

    manifest = load_manifest(ROOT / "models")
    cfg = load_config()
    if not manifest.path(manifest.get(cfg.llm.model)).is_dir():
        pytest.skip("the embedded LLM is not installed (make models)")

    def aug(name, uses_llm, models=None):
        return SimpleNamespace(name=name, uses_llm=uses_llm, models=lambda: dict(models or {}))

    assert "llm" in models_used(manifest, cfg, [aug("refusals", True)])
    assert "llm" not in models_used(manifest, cfg, [aug("refusals", False)])
    assert "llm" not in models_used(manifest, cfg, [aug("templates", False)])
    # any installed model an augmenter names is recorded under its role, with its checksum
    got = models_used(manifest, cfg, [aug("templates", False, {"translator xx": cfg.llm.model})])
    assert got["translator xx"] == manifest.describe(manifest.get(cfg.llm.model))
    assert "translator xx" not in models_used(manifest, cfg, [aug("t", False, {"translator xx": "nope"})])
