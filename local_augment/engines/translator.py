"""Machine translation with MarianMT models: one model is one direction.

Two engines behind one interface, `translate(texts, *, n=1) -> list[list[str]]` (n outputs per
input, in input order):

- `TransformersTranslator`: MarianMTModel from a local safetensors folder; texts are sorted by
  token length and cut into buckets so padding stays small, then put back in input order.
  CUDA in fp16 when present, CPU fp32 otherwise.
- `CT2Translator`: the CTranslate2 conversion of the same model (int8 on CPU, int8_float16 on
  GPU); CTranslate2 sorts and batches itself. Tokenisation uses the model's MarianTokenizer.

For greedy decoding both produce the same tokens for the same model (at equal precision).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from local_augment.engines.base import Engine
from local_augment.engines.manifest import Manifest, ModelSpec, pick_device
from local_augment.errors import ModelError
from local_augment.progress import chunks, stage

log = logging.getLogger("local_augment.translator")
CHUNK = 512  # texts per translate call: progress moves, batches stay full

Decoding = Literal["greedy", "beam", "sample"]
ENGINES = ("ctranslate2", "transformers")
CT2_SUFFIX = "-ct2"


@dataclass(frozen=True)
class Decode:
    """Decoding settings shared by both engines."""

    decoding: Decoding = "greedy"
    beam_size: int = 4
    temperature: float = 0.8
    max_length: int = 256
    batch_size: int = 64
    seed: int = 0
    min_length: int = 0  # benchmarks force a fixed output length with min_length == max_length

    def params(self, n: int) -> dict[str, Any]:
        """The settings that shape the output, for provenance."""
        out: dict[str, Any] = {"decoding": self.decoding, "n": n, "max_length": self.max_length}
        if self.decoding == "beam" or (n > 1 and self.decoding == "greedy"):
            out["beam_size"] = max(self.beam_size, n)  # greedy with n > 1: the n best beams
        elif self.decoding == "sample":
            out["temperature"] = self.temperature
        return out


class Translator(Engine):
    """One translation direction; `load()` is idempotent, `translate` loads on first use."""

    engine: str = "translator"

    def __init__(self, path: str | Path, *, decode: Decode | None = None, device: str = "auto") -> None:
        self.path = Path(path)
        self.decode = decode or Decode()
        self.device = device
        self._tok: Any = None

    @abstractmethod
    def load(self) -> Translator:
        """Load the model and its tokenizer (once)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.path.name, "engine": self.engine}

    def unload(self) -> None:
        self._tok = None

    def translate_tokens(self, texts: Sequence[str], *, n: int = 1) -> list[list[list[str]]]:
        """Output pieces (no special tokens) per input, n hypotheses each, in input order."""
        raise NotImplementedError

    def translate(self, texts: Sequence[str], *, n: int = 1) -> list[list[str]]:
        """n translations per text, in input order; empty texts translate to empty strings."""
        if n < 1:
            raise ValueError("n must be at least 1")
        texts = list(texts)
        keep = [i for i, t in enumerate(texts) if t.strip()]
        out: list[list[str]] = [[""] * n for _ in texts]
        if not keep:
            return out
        with stage(f"translate ({self.engine})", len(keep)) as tick:
            for part in chunks(len(keep), CHUNK):
                idx = [keep[k] for k in part]
                hyps = self.translate_tokens([texts[i] for i in idx], n=n)
                for i, pieces in zip(idx, hyps, strict=True):
                    out[i] = [self._detok(p) for p in pieces]
                tick(len(idx))
        return out

    def _tokenizer(self) -> Any:
        if self._tok is None:
            from transformers import MarianTokenizer

            try:
                self._tok = MarianTokenizer.from_pretrained(str(self.path), local_files_only=True)
            except (OSError, ValueError) as exc:
                raise ModelError(f"cannot load the tokenizer in {self.path}: {exc}") from exc
        return self._tok

    def _encode_pieces(self, texts: Sequence[str]) -> list[list[str]]:
        """Source pieces with the closing </s>, cut at max_length."""
        tok = self._tokenizer()
        ids = tok(list(texts), truncation=True, max_length=self.decode.max_length)["input_ids"]
        return [tok.convert_ids_to_tokens(x) for x in ids]

    def _detok(self, pieces: list[str]) -> str:
        tok = self._tokenizer()
        return tok.convert_tokens_to_string(pieces).strip()


class TransformersTranslator(Translator):
    """MarianMTModel + MarianTokenizer from a local folder, batched by length."""

    engine = "transformers"

    def __init__(self, path: str | Path, *, decode: Decode | None = None, device: str = "auto") -> None:
        super().__init__(path, decode=decode, device=device)
        self._model: Any = None

    def load(self) -> TransformersTranslator:
        if self._model is not None:
            return self
        import torch
        from transformers import MarianMTModel

        self.device = pick_device(self.device)
        dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
        self._tokenizer()
        try:
            model = MarianMTModel.from_pretrained(
                str(self.path), local_files_only=True, use_safetensors=True, dtype=dtype)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load the MarianMT model in {self.path}: {exc}") from exc
        from transformers import GenerationConfig

        model.generation_config = GenerationConfig()  # every call passes its own settings
        self._model = model.to(self.device).eval()
        log.info("loaded %s (transformers, %s, %s)", self.path.name, self.device, dtype)
        return self

    def unload(self) -> None:
        self._model = None
        super().unload()

    def _generation_config(self, n: int) -> Any:
        from transformers import GenerationConfig

        cfg = self._model.config
        d = self.decode
        common = dict(
            max_new_tokens=d.max_length, num_return_sequences=n, eos_token_id=cfg.eos_token_id,
            pad_token_id=cfg.pad_token_id, decoder_start_token_id=cfg.decoder_start_token_id,
            bad_words_ids=[[cfg.pad_token_id]],
        )
        if d.min_length:
            common["min_new_tokens"] = d.min_length
        if d.decoding == "sample":
            return GenerationConfig(do_sample=True, num_beams=1, temperature=d.temperature,
                                    top_k=0, top_p=1.0, **common)
        beams = max(d.beam_size, n) if d.decoding == "beam" or n > 1 else 1
        return GenerationConfig(do_sample=False, num_beams=beams, length_penalty=1.0,
                                early_stopping=beams > 1, **common)

    def translate_tokens(self, texts: Sequence[str], *, n: int = 1) -> list[list[list[str]]]:
        import torch

        self.load()
        tok = self._tokenizer()
        enc = tok(list(texts), truncation=True, max_length=self.decode.max_length)["input_ids"]
        order = sorted(range(len(enc)), key=lambda i: (-len(enc[i]), i))
        gen_cfg = self._generation_config(n)
        special = set(tok.all_special_ids)
        out: list[list[list[str]]] = [[] for _ in enc]
        bs = self.decode.batch_size
        with torch.inference_mode(), torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.decode.seed)
            for start in range(0, len(order), bs):
                idx = order[start:start + bs]
                batch = tok.pad({"input_ids": [enc[i] for i in idx]}, return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                seqs = self._model.generate(**batch, generation_config=gen_cfg).tolist()
                for j, i in enumerate(idx):
                    rows = seqs[j * n:(j + 1) * n]
                    out[i] = [tok.convert_ids_to_tokens([t for t in r if t not in special])
                              for r in rows]
        return out


class CT2Translator(Translator):
    """A CTranslate2 conversion (`ct2_path`) of the MarianMT folder at `path` (its tokenizer)."""

    engine = "ctranslate2"

    def __init__(self, path: str | Path, ct2_path: str | Path, *, decode: Decode | None = None,
                 device: str = "auto", compute_type: str = "auto", threads: int = 0) -> None:
        super().__init__(path, decode=decode, device=device)
        self.ct2_path = Path(ct2_path)
        self.compute_type = compute_type
        self.threads = threads
        self._model: Any = None

    def load(self) -> CT2Translator:
        if self._model is not None:
            return self
        import ctranslate2

        self._tokenizer()
        if self.device == "auto":
            self.device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        kind, _, index = self.device.partition(":")
        ctype = self.compute_type
        if ctype == "auto":
            ctype = "int8_float16" if kind == "cuda" else "int8"
        try:
            self._model = ctranslate2.Translator(
                str(self.ct2_path), device=kind, device_index=int(index or 0), compute_type=ctype,
                intra_threads=self.threads,
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load the CTranslate2 model in {self.ct2_path}: {exc}") from exc
        self.compute_type = ctype
        log.info("loaded %s (ctranslate2, %s, %s)", self.ct2_path.name, self.device, ctype)
        return self

    def unload(self) -> None:
        self._model = None
        super().unload()

    def _options(self, n: int) -> dict[str, Any]:
        d = self.decode
        opts: dict[str, Any] = dict(
            max_batch_size=d.batch_size, batch_type="examples", max_decoding_length=d.max_length,
            num_hypotheses=n, return_scores=False, min_decoding_length=max(d.min_length, 1),
        )
        if d.decoding == "sample":
            opts.update(beam_size=1, sampling_topk=0, sampling_temperature=d.temperature)
        else:
            beams = max(d.beam_size, n) if d.decoding == "beam" or n > 1 else 1
            opts.update(beam_size=beams, length_penalty=1.0)
        return opts

    def translate_tokens(self, texts: Sequence[str], *, n: int = 1) -> list[list[list[str]]]:
        import ctranslate2

        self.load()
        source = self._encode_pieces(texts)
        opts = self._options(n)
        if self.decode.decoding == "sample":
            ctranslate2.set_random_seed(self.decode.seed)
            if n > 1:  # sampling returns one hypothesis per input: repeat the inputs
                reps = [s for s in source for _ in range(n)]
                res = self._model.translate_batch(reps, **{**opts, "num_hypotheses": 1})
                flat = [r.hypotheses[0] for r in res]
                return [flat[i * n:(i + 1) * n] for i in range(len(source))]
        res = self._model.translate_batch(source, **opts)
        return [list(r.hypotheses[:n]) for r in res]


def ct2_spec(manifest: Manifest, spec: ModelSpec) -> ModelSpec | None:
    """The manifest entry of a translator's CTranslate2 conversion (`<name>-ct2`), if listed."""
    conv = manifest.models.get(spec.name + CT2_SUFFIX)
    return conv if conv is not None and conv.role == "translator-ct2" else None


def choose_engine(manifest: Manifest, spec: ModelSpec, engine: str) -> str:
    """`auto` is ctranslate2 when the model's conversion is installed and verified (and the
    package importable), else transformers; an explicit engine is returned as is."""
    if engine != "auto":
        return engine
    conv = ct2_spec(manifest, spec)
    if conv is None or manifest.status(conv)[0] != "ok":
        return "transformers"
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        log.info("ctranslate2 is not installed: using transformers for %s", spec.name)
        return "transformers"
    return "ctranslate2"


def open_translator(manifest: Manifest, name: str, *, engine: str = "auto",
                    decode: Decode | None = None, device: str = "auto",
                    compute_type: str = "auto", threads: int = 0) -> tuple[Translator, dict[str, Any]]:
    """A (not yet loaded) translator for manifest model `name`, and its provenance record.

    Raises ModelError naming the missing model and its install command.
    """
    spec, path = manifest.require(name, "translator")
    chosen = choose_engine(manifest, spec, engine)
    if chosen == "ctranslate2":
        conv = ct2_spec(manifest, spec)
        if conv is None:
            raise ModelError(f"model {name} has no CTranslate2 conversion ({name}{CT2_SUFFIX}) in "
                             f"{manifest.root / 'manifest.toml'}; use engine transformers or auto")
        _, ct2_path = manifest.require(conv.name, "translator-ct2")
        tr: Translator = CT2Translator(path, ct2_path, decode=decode, device=device,
                                       compute_type=compute_type, threads=threads)
        info = manifest.describe(spec, chosen)
        info["ct2_checksum"] = manifest.checksum(conv)
    elif chosen == "transformers":
        tr = TransformersTranslator(path, decode=decode, device=device)
        info = manifest.describe(spec, chosen)
    else:
        raise ModelError(f"unknown translation engine {chosen!r}; engines: {', '.join(ENGINES)}")
    return tr, info
