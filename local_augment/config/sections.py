"""The config sections of the engines and the methods (one pydantic model each)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


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
    reply_rewrites: bool = Field(False, description=(
        "ask the LLM to reword each case's reason and alternative for its other rows, so replies "
        "vary beyond the opener; a rewording that loses or adds a detail or flips a negation "
        "falls back to the case's own words (off by default: then replies use the case's words)"))


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
        "conversations per chat() call; 0: batch_size. Progress moves per finished request "
        "either way; a smaller call only bounds the prompts vLLM holds at once"))
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
    system_prompt: bool = Field(True, description=(
        "send instructions to the model as a system message; false for models whose chat "
        "template has no system role (the text then opens the first user message)"))
    dtype: str = Field("auto", description="vLLM weight dtype: auto (the model's), bfloat16, float32…")


PARAPHRASE_AXES = ("more formal", "more casual", "in plainer words", "as a question",
                   "as a request", "with the clauses in another order")


class ParaphraseConfig(Section):
    n: int = Field(3, ge=1, le=16, description="paraphrases asked per instruction")
    style: Literal["single", "list"] = Field("single", description=(
        "single: one rewrite per request, n requests per instruction, each along its own axis, "
        "after few-shot demonstrations (more good rows per source on SmolLM2, see README); "
        "list: one request per instruction asking for a JSON list of n rewrites"))
    axes: list[str] = Field(default_factory=lambda: list(PARAPHRASE_AXES), min_length=1,
                            description="single style: the rewrite directions, one per request")
    demos: int = Field(2, ge=0, le=6, description=(
        "single style: demonstrations (local_augment/prompts/paraphrase_demos.json) before each "
        "request, the one on the request's axis first"))
    prompt: Path | None = Field(None, description="prompt template file overriding the built-in")
    temperature: float | None = Field(None, ge=0, le=2, description=(
        "this method's sampling temperature; unset: llm.temperature"))
    samples: int = Field(1, ge=1, le=8, description=(
        "single style: answers drawn per request; of those that are no copy of the source and "
        "keep every detail and condition, the one with the most new content words becomes the "
        "candidate (README, 'Tuning for a competent model')"))
    sample: float = Field(1.0, gt=0, le=1, description=(
        "share of rows this method runs on, chosen by a seeded hash of each row's id (stable "
        "across shards, executors and resumes); below 1 keeps a CPU run short"))


class OutputsConfig(Section):
    variants: list[Literal["brief", "bulleted"]] = Field(default_factory=lambda: ["brief", "bulleted"])
    brief_max_words: int = Field(50, ge=5, le=500, description=(
        "a brief variant has at most this many words, and at most brief_share of its source's"))
    brief_share: float = Field(0.6, gt=0, lt=1, description=(
        "a brief variant is asked for, and must keep to, at most this share of its source's words"))
    brief_min_words: int = Field(30, ge=1, description=(
        "outputs with fewer words of prose (code blocks not counted) get no brief variant: there "
        "is too little to shorten without losing what answers the request"))
    bulleted_min_sentences: int = Field(2, ge=1, description=(
        "outputs with fewer sentences of prose, or that are lists already, get no bulleted variant"))
    min_output_words: int = Field(12, ge=1, description="outputs shorter than this are not varied")
    temperature: float | None = Field(None, ge=0, le=2, description=(
        "this method's sampling temperature; unset: llm.temperature"))
    samples: int = Field(1, ge=1, le=8, description=(
        "answers drawn per variant; the first that passes the variant's own checks and keeps "
        "every detail of its source becomes the candidate"))
    prompt_dir: Path | None = None
    sample: float = Field(1.0, gt=0, le=1, description=(
        "share of rows this method runs on, chosen by a seeded hash of each row's id (stable "
        "across shards, executors and resumes); below 1 keeps a CPU run short"))
