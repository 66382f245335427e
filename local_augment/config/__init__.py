"""Typed run configuration: one section per augmenter and engine, validated before any work.

A config file (YAML or TOML) only needs the keys it changes; unknown keys and out-of-range values
are errors that name the file and the key path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from local_augment.config.checks import (
    CHECK_FIELDS,
    CheckSettings,
    MethodChecks,
    default_method_checks,
)
from local_augment.config.fitted import load_model
from local_augment.config.sections import (  # noqa: F401 - the method sections, re-exported
    BacktranslationConfig,
    EmbedderConfig,
    LLMConfig,
    OutputsConfig,
    ParaphraseConfig,
    RefusalsConfig,
    Section,
    TemplatesConfig,
)
from local_augment.errors import UserError
from local_augment.methods import LLM_METHODS, METHODS, REGISTRY  # noqa: F401 - re-exported

JUDGED_BAR = load_model("judged").threshold


def default_models_dir() -> Path:
    """$LOCAL_AUGMENT_MODELS if set, else models/ (where models/manifest.toml lives)."""
    env = os.environ.get("LOCAL_AUGMENT_MODELS")
    return Path(env) if env else Path("models")


class QCConfig(CheckSettings):  # type: ignore[misc, valid-type]
    methods: dict[str, MethodChecks] = Field(  # type: ignore[valid-type]
        default_factory=default_method_checks,
        description="per-method overrides of any check setting above",
    )
    scorer_model: str = Field(
        "smollm2-135m-instruct", description=(
            "causal LM (name in models/manifest.toml) for the fluency and output-fit checks; "
            "when it is not installed those checks are skipped with a notice"))
    scorer_device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    judge: Literal["none", "llm"] = Field(
        "none", description=(
            "llm: the judged regime. The configured llm is asked 'are A and B the same "
            "request?' in both orders (quality/judge.py), and its yes/no log-probabilities join "
            "the embedded signals in the judged equivalence model, which then decides instead "
            "of equivalence_min (examples/judged.yaml; weak on SmolLM2)"))
    judge_min: float = Field(JUDGED_BAR, ge=0, le=1, description=(
        "judged regime: P(same request) below this: judge_rejected. The fitted operating "
        "point of the judged model (scripts/fit_equivalence.py)"))
    judge_min_generated: float | None = Field(None, ge=0, le=1, description=(
        "judged regime, a run's own variants only (not pairs scored by `local-augment qc`): "
        "P(same request) below this, though above judge_min: judge_uncertain. judge_min is "
        "fitted on people's pairs, whose different requests differ plainly; a generator's "
        "errors (a part dropped, a detail changed with the words kept) score higher, so the "
        "bar for its rows is fitted on its own rows read by people "
        "(scripts/fit_generated_bar.py). Unset: judge_min"))
    # the contamination guard (quality/contamination.py): runs when eval_sets is not empty
    eval_sets: list[Path] = Field(default_factory=list, description=(
        "eval sets (Alpaca/chat JSONL, Parquet, or plain text one prompt per line), each named "
        "after its file stem: originals and candidates that passed QC are checked against every "
        "prompt; --eval-set adds to this list"))
    eval_ngram: int = Field(13, ge=1, le=64, description=(
        "n of the normalised-token n-gram match (13 as in lm-evaluation-harness); a prompt "
        "shorter than n is matched on all its tokens"))
    eval_min_tokens: int = Field(3, ge=1, le=64, description=(
        "an eval prompt with fewer tokens matches only a row whose whole prompt is exactly it"))
    eval_threshold: float = Field(0.8, gt=0, le=1, description=(
        "embedder cosine between a row's prompt and an eval prompt at or above this: "
        "contaminated. 0.8 for all-MiniLM-L6-v2, from scripts/bench_contamination.py: 0.95 of "
        "42 hand-written rewordings caught from 0.72 to 0.82; false positives on unrelated "
        "prompts of the same topics 2.0% at 0.78, 0.67% at 0.8, 0 at 0.82; on STS-B dev 80% of "
        "pairs rated 4+ of 5 reach 0.8, 1.5% of pairs rated below 2 do. The lowest value "
        "keeping false positives under 1%"))
    eval_prefilter: float = Field(0.5, ge=-1, le=1, description=(
        "inside a run, a row's prompt is encoded for the embedding check only when its stored "
        "row vector (prompt + output) has at least this cosine with an eval prompt. On "
        "scripts/bench_contamination.py the rewordings' row vectors sit at 0.65 or more and "
        "19% of clean rows pass; -1 encodes every row"))
    eval_exact_max: int = Field(50_000, ge=1, description=(
        "eval prompts above this: IVF index instead of exact search"))
    eval_nprobe: int = Field(16, ge=1, le=4096, description="IVF cells searched per row")
    drop_contaminated: bool = Field(False, description=(
        "drop contaminated originals (to rejected.jsonl with their reason); by default they are "
        "kept and listed in contaminated.jsonl. Their variants are never kept"))

    @model_validator(mode="after")
    def _ordered(self) -> QCConfig:
        for name in self.methods:
            if name not in METHODS:
                raise ValueError(f"qc.methods: unknown method {name!r}; methods: {', '.join(METHODS)}")
        for name in (*METHODS, None):
            s = self.settings(name) if name else self.model_dump()
            where = f"qc.methods.{name}" if name else "qc"
            if s["similarity_min"] >= s["similarity_max"]:
                raise ValueError(f"{where}: similarity_min must be below similarity_max")
            if s["length_ratio_min"] >= s["length_ratio_max"]:
                raise ValueError(f"{where}: length_ratio_min must be below length_ratio_max")
        return self

    def settings(self, method: str) -> dict[str, Any]:
        """The effective check settings for one method."""
        base = {k: getattr(self, k) for k in CHECK_FIELDS}
        over = self.methods.get(method)
        if over is not None:
            base.update({k: v for k, v in over.model_dump().items() if v is not None})
        return base

    def checks(self, method: str) -> CheckSettings:  # type: ignore[valid-type]
        """The effective check settings for one method, typed (a `CheckSettings`)."""
        return CheckSettings.model_construct(**self.settings(method))


class DedupConfig(Section):
    threshold: float = Field(0.98, gt=0, le=1, description="cosine at or above: near-duplicate")
    exact_max: int = Field(20_000, ge=1, description="above this many vectors, use an IVF index")
    nprobe: int = Field(4, ge=1, le=4096)


class MixConfig(Section):
    ratio: float = Field(2.0, ge=0, description="augmented rows per original, target")
    max_share: float = Field(0.7, ge=0, le=1, description="augmented share of the output, at most")
    per_original: int = Field(4, ge=0, description="augmented rows per original, at most")


class RunConfig(Section):
    seed: int = 0
    shard_size: int = Field(2048, ge=1, description="input rows per shard (unit of resume)")
    models_dir: Path = Field(default_factory=default_models_dir, description=(
        "where models/manifest.toml lives (default: $LOCAL_AUGMENT_MODELS, else models)"))


class Config(Section):
    """The run's own sections as fields; every method's section (built-in or plugin) comes
    from its registry entry (`methods.Method.settings`), validated into `Config.<section>`."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)
    methods: list[str] = Field(
        default_factory=lambda: list(METHODS),
        description="methods to run; a method whose models are missing is skipped with a notice",
    )
    run: RunConfig = Field(default_factory=RunConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    qc: QCConfig = Field(default_factory=QCConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    mix: MixConfig = Field(default_factory=MixConfig)

    @model_validator(mode="after")
    def _known_methods(self) -> Config:
        for m in self.methods:
            if m not in METHODS:
                raise ValueError(f"unknown method {m!r}; methods: {', '.join(METHODS)}")
        extra = self.__pydantic_extra__ if self.__pydantic_extra__ is not None else {}
        models = {m.section: model for m in REGISTRY.values()
                  if (model := m.settings_model()) is not None}
        errors: list[dict[str, Any]] = [
            {"type": "extra_forbidden", "loc": (key,), "input": extra[key]}
            for key in extra if key not in models]
        built: dict[str, BaseModel] = {}
        for section, model in models.items():  # in registry order
            value = extra.get(section, {})
            try:
                built[section] = value if isinstance(value, model) else model.model_validate(value)
            except ValidationError as exc:
                errors += [{"type": e["type"], "loc": (section, *e["loc"]), "input": e["input"],
                            "ctx": e.get("ctx", {})} for e in exc.errors()]
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        extra.clear()
        extra.update(built)
        return self

    def sections(self) -> list[tuple[str, BaseModel]]:
        """(name, settings) of every section, registered methods' own sections included."""
        own = [(n, getattr(self, n)) for n in type(self).model_fields]
        return [(n, s) for n, s in own + list((self.__pydantic_extra__ or {}).items())
                if isinstance(s, BaseModel)]


def _format_error(source: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key; check the spelling against the README's config reference"
        parts.append(f"{where}: {msg}")
    return f"{source}: invalid config: " + "; ".join(parts)


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Read a YAML or TOML config (or none: the defaults), apply overrides, validate everything."""
    data: dict[str, Any] = {}
    source = "config"
    if path is not None:
        path = Path(path)
        source = str(path)
        if not path.is_file():
            raise UserError(f"{path}: config file not found")
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise UserError(f"{path}: the config is not UTF-8 (invalid byte at {exc.start}); "
                            "re-encode it as UTF-8") from None
        try:
            if path.suffix.lower() == ".toml":
                data = tomllib.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text) or {}
        except Exception as exc:  # yaml and toml raise their own error types
            raise UserError(f"{path}: cannot parse config: {exc}") from exc
        if not isinstance(data, dict):
            raise UserError(f"{path}: a config file must be a mapping of sections")
    for key, value in (overrides or {}).items():
        _set_path(data, key, value)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as exc:
        raise UserError(_format_error(source, exc)) from None
    if path is not None:
        cfg = _resolve_paths(cfg, Path(path).parent)
    return cfg


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, last = dotted.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value


def path_fields(cfg: Config) -> list[tuple[BaseModel, str]]:
    """(section, field name) of every config field that holds a file or folder path, by type."""
    found: list[tuple[BaseModel, str]] = []
    for _, section in cfg.sections():
        for field, info in type(section).model_fields.items():
            if "Path" in str(info.annotation):
                found.append((section, field))
    return found


def _relative_to(p: Path | None, base: Path) -> Path | None:
    if p is None or p.is_absolute() or p.exists():
        return p
    return base / p if (base / p).exists() else p


def _resolve_paths(cfg: Config, base: Path) -> Config:
    """Relative file paths in a config file are relative to that file (when they exist there)."""
    for section, field in path_fields(cfg):
        p = getattr(section, field)
        if isinstance(p, list):
            setattr(section, field, [_relative_to(Path(x), base) for x in p])
        else:
            setattr(section, field, _relative_to(p, base))
    return cfg


def absolute_paths(cfg: Config) -> Config:
    """A copy with every path field absolute, for workers that do not share this cwd."""
    cfg = cfg.model_copy(deep=True)
    for section, field in path_fields(cfg):
        p = getattr(section, field)
        if isinstance(p, list):
            setattr(section, field, [Path(x).resolve() for x in p])
        elif p is not None:
            setattr(section, field, Path(p).resolve())
    return cfg
