"""Backtranslation: English -> pivot -> English on local MarianMT models, per configured pivot.

The instruction (and `input` when configured) is translated, never the output. Protected spans
(code, URLs, e-mails, numbers, placeholders) are masked first and restored last; texts are cut
into lines so line breaks survive. A whole shard goes through one `translate` call per direction
per pivot (identical lines are translated once). Degenerate outputs become candidates with a
reason instead of reaching QC: `empty_output`, `untranslated_pivot`, `repetition_loop`,
`length_explosion:<ratio>`, `lost_span:<span>`, `identical_to_source`, and `same_as_sibling`
when another pivot or sample already gave the same text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from local_augment.augmenters.base import Augmenter, Context
from local_augment.config import BacktranslationConfig
from local_augment.data.records import Candidate, Example
from local_augment.engines.cache import ModelCache
from local_augment.engines.protocols import TextTranslator
from local_augment.engines.translator import Decode
from local_augment.engines.translators import open_translator
from local_augment.errors import ModelError
from local_augment.quality import spans

log = logging.getLogger("local_augment.backtranslation")
SAME_AS_SIBLING = "same_as_sibling"  # another pivot or sample of this text gave it already

SOURCE_LANG = "en"
_WORD = re.compile(r"[^\W\d_]{2,}")
_LINES = re.compile(r"(\n+)")


@dataclass
class Pivot:
    """One pivot language: its two translators and their provenance records."""

    lang: str
    forward: TextTranslator
    backward: TextTranslator
    forward_info: dict[str, Any]
    backward_info: dict[str, Any]

    @property
    def engine(self) -> str:
        return self.forward.engine

    def model(self) -> dict[str, Any]:
        strip = lambda d: {k: v for k, v in d.items() if k != "engine"}  # noqa: E731
        return {
            "name": f"{self.forward_info['name']}+{self.backward_info['name']}",
            "engine": self.engine,
            "forward": strip(self.forward_info),
            "backward": strip(self.backward_info),
        }


@dataclass
class _Item:
    """One text to backtranslate: where it comes from, its masked lines."""

    example: Example
    field: str
    index_base: int
    source: str
    masked: spans.Masked
    parts: list[str]  # alternating text / line-break parts of the masked text
    slots: dict[int, int]  # part position -> unique segment index


def decode_from_config(cfg: BacktranslationConfig, seed: int) -> Decode:
    return Decode(decoding=cfg.decoding, beam_size=cfg.beam_size, temperature=cfg.temperature,
                  max_length=cfg.max_length, batch_size=cfg.batch_size, seed=seed)


def open_pivot(ctx: Context, lang: str) -> Pivot:
    """The two translators of one pivot; ModelError names a missing model and its installer."""
    cfg = ctx.config.backtranslation
    decode = decode_from_config(cfg, ctx.seed)
    ends = []
    for src, tgt in ((SOURCE_LANG, lang), (lang, SOURCE_LANG)):
        spec = ctx.manifest.translator(src, tgt)
        if spec is None:
            raise ModelError(
                f"backtranslation pivot {lang!r}: no {src}->{tgt} translator in "
                f"{ctx.manifest.root / 'manifest.toml'} (expected e.g. opus-mt-{src}-{tgt} with "
                f'pair = ["{src}", "{tgt}"]); see models/README.md'
            )
        ends.append(open_translator(
            ctx.manifest, spec.name, engine=cfg.engine, decode=decode, device=cfg.device,
            compute_type=cfg.compute_type, threads=cfg.threads,
        ))
    (fwd, fwd_info), (bwd, bwd_info) = ends
    return Pivot(lang, fwd, bwd, fwd_info, bwd_info)


def create(ctx: Context) -> Augmenter:
    cfg = ctx.config.backtranslation
    pivots = [open_pivot(ctx, lang) for lang in dict.fromkeys(cfg.pivots)]
    return Backtranslation(cfg, pivots, seed=ctx.seed, cache=ctx.cache)


# -- degenerate outputs -------------------------------------------------------------------------

def _norm(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".!?。")


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(spans._MASK_RE.sub(" ", text))]


def untranslated(source: str, pivot: str, threshold: float = 0.8) -> bool:
    """The pivot text is still the source language: most of its words are the source's."""
    pw, sw = _words(pivot), set(_words(source))
    if not pw or not sw:
        return _norm(pivot) == _norm(source)
    return sum(w in sw for w in pw) / len(pw) >= threshold


def repetition_loop(text: str, min_repeats: int = 4, max_ngram: int = 4) -> bool:
    """A word n-gram (n <= 4) repeated back to back `min_repeats` times, or one word that is
    more than half of a 12+ word text, or a character run of 12+."""
    words = text.split()
    for size in range(1, max_ngram + 1):
        need = size * min_repeats
        for start in range(0, len(words) - need + 1):
            gram = words[start:start + size]
            if all(words[start + k * size:start + (k + 1) * size] == gram
                   for k in range(1, min_repeats)):
                return True
    if len(words) >= 12:
        top = max(words.count(w) for w in set(words))
        if top > len(words) / 2:
            return True
    return re.search(r"(\S)\1{11,}", text) is not None or re.search(r"(\S{2,6})\1{5,}", text) is not None


def degenerate(source: str, masked_source: str, pivot: str, output: str, lost: list[str],
               max_ratio: float) -> str | None:
    """The reason an output is unusable, or None."""
    if not output.strip():
        return "empty_output"
    if untranslated(masked_source, pivot):
        return "untranslated_pivot"
    if repetition_loop(output) or repetition_loop(pivot):
        return "repetition_loop"
    ratio = len(output) / max(len(source), 1)
    if ratio > max_ratio:
        return f"length_explosion:{ratio:.2f}"
    if lost:
        return f"lost_span:{spans.short(lost[0])}"
    if _norm(output) == _norm(source):
        return "identical_to_source"
    return None


# -- the augmenter ------------------------------------------------------------------------------

class Backtranslation(Augmenter):
    """en -> pivot -> en for every configured pivot, n outputs per text and pivot."""

    name = "backtranslation"

    def __init__(self, cfg: BacktranslationConfig, pivots: Sequence[Pivot], *, seed: int = 0,
                 cache: ModelCache | None = None) -> None:
        if not pivots:
            raise ValueError("backtranslation needs at least one pivot")
        self.cfg = self.settings = cfg
        self.pivots = list(pivots)
        self.seed = seed
        self.n = cfg.n
        self.fields = list(dict.fromkeys(cfg.fields))
        self.cache = cache or ModelCache(None)

    def _translate(self, translator: TextTranslator, info: dict[str, Any], texts: list[str],
                   n: int) -> list[list[str]]:
        """Translations of `texts`, from the model-output cache where already made."""
        key = f"{info.get('name')}:{info.get('checksum')}:{translator.engine}"
        params = translator.decode.params(n)
        return self.cache.map(key, params, texts, lambda todo: translator.translate(todo, n=n))

    def load(self) -> None:
        for p in self.pivots:
            p.forward.load()
            p.backward.load()

    def unload(self) -> None:
        for p in self.pivots:
            p.forward.unload()
            p.backward.unload()

    def models(self) -> dict[str, str]:
        out = {}
        for p in self.pivots:
            out[f"translator {SOURCE_LANG}-{p.lang}"] = p.forward_info["name"]
            out[f"translator {p.lang}-{SOURCE_LANG}"] = p.backward_info["name"]
        return out

    def details(self) -> dict[str, Any]:
        return {"pivots": {p.lang: p.model() for p in self.pivots},
                "decode": self.pivots[0].forward.decode.params(self.n)}

    def _items(self, batch: Sequence[Example]) -> tuple[list[_Item], list[str]]:
        """The texts to translate and the unique masked segments they are made of."""
        items: list[_Item] = []
        segments: dict[str, int] = {}
        per_field = len(self.pivots) * self.n
        for ex in batch:
            for fi, fld in enumerate(self.fields):
                text = getattr(ex, fld) or ""
                if not text.strip():
                    continue
                masked = spans.mask(text)
                parts = _LINES.split(masked.text) if self.cfg.split_lines else [masked.text]
                slots: dict[int, int] = {}
                for pos, part in enumerate(parts):
                    if pos % 2 == 0 and part.strip() and not spans.has_mask_only(part):
                        slots[pos] = segments.setdefault(part.strip(), len(segments))
                if not slots:  # nothing but code, numbers or links: nothing to translate
                    continue
                items.append(_Item(ex, fld, fi * per_field, text, masked, parts, slots))
        return items, list(segments)

    @staticmethod
    def _assemble(item: _Item, translated: Sequence[str]) -> str:
        out = []
        for pos, part in enumerate(item.parts):
            seg = item.slots.get(pos)
            if seg is None:
                out.append(part)
            else:
                lead = part[: len(part) - len(part.lstrip())]
                trail = part[len(part.rstrip()):]
                out.append(lead + translated[seg] + trail)
        return "".join(out)

    def generate(self, batch: Sequence[Example]) -> list[Candidate]:
        items, segments = self._items(batch)
        if not items:
            return []
        n = self.n
        results: list[tuple[list[str], list[list[str]]]] = []
        for pivot in self.pivots:
            there = [h[0] for h in self._translate(pivot.forward, pivot.forward_info, segments, 1)]
            results.append((there, self._translate(pivot.backward, pivot.backward_info, there, n)))
            log.debug("pivot %s: %d segments", pivot.lang, len(segments))
        out: list[Candidate] = []
        for item in items:
            offered: set[str] = set()  # pivots and samples that agree make one candidate
            for pi, pivot in enumerate(self.pivots):
                there, back = results[pi]
                pivot_text = self._assemble(item, there)
                params = {"pivot": pivot.lang, "engine": pivot.engine,
                          **pivot.forward.decode.params(n)}
                for k in range(n):
                    raw = self._assemble(item, [b[k] for b in back])
                    text, lost = spans.restore(raw, item.masked)
                    reason = degenerate(item.source, item.masked.text, pivot_text, text, lost,
                                        self.cfg.max_length_ratio)
                    key = " ".join(text.casefold().split())
                    if reason is None and key in offered:
                        reason = SAME_AS_SIBLING
                    offered.add(key)
                    out.append(Candidate(
                        source_id=item.example.id, method=self.name,
                        index=item.index_base + pi * n + k,
                        row=item.example.replaced(**{item.field: text}),
                        field=item.field, text=text, source_text=item.source,
                        params=dict(params), model=pivot.model(), seed=self.seed,
                        reason=reason, raw=pivot_text,
                    ))
        return out
