"""Typed run configuration: one section per augmenter and engine, validated before any work.

A config file (YAML or TOML) only needs the keys it changes; unknown keys and out-of-range values
are errors that name the file and the key path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from local_augment.errors import UserError
from local_augment.methods import LLM_METHODS, METHODS  # noqa: F401 - re-exported
from local_augment.models import default_models_dir


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
    batch_size: int = Field(2048, ge=1, description="conversations per in-process chat() call, at most")
    chunk_size: int = Field(0, ge=0, description=(
        "conversations per chat() call between progress updates; 0: 64 on CPU (a few seconds on "
        "a slow host), batch_size on a GPU"))
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
    sample: float = Field(1.0, gt=0, le=1, description=(
        "share of rows this method runs on, chosen by a seeded hash of each row's id (stable "
        "across shards, executors and resumes); below 1 keeps a CPU run short"))


class OutputsConfig(Section):
    variants: list[Literal["brief", "bulleted"]] = Field(default_factory=lambda: ["brief", "bulleted"])
    brief_max_words: int = Field(50, ge=5, le=500)
    min_output_words: int = Field(12, ge=1, description="outputs shorter than this are not varied")
    prompt_dir: Path | None = None
    sample: float = Field(1.0, gt=0, le=1, description=(
        "share of rows this method runs on, chosen by a seeded hash of each row's id (stable "
        "across shards, executors and resumes); below 1 keeps a CPU run short"))


# Which checks run and how strict they are; every field can be overridden per method under
# `qc.methods.<method>`. Defaults were chosen with scripts/bench_qc.py on ../shared/data: the
# judged candidates of a default run (judged/, 518 pairs read by a person) and STS-B dev.
CHECK_FIELDS: dict[str, Any] = {
    "similarity_min": (float, Field(0.6, ge=-1, le=1, description=(
        "embedder cosine below this: out_of_window (meaning changed for certain: on STS-B dev "
        "pairs near cosine 0.6 are rated 2.5 of 5). The meaning check decides above it"))),
    "similarity_max": (float, Field(0.995, ge=-1, le=1, description=(
        "cosine above this: out_of_window (a copy). Deterministic methods use trivial_copy "
        "instead (templates: 1.0), since format wrappers sit above 0.95 yet are valid"))),
    "length_ratio_min": (float, Field(0.5, gt=0, description="variant/source characters, at least")),
    "length_ratio_max": (float, Field(2.0, gt=0, description="variant/source characters, at most")),
    "min_new_words": (int, Field(0, ge=0, description="words absent from the source, at least")),
    "artifacts": (bool, Field(True, description=(
        "artifact:<what>: prompt words (rewrite, JSON, list of 3), labels (Answer:, Sentence 2:), "
        "Question…Answer, [placeholders], assistant meta talk, new numbering, unbalanced "
        "brackets/quotes, degenerate repetition — each only when the source lacks it"))),
    "artifact_labels": (bool, Field(True, description=(
        "look for labels like 'Task:'; off for methods that add them on purpose (templates)"))),
    "artifact_numbering": (bool, Field(True, description=(
        "new list numbering is an artifact; off where lists are the point (outputs)"))),
    "language": (bool, Field(True, description="wrong_language:<code>: not in the source's language")),
    "language_confidence": (float, Field(0.9, gt=0.5, le=1, description=(
        "the identifier's probability for the other language, at least (py3langid)"))),
    "answered": (bool, Field(True, description=(
        "answered_instead: an instruction variant closer to the source's output than to the "
        "source instruction (embedder cosine), or one that contains the instruction followed by "
        "an answer"))),
    "lost_detail": (bool, Field(True, description=(
        "lost_detail:<span>: a number, quote, code, URL, e-mail, placeholder or name of the "
        "source is missing"))),
    "added_detail": (bool, Field(True, description="added_detail:<span>: such a span is new")),
    "negation": (bool, Field(True, description="negation_flip: negated where the source is not")),
    "kind": (bool, Field(True, description=(
        "not_its_kind:<kind>: a brief output variant that is not shorter than brief_max_ratio of "
        "its source, a bulleted one with fewer than two list items"))),
    "brief_max_ratio": (float, Field(0.9, gt=0, le=1, description=(
        "a brief output has at most this share of its source's characters"))),
    "trivial_copy": (bool, Field(True, description=(
        "trivial_copy: only case, punctuation, filler words (please) or one determiner differ"))),
    "fluency": (bool, Field(True, description=(
        "disfluent:<score>: per-token log-likelihood under the scorer LM, minus the source's"))),
    "fluency_min": (float, Field(-2.0, le=0, description=(
        "the lowest fluency score kept (nats per token relative to the source). On judged/ good "
        "template variants score down to -1.4 ('Any idea how to …' is rarer than 'How do I …'), "
        "so the bar sits below that: it rejects garbled text, not stiff wording"))),
    "meaning": (bool, Field(True, description=(
        "meaning_changed:<score>: 0.5·cosine + 0.5·F1 of token-alignment precision and recall"
        " (BERTScore-style, the embedder's own token vectors)"))),
    "meaning_min": (float, Field(0.88, ge=-1, le=1, description=(
        "the lowest meaning score kept: on STS-B dev, pairs scoring 0.875-0.9 are rated 4 of 5 "
        "('mostly equivalent') on average by people, pairs near 0.75 only 3.3"))),
    "fit": (bool, Field(False, description=(
        "output_unfit:<score>: the source's output, scored by the scorer LM after the variant "
        "instruction, is much less likely than after the source instruction — the variant asks "
        "for something else (instruction variants only). Off by default: on judged/ it adds "
        "little beyond the meaning check and costs most of the chain's time on CPU"))),
    "fit_min": (float, Field(-0.25, le=0, description=(
        "the lowest output-fit score kept (nats per output token, variant minus source)"))),
    "min_pass_rate": (float, Field(0.4, ge=0, le=1, description=(
        "low_yield_method:<passed>/<judged>: when fewer than this share of a method's candidates "
        "pass the checks (near-copies not counted), its survivors are dropped too. A generator "
        "that fails that often makes survivors that are mostly QC's misses: with the chain's "
        "error rates measured on judged/ (97% of bad caught, 98% of good kept), survivors stay "
        "above 0.95 precision only while at most ~63% of candidates are bad, i.e. ~40% pass"))),
    "min_judged": (int, Field(20, ge=1, description=(
        "candidates a method needs before low_yield_method is decided"))),
}


def _check_model(name: str, optional: bool) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for key, (typ, info) in CHECK_FIELDS.items():
        if optional:
            fields[key] = (typ | None, Field(None, description=info.description,
                                             **_bounds(info)))
        else:
            fields[key] = (typ, info)
    return create_model(name, __base__=Section, **fields)


def _bounds(info: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for meta in info.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if getattr(meta, attr, None) is not None:
                out[attr] = getattr(meta, attr)
    return out


CheckSettings = _check_model("CheckSettings", optional=False)
MethodChecks = _check_model("MethodChecks", optional=True)


def _default_method_checks() -> dict[str, Any]:
    return {
        # deterministic wrappers: trivial_copy replaces the upper cosine bound; labels are the form
        # meaning 0.75: a wrapper keeps the whole source, its own words lower alignment precision
        # length 3.0: a fixed wrapper ("Please help me with this: …") doubles a short question
        "templates": MethodChecks(similarity_max=1.0, artifact_labels=False, meaning_min=0.75,
                                  length_ratio_max=3.0),
        # a refusal row is new (request and reply); only its request's form is checked
        "refusals": MethodChecks(
            similarity_min=-1.0, similarity_max=1.0, length_ratio_min=1e-6, length_ratio_max=1e6,
            artifact_labels=False, answered=False, lost_detail=False, added_detail=False,
            negation=False, trivial_copy=False, fluency=False, meaning=False, fit=False,
            min_pass_rate=0.0),
        # a brief answer drops words by design: alignment recall falls, so meaning is looser
        "outputs": MethodChecks(
            similarity_min=0.6, similarity_max=0.98, length_ratio_min=0.05,
            artifact_numbering=False, answered=False, fit=False, meaning_min=0.75),
    }


class QCConfig(CheckSettings):  # type: ignore[misc, valid-type]
    methods: dict[str, MethodChecks] = Field(  # type: ignore[valid-type]
        default_factory=_default_method_checks,
        description="per-method overrides of any check setting above",
    )
    scorer_model: str = Field(
        "smollm2-135m-instruct", description=(
            "causal LM (name in models/manifest.toml) for the fluency and output-fit checks; "
            "when it is not installed those checks are skipped with a notice"))
    scorer_device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    judge: Literal["none", "llm"] = Field(
        "none", description=(
            "llm: ask the configured llm 'do these two ask for exactly the same thing?' and read "
            "the yes/no log-probabilities; for users who serve a 7B+ model (weak on SmolLM2)"))
    judge_min: float = Field(0.5, ge=0, le=1, description="P(yes) below this: judge_rejected")
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


def path_fields(cfg: Config) -> list[tuple[BaseModel, str]]:
    """(section, field name) of every config field that holds a file or folder path, by type."""
    found: list[tuple[BaseModel, str]] = []
    for name in Config.model_fields:
        section = getattr(cfg, name)
        if not isinstance(section, BaseModel):
            continue
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
