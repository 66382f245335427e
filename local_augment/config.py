"""Typed run configuration: one section per augmenter and engine, validated before any work.

A config file (YAML or TOML) only needs the keys it changes; unknown keys and out-of-range values
are errors that name the file and the key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from local_augment.errors import UserError

METHODS = ("templates", "refusals", "backtranslation", "paraphrase", "outputs")
LLM_METHODS = ("paraphrase", "outputs")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class EmbedderConfig(Section):
    model: str = Field("all-minilm-l6-v2", description="embedder name in models/manifest.toml")
    batch_size: int = Field(128, ge=1, le=8192, description="texts per encode batch")
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")


class TemplatesConfig(Section):
    per_example: int = Field(2, ge=1, le=10, description="template variants kept per example")
    forms: list[Literal["question", "request", "imperative", "label"]] = Field(
        default_factory=lambda: ["question", "request", "imperative", "label"],
        description="instruction forms to produce",
    )
    file: Path | None = Field(None, description="YAML file overriding the built-in template sets")


class RefusalsConfig(Section):
    cases: Path | None = Field(
        None, description="JSONL of {instruction, reason?, alternative?}; none: method is skipped"
    )
    per_case: int = Field(3, ge=1, le=10, description="refusal rows per case")
    mode: Literal["auto", "template", "llm"] = Field(
        "auto", description="template needs reason+alternative on every case; llm writes missing ones"
    )


class BacktranslationConfig(Section):
    pivots: list[str] = Field(default_factory=lambda: ["de"], min_length=1)
    engine: Literal["auto", "ctranslate2", "transformers"] = "auto"
    decoding: Literal["greedy", "beam", "sample"] = "greedy"
    n: int = Field(1, ge=1, le=8, description="outputs per input per pivot")
    beam_size: int = Field(4, ge=1, le=16)
    temperature: float = Field(0.8, gt=0, le=2)
    fields: list[Literal["instruction", "input"]] = Field(default_factory=lambda: ["instruction"])
    batch_size: int = Field(64, ge=1, le=4096)
    max_length: int = Field(256, ge=8, le=1024, description="max tokens per translation")
    device: str = "auto"
    compute_type: str = Field(
        "auto", description="ctranslate2 compute type; auto: int8 on CPU, int8_float16 on GPU"
    )
    threads: int = Field(0, ge=0, le=256, description="ctranslate2 CPU threads; 0: all cores")
    max_length_ratio: float = Field(
        3.0, gt=1, description="output/source length (chars) above this: length_explosion"
    )
    split_lines: bool = Field(True, description="translate line by line, keeping line breaks")


class LLMConfig(Section):
    engine: Literal["vllm", "server"] = "vllm"
    model: str = Field("smollm2-135m-instruct", description="LLM name in models/manifest.toml")
    base_url: str = Field("http://127.0.0.1:8000/v1", description="server mode endpoint")
    served_model: str | None = Field(None, description="model name the server knows; default: model")
    api_key: str = "EMPTY"
    max_concurrency: int = Field(64, ge=1, le=4096)
    timeout_s: float = Field(120.0, gt=0)
    retries: int = Field(4, ge=0, le=20)
    batch_size: int = Field(2048, ge=1, description="conversations per in-process chat() call")
    max_tokens: int = Field(256, ge=8, le=8192)
    temperature: float = Field(0.8, ge=0, le=2)
    top_k: int = Field(50, ge=-1)
    top_p: float = Field(1.0, gt=0, le=1)
    guided_json: bool = Field(True, description="ask vLLM for JSON-schema constrained output")
    max_model_len: int = Field(2048, ge=256)
    enforce_eager: bool = Field(True, description="skip graph capture: faster start, for CPU")
    memory_gib: float = Field(2.0, gt=0, description="CPU: KV cache GiB; GPU: ignored")
    gpu_memory_utilization: float = Field(0.85, gt=0, le=1)
    tensor_parallel_size: int = Field(1, ge=1)
    dtype: str = Field("auto", description="vLLM weight dtype: auto (the model's), bfloat16, float32…")


class ParaphraseConfig(Section):
    n: int = Field(3, ge=1, le=16, description="paraphrases asked per instruction")
    prompt: Path | None = Field(None, description="prompt template file overriding the built-in")


class OutputsConfig(Section):
    variants: list[Literal["brief", "bulleted"]] = Field(default_factory=lambda: ["brief", "bulleted"])
    brief_max_words: int = Field(50, ge=5, le=500)
    min_output_words: int = Field(12, ge=1, description="outputs shorter than this are not varied")
    prompt_dir: Path | None = None


class WindowConfig(Section):
    similarity_min: float | None = Field(None, ge=-1, le=1)
    similarity_max: float | None = Field(None, ge=-1, le=1)
    length_ratio_min: float | None = Field(None, gt=0)
    length_ratio_max: float | None = Field(None, gt=0)
    min_new_words: int | None = Field(None, ge=0)


class QCConfig(Section):
    similarity_min: float = Field(0.75, ge=-1, le=1, description="below: meaning likely changed")
    similarity_max: float = Field(0.95, ge=-1, le=1, description="above: too close to a copy")
    length_ratio_min: float = Field(0.5, gt=0)
    length_ratio_max: float = Field(2.0, gt=0)
    min_new_words: int = Field(0, ge=0, description="words absent from the source, at least")
    methods: dict[str, WindowConfig] = Field(
        default_factory=lambda: {
            "outputs": WindowConfig(similarity_min=0.6, similarity_max=0.98, length_ratio_min=0.05),
            "refusals": WindowConfig(similarity_min=-1.0, similarity_max=1.0,
                                     length_ratio_min=0.01, length_ratio_max=100.0),
        },
        description="per-method overrides of the window",
    )

    @model_validator(mode="after")
    def _ordered(self) -> QCConfig:
        if self.similarity_min >= self.similarity_max:
            raise ValueError("similarity_min must be below similarity_max")
        if self.length_ratio_min >= self.length_ratio_max:
            raise ValueError("length_ratio_min must be below length_ratio_max")
        for name in self.methods:
            if name not in METHODS:
                raise ValueError(f"qc.methods: unknown method {name!r}; methods: {', '.join(METHODS)}")
        return self

    def window(self, method: str) -> dict[str, float]:
        """The effective thresholds for one method."""
        base = {k: getattr(self, k) for k in WindowConfig.model_fields}
        over = self.methods.get(method)
        if over is not None:
            base.update({k: v for k, v in over.model_dump().items() if v is not None})
        return base


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
    models_dir: Path = Field(Path("models"), description="where models/manifest.toml lives")


class Config(Section):
    methods: list[str] = Field(
        default_factory=lambda: list(METHODS),
        description="methods to run; a method whose models are missing is skipped with a notice",
    )
    run: RunConfig = Field(default_factory=RunConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    templates: TemplatesConfig = Field(default_factory=TemplatesConfig)
    refusals: RefusalsConfig = Field(default_factory=RefusalsConfig)
    backtranslation: BacktranslationConfig = Field(default_factory=BacktranslationConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    paraphrase: ParaphraseConfig = Field(default_factory=ParaphraseConfig)
    outputs: OutputsConfig = Field(default_factory=OutputsConfig)
    qc: QCConfig = Field(default_factory=QCConfig)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    mix: MixConfig = Field(default_factory=MixConfig)

    @model_validator(mode="after")
    def _known_methods(self) -> Config:
        for m in self.methods:
            if m not in METHODS:
                raise ValueError(f"unknown method {m!r}; methods: {', '.join(METHODS)}")
        return self


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
        text = path.read_text(encoding="utf-8")
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


def _resolve_paths(cfg: Config, base: Path) -> Config:
    """Relative file paths in a config file are relative to that file."""
    def fix(p: Path | None) -> Path | None:
        if p is None or p.is_absolute() or p.exists():
            return p
        candidate = base / p
        return candidate if candidate.exists() else p

    cfg.refusals.cases = fix(cfg.refusals.cases)
    cfg.templates.file = fix(cfg.templates.file)
    cfg.paraphrase.prompt = fix(cfg.paraphrase.prompt)
    return cfg
