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
from local_augment.engines.manifest import pick_device
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
