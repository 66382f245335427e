"""The quality-control chain: every candidate through checks, cheapest first, one reason each.

Order: lexical checks (artifacts, trivial copies, lost/added details, negation), length and
new words, language, embedder scores (cosine window, answered-instead, meaning), scorer-LM scores
(fluency, output fit), and the optional LLM judge. A pair rejected by a cheap check is not
scored by the expensive ones (unless `exhaustive`, for benchmarks and `local-augment qc`
calibration). Each check is switched and tuned per method through `qc` (config.CHECK_FIELDS).

The same chain runs in every `augment` run (local and Ray executors, through `shard.process.score`) and
in `local-augment qc`, which scores pairs from a file.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from local_augment.config import QCConfig
from local_augment.config.fitted import load_model
from local_augment.quality import lexical, reasons
from local_augment.quality.checks import run_lexical
from local_augment.quality.equivalence import log_odds, signals
from local_augment.quality.judge import Judge
from local_augment.quality.language import wrong_language
from local_augment.quality.meaning import align, meaning_score
from local_augment.quality.pair import Batch, Pair, Verdict

if TYPE_CHECKING:
    from local_augment.config.checks import CheckSettings
    from local_augment.engines.context import Context
    from local_augment.engines.protocols import Encoder, Scorer

    # a scorer, a zero-argument factory of one (None: no scorer model installed), or None
    ScorerSource = Scorer | Callable[[], Scorer | None] | None

log = logging.getLogger("local_augment.qc")


class QualityChain:
    """Runs the checks over batches of pairs; models are passed in or created on first use.

    `scorer` is an LMScorer, a zero-argument factory returning one (or None when no scorer model
    is installed: fluency and fit are then skipped and `notices` says so); `judge` gives
    (P(yes) source→variant, P(yes) variant→source) for pairs of instructions when `qc.judge` is
    `llm` (the judged regime: the judged equivalence model decides those pairs, the embedded
    equivalence bar does not apply to them).
    """

    def __init__(self, qc: QCConfig, embedder: Encoder, scorer: ScorerSource = None,
                 judge: Judge | None = None) -> None:
        self.qc = qc
        self.embedder = embedder
        self._scorer = scorer
        self.judge = judge
        self.notices: list[str] = []
        self.timings: dict[str, float] = {}
        bar = qc.judge_min_generated
        self.generated_bar = qc.judge_min if bar is None else max(bar, qc.judge_min)

    @property
    def scorer(self) -> Scorer | None:
        if callable(self._scorer) and not hasattr(self._scorer, "loglik"):
            self._scorer = self._scorer()
            if self._scorer is None:
                note = (f"qc: scorer model {self.qc.scorer_model!r} is not installed: fluency and "
                        "output-fit checks skipped (run `make models`)")
                self.notices.append(note)
                log.warning(note)
        return self._scorer

    def check(self, pairs: Sequence[Pair], vectors: tuple[np.ndarray, ...] | None = None,
              *, exhaustive: bool = False) -> list[Verdict]:
        """A verdict per pair. `vectors`: unit embeddings of (variants, sources, outputs), row
        per pair, when the caller has them already (a run embeds every text once)."""
        settings = {m: self.qc.checks(m) for m in {p.method for p in pairs}}
        batch = Batch(pairs, [settings[p.method] for p in pairs], [Verdict() for _ in pairs],
                      exhaustive, vectors)
        for name, select, stage in STAGES:
            todo = select(self, batch)
            if todo:
                t0 = time.perf_counter()
                stage(self, batch, todo)
                self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0
        return batch.out

    # which pairs each stage sees
    def _every(self, b: Batch) -> list[int]:
        return b.live()

    def _embedded(self, b: Batch) -> list[int]:
        return b.embedded

    def _wants_meaning(self, b: Batch) -> list[int]:
        return [i for i in b.live() if b.cfg[i].meaning or self._judged(b.pairs[i])]

    def _wants_lm(self, b: Batch) -> list[int]:
        todo = [i for i in b.live() if b.cfg[i].fluency or (
            b.cfg[i].fit and b.pairs[i].output and b.pairs[i].is_instruction)]
        return todo if todo and self.scorer is not None else []

    def _wants_judge(self, b: Batch) -> list[int]:
        return [i for i in b.live() if self._judged(b.pairs[i])]

    def token_texts(self, pairs: Sequence[Pair]) -> set[str]:
        """The texts whose token vectors the meaning check may ask for: the embedder keeps
        them from the pass that makes the sentence vectors (one forward pass per text)."""
        want: set[str] = set()
        settings: dict[str, CheckSettings] = {}
        for p in pairs:
            c = settings.setdefault(p.method, self.qc.checks(p.method))
            if c.meaning or self._judged(p):
                want.update((p.variant, p.source))
        return want

    @property
    def regime(self) -> str:
        """`judged` when an LLM judge decides equivalence, else `embedded`."""
        return "judged" if self.qc.judge == "llm" and self.judge is not None else "embedded"

    def _judged(self, p: Pair) -> bool:
        """Whether the judge decides this pair: instruction variants that have a source."""
        return self.regime == "judged" and p.is_instruction and not p.standalone

    def _lexical(self, b: Batch, todo: list[int]) -> None:
        """The model-free checks (quality/checks.py), in order; first reason wins."""
        for i in todo:
            run_lexical(b.pairs[i], b.cfg[i], b.out[i])

    def _language(self, b: Batch, todo: list[int]) -> None:
        for i in todo:
            p, c = b.pairs[i], b.cfg[i]
            if c.language and p.variant.strip():
                lang, p_src = wrong_language(p.variant, p.source, confidence=c.language_confidence)
                b.out[i].scores["language"] = round(p_src, 4)
                if lang is not None:
                    b.out[i].reject(reasons.wrong_language(lang))

    def _embed(self, b: Batch, todo: list[int]) -> None:
        """Unit vectors of (variant, source, output) for `todo`: the caller's, or one encode of
        the distinct texts (token vectors kept for the meaning check)."""
        b.embedded = todo
        if b.given is not None:
            b.vectors = tuple(g[todo] for g in b.given)
            return
        table: dict[str, int] = {}
        idx = [[table.setdefault(t, len(table)) for t in
                (b.pairs[i].variant, b.pairs[i].source, b.pairs[i].output)] for i in todo]
        vecs = self.embedder.encode(list(table), keep_tokens=self.token_texts(
            [b.pairs[i] for i in todo]))
        arr = np.array(idx)
        b.vectors = (vecs[arr[:, 0]], vecs[arr[:, 1]], vecs[arr[:, 2]])

    def _embedding_checks(self, b: Batch, todo: list[int]) -> None:
        """The cosine window, and answered_instead: closer to the output than to the source."""
        v_vec, s_vec, o_vec = b.vectors
        sims = np.clip(np.einsum("ij,ij->i", v_vec, s_vec), -1.0, 1.0)
        to_out = np.clip(np.einsum("ij,ij->i", v_vec, o_vec), -1.0, 1.0)
        answers = self._appended_answers(b, todo, s_vec, o_vec)
        for k, i in enumerate(todo):
            p, c, v = b.pairs[i], b.cfg[i], b.out[i]
            sim = float(sims[k])
            v.scores["similarity"] = sim
            if sim < c.similarity_min or (sim > c.similarity_max and not p.reformatted):
                v.reject(reasons.out_of_window(sim))
            if c.answered and p.is_instruction and p.output.strip():
                v.scores["to_output"] = float(to_out[k])
                if to_out[k] > sim or k in answers:
                    v.reject(reasons.ANSWERED_INSTEAD)

    def _appended_answers(self, b: Batch, todo: list[int], s_vec: np.ndarray,
                          o_vec: np.ndarray) -> set[int]:
        """Positions in `todo` of variants that repeat the source and go on with text closer to
        the source's output than to the source: an answer appended ("<source> Business.")."""
        rest = {k: lexical.continuation(b.pairs[i].variant, b.pairs[i].source)
                for k, i in enumerate(todo)
                if b.cfg[i].answered and b.pairs[i].is_instruction and b.pairs[i].output.strip()}
        rest = {k: t for k, t in rest.items() if t}
        if not rest:
            return set()
        vecs = self.embedder.encode(list(rest.values()))
        return {k for k, vec in zip(list(rest), vecs, strict=True)
                if float(vec @ o_vec[k]) > float(vec @ s_vec[k])}

    def _meaning(self, b: Batch, todo: list[int]) -> None:
        """Requests: P(same request) of the embedded model; answers: how much of it is kept, and
        for a list of an answer how well its weakest parts are matched in it (`list_support_min`)."""
        texts: dict[str, int] = {}
        for i in todo:
            texts.setdefault(b.pairs[i].variant, len(texts))
            texts.setdefault(b.pairs[i].source, len(texts))
        toks = self.embedder.token_vectors(list(texts))
        model = load_model("embedded")
        for i in todo:
            p, v, c = b.pairs[i], b.out[i], b.cfg[i]
            a = align(toks[texts[p.variant]], toks[texts[p.source]])
            v.scores.update(align_precision=round(a.precision, 4), align_recall=round(a.recall, 4),
                            align_precision_low=round(a.precision_low, 4),
                            align_recall_low=round(a.recall_low, 4))
            if p.is_instruction:  # a request: P(same request) decides
                score = model.probability(signals(v.scores.get("similarity", 0.0), a,
                                                  p.variant, p.source))
                v.scores["equivalence"] = round(score, 4)
                bar = c.equivalence_min
            else:  # an answer rewritten: how much of it is kept
                score = meaning_score(v.scores.get("similarity", 0.0), a)
                v.scores["meaning"] = round(score, 4)
                bar = c.meaning_min
            if c.meaning and score < bar and not self._judged(p):
                v.reject(reasons.meaning_changed(score))
            elif c.meaning and p.reformatted and a.precision_low < c.list_support_min:
                v.reject(reasons.meaning_changed(a.precision_low))  # a part of the list is not in the source

    def _lm_checks(self, b: Batch, todo: list[int]) -> None:
        """Fluency relative to the source, then (if on) output fit, on the scorer LM."""
        scorer = self.scorer
        flu = [i for i in todo if b.cfg[i].fluency and b.pairs[i].variant.strip()]
        texts = sorted({t for i in flu for t in (b.pairs[i].variant, b.pairs[i].source)})
        lls = dict(zip(texts, scorer.loglik(texts), strict=True))
        for i in flu:
            p, v = b.pairs[i], b.out[i]
            score = lls[p.variant].mean - lls[p.source].mean
            v.scores["fluency"] = round(score, 4)
            if score < b.cfg[i].fluency_min:
                v.reject(reasons.disfluent(score))
        fit = [i for i in todo if b.cfg[i].fit and b.pairs[i].is_instruction
               and b.pairs[i].output and b.out[i].reason is None]
        if fit:
            self._fit(b, fit)

    def _fit(self, b: Batch, fit: list[int]) -> None:
        scorer = self.scorer
        keys = sorted({(q, b.pairs[i].output) for i in fit
                       for q in (b.pairs[i].variant, b.pairs[i].source)})
        prefixes = [scorer.chat_prefix(q) for q, _ in keys]
        fits = dict(zip(keys, scorer.loglik([o for _, o in keys], prefixes,
                                            max_text_tokens=128), strict=True))
        for i in fit:
            p, v = b.pairs[i], b.out[i]
            score = fits[(p.variant, p.output)].mean - fits[(p.source, p.output)].mean
            v.scores["fit"] = round(score, 4)
            if score < b.cfg[i].fit_min:
                v.reject(reasons.output_unfit(score))

    def _judge(self, b: Batch, todo: list[int]) -> None:
        """The judged regime: the judge's log-odds both ways join the embedded signals."""
        model = load_model("judged")
        probs = self.judge([(b.pairs[i].source, b.pairs[i].variant) for i in todo])
        for i, (fw, bw) in zip(todo, probs, strict=True):
            v = b.out[i]
            feats = {"cosine": v.scores.get("similarity", 0.0), **v.scores,
                     "judge": log_odds(fw), "judge_reverse": log_odds(bw)}
            p_same = model.probability(feats)
            v.scores.update(judge=round(float(fw), 4), judge_reverse=round(float(bw), 4),
                            equivalence=round(p_same, 4))
            if p_same < self.qc.judge_min:
                v.reject(reasons.judge_rejected(p_same))
            elif b.pairs[i].generated and p_same < self.generated_bar:
                v.reject(reasons.judge_uncertain(p_same))


# (timings key, which live pairs the stage sees, the stage); cheapest first
STAGES: tuple[tuple[str, Callable[..., list[int]], Callable[..., None]], ...] = (
    ("qc.lexical", QualityChain._every, QualityChain._lexical),
    ("qc.language", QualityChain._every, QualityChain._language),
    ("qc.embed", QualityChain._every, QualityChain._embed),
    ("qc.similarity", QualityChain._embedded, QualityChain._embedding_checks),
    ("qc.meaning", QualityChain._wants_meaning, QualityChain._meaning),
    ("qc.scorer", QualityChain._wants_lm, QualityChain._lm_checks),
    ("qc.judge", QualityChain._wants_judge, QualityChain._judge),
)


def create_chain(ctx: Context, embedder: Encoder) -> QualityChain:
    """The run's chain: the scorer LM from the manifest on first use, the run's LLM as judge."""
    qc = ctx.config.qc

    def scorer() -> Scorer | None:
        from local_augment.engines.scorer import get_scorer
        from local_augment.errors import ModelError

        try:
            _, path = ctx.manifest.require(qc.scorer_model, None)
        except ModelError:
            return None
        return get_scorer(path, device=qc.scorer_device)

    judge = None
    if qc.judge == "llm":
        from local_augment.engines.llm import get_llm
        from local_augment.engines.llm.prompting import load_prompt
        from local_augment.quality.judge import llm_judge

        judge = llm_judge(get_llm(ctx), load_prompt("judge").text)
    return QualityChain(qc, embedder, scorer, judge)
