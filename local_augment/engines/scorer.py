"""Log-likelihood of texts under a small causal LM: fluency and "does this still answer it" scores.

Only forward passes, no generation: any causal LM folder transformers can load will do (the
embedded SmolLM2-135M by default). Texts are scored in length-sorted batches under a token
budget, so padding stays low and memory bounded.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_augment.engines.base import Engine
from local_augment.engines.manifest import pick_device
from local_augment.progress import Tick, stage

log = logging.getLogger("local_augment.scorer")


@dataclass(frozen=True)
class LogLik:
    """Summed natural-log probability of a text's tokens and their count."""

    total: float
    tokens: int

    @property
    def mean(self) -> float:
        """Per-token log-likelihood (0 for an empty text)."""
        return self.total / self.tokens if self.tokens else 0.0


class LMScorer(Engine):
    """A causal LM loaded once from a local folder; `loglik` scores texts, optionally after a prefix."""

    def __init__(self, path: str | Path, *, device: str = "auto", max_tokens: int = 256,
                 batch_tokens: int = 1024) -> None:
        self.path = Path(path)
        self.device = pick_device(device)
        self.max_tokens = max_tokens
        self.batch_tokens = batch_tokens
        self._model = None
        self._tok = None

    def load(self) -> LMScorer:
        if self._model is None:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            log.info("loading scorer %s on %s", self.path, self.device)
            self._tok = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            dtype = torch.float16 if self.device.startswith("cuda") else torch.float32
            self._model = AutoModelForCausalLM.from_pretrained(
                str(self.path), local_files_only=True, dtype=dtype).to(self.device).eval()
        return self

    def unload(self) -> None:
        self._model = None
        self._tok = None

    def describe(self) -> dict[str, Any]:
        return {"name": self.path.name, "engine": f"transformers:{self.device}"}

    def _start_id(self) -> int:
        tok = self._tok
        for tid in (tok.bos_token_id, tok.eos_token_id, tok.pad_token_id):
            if tid is not None:
                return int(tid)
        return 0

    def chat_prefix(self, user: str) -> str:
        """The text before an assistant's answer to `user`, in the model's chat template."""
        self.load()
        tok = self._tok
        if getattr(tok, "chat_template", None):
            return tok.apply_chat_template([{"role": "user", "content": user}], tokenize=False,
                                           add_generation_prompt=True)
        return f"{user}\n"

    def loglik(self, texts: Sequence[str], prefixes: Sequence[str] | None = None,
               max_text_tokens: int | None = None,
               stage_name: str = "qc scorer") -> list[LogLik]:
        """Log-likelihood of each text's tokens (after its prefix, when given).

        The prefix is context only: its tokens are not counted. Long inputs keep the prefix's end
        and the text's start within `max_tokens`.
        """

        self.load()
        if not texts:
            return []
        tok = self._tok
        start = self._start_id()
        prefixes = prefixes or [""] * len(texts)
        seqs: list[tuple[list[int], int]] = []  # (ids, index where the scored text starts)
        for pre, text in zip(prefixes, texts, strict=True):
            p_ids = tok(pre, add_special_tokens=False)["input_ids"] if pre else []
            t_ids = tok(text, add_special_tokens=False)["input_ids"]
            t_ids = t_ids[: min(self.max_tokens - 1, max_text_tokens or self.max_tokens)]
            room = self.max_tokens - 1 - len(t_ids)
            p_ids = p_ids[-room:] if room > 0 and p_ids else []
            ids = [start, *p_ids, *t_ids]
            seqs.append((ids, 1 + len(p_ids)))
        order = sorted(range(len(seqs)), key=lambda i: len(seqs[i][0]))
        out: list[LogLik] = [LogLik(0.0, 0)] * len(seqs)
        pad = tok.pad_token_id if tok.pad_token_id is not None else start
        with stage(stage_name, len(order)) as progress_tick:
            self._batches(seqs, order, out, pad, progress_tick)
        return out

    def _batches(self, seqs: list[tuple[list[int], int]], order: list[int], out: list[LogLik],
                 pad: int, tick: Tick) -> None:
        import torch

        i = 0
        while i < len(order):
            longest = len(seqs[order[i]][0])
            j = i
            while j < len(order) and len(seqs[order[j]][0]) * (j - i + 1) <= self.batch_tokens:
                longest = len(seqs[order[j]][0])
                j += 1
            j = max(j, i + 1)
            batch = order[i:j]
            ids = torch.full((len(batch), longest), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), longest), dtype=torch.long)
            for r, k in enumerate(batch):
                seq = seqs[k][0]
                ids[r, : len(seq)] = torch.tensor(seq)
                mask[r, : len(seq)] = 1
            with torch.inference_mode():
                logits = self._model(input_ids=ids.to(self.device),
                                     attention_mask=mask.to(self.device)).logits.float()
                logp = torch.log_softmax(logits[:, :-1], dim=-1)
                picked = logp.gather(-1, ids[:, 1:].to(self.device).unsqueeze(-1)).squeeze(-1)
            picked = picked.cpu()
            for r, k in enumerate(batch):
                seq, first = seqs[k]
                vals = picked[r, first - 1: len(seq) - 1]
                total = float(vals.sum()) if len(vals) else 0.0
                out[k] = LogLik(total if math.isfinite(total) else -1e9, len(vals))
            tick(len(batch))
            i = j


_LOADED: dict[tuple[str, str], LMScorer] = {}


def get_scorer(path: str | Path, *, device: str = "auto") -> LMScorer:
    """A scorer shared by every run in this process (loaded once, on first use)."""
    key = (str(Path(path).resolve()), pick_device(device))
    if key not in _LOADED:
        _LOADED[key] = LMScorer(path, device=device)
    return _LOADED[key]
