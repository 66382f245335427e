"""Opening a translator: the CTranslate2 conversion when it is installed (`CT2Translator`), else
the transformers model (`TransformersTranslator`, engines/translator.py)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local_augment.engines.manifest import Manifest, ModelSpec
from local_augment.engines.translator import (
    CT2_SUFFIX,
    ENGINES,
    Decode,
    TransformersTranslator,
    Translator,
)
from local_augment.errors import ModelError

log = logging.getLogger("local_augment.translator")


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
