"""The quality-control chain: every candidate through checks, cheapest first, one reason each.

Order: lexical checks (artifacts, trivial copies, lost/added details, negation), length and
new words, language, embedder scores (cosine window, answered-instead, meaning), scorer-LM scores
(fluency, output fit), and the optional LLM judge. A pair rejected by a cheap check is not
scored by the expensive ones (unless `exhaustive`, for benchmarks and `local-augment qc`
calibration). Each check is switched and tuned per method through `qc` (config.CHECK_FIELDS).

The same chain runs in every `augment` run (local and Ray executors, through `stages.score`) and
in `local-augment qc`, which scores pairs from a file.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from local_augment.config import QCConfig
from local_augment.config.fitted import load_model
from local_augment.quality import lexical, reasons
from local_augment.quality.equivalence import log_odds, signals
from local_augment.quality.judge import Judge
from local_augment.quality.language import wrong_language
from local_augment.quality.meaning import align, meaning_score

log = logging.getLogger("local_augment.qc")
INSTRUCTION_FIELDS = ("instruction", "row")  # what a row asks (an input is its material)


@dataclass
class Pair:
    """A candidate as quality control sees it: the changed text, its source, the source row."""

    method: str
    field: str
    variant: str
    source: str
    instruction: str = ""  # the source row's prompt (what the output answers)
    output: str = ""  # the source row's output (what the instruction asks for)
    kind: str | None = None  # output variants: "brief" or "bulleted"

    @property
    def is_instruction(self) -> bool:
        return self.field in INSTRUCTION_FIELDS

    @property
    def standalone(self) -> bool:
        """A whole new row with no source example (a method registered `standalone`)."""
        return self.field == "row"


@dataclass
class Verdict:
    reason: str | None = None
    scores: dict[str, float] = field(default_factory=dict)


Encode = Callable[[Sequence[str]], np.ndarray]


class QualityChain:
    """Runs the checks over batches of pairs; models are passed in or created on first use.

    `scorer` is an LMScorer, a zero-argument factory returning one (or None when no scorer model
    is installed: fluency and fit are then skipped and `notices` says so); `judge` gives
    (P(yes) source→variant, P(yes) variant→source) for pairs of instructions when `qc.judge` is
    `llm` (the judged regime: the judged equivalence model decides those pairs, the embedded
    equivalence bar does not apply to them).
    """

    def __init__(self, qc: QCConfig, embedder: Any, scorer: Any = None,
                 judge: Judge | None = None) -> None:
        self.qc = qc
        self.embedder = embedder
        self._scorer = scorer
        self.judge = judge
        self.notices: list[str] = []
        self.timings: dict[str, float] = {}

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        """Add the block's wall time to `timings[name]`."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - t0

    @property
    def scorer(self) -> Any:
        if callable(self._scorer) and not hasattr(self._scorer, "loglik"):
            self._scorer = self._scorer()
            if self._scorer is None:
                note = (f"qc: scorer model {self.qc.scorer_model!r} is not installed: fluency and "
                        "output-fit checks skipped (run `make models`)")
                self.notices.append(note)
                log.warning(note)
        return self._scorer

    # ------------------------------------------------------------------------------ the chain
    def check(self, pairs: Sequence[Pair], vectors: tuple[np.ndarray, ...] | None = None,
              *, exhaustive: bool = False) -> list[Verdict]:
        """A verdict per pair. `vectors`: unit embeddings of (variants, sources, outputs), row
        per pair, when the caller has them already (a run embeds every text once)."""
        out = [Verdict() for _ in pairs]
        settings = {m: self.qc.settings(m) for m in {p.method for p in pairs}}
        cfg = [settings[p.method] for p in pairs]

        def live() -> list[int]:
            return [i for i, v in enumerate(out) if exhaustive or v.reason is None]

        def reject(i: int, reason: str) -> None:
            if out[i].reason is None:
                out[i].reason = reason

        with self._timed("qc.lexical"):
            for i in live():
                self._lexical(pairs[i], cfg[i], out[i])

        with self._timed("qc.language"):
            for i in live():
                p, c = pairs[i], cfg[i]
                if c["language"] and p.variant.strip():
                    lang, p_src = wrong_language(p.variant, p.source,
                                                 confidence=c["language_confidence"])
                    out[i].scores["language"] = round(p_src, 4)
                    if lang is not None:
                        reject(i, reasons.wrong_language(lang))

        todo = live()
        if todo:
            with self._timed("qc.embed"):
                v_vec, s_vec, o_vec = self._vectors(pairs, todo, vectors)
            with self._timed("qc.similarity"):
                self._embedding_checks(pairs, cfg, out, todo, v_vec, s_vec, o_vec)
            todo = [i for i in live() if cfg[i]["meaning"] or self._judged(pairs[i])]
            if todo:
                with self._timed("qc.meaning"):
                    self._meaning(pairs, cfg, out, todo)

        todo = [i for i in live() if cfg[i]["fluency"] or (cfg[i]["fit"] and pairs[i].output
                                                            and pairs[i].is_instruction)]
        if todo and self.scorer is not None:
            with self._timed("qc.scorer"):
                self._lm_checks(pairs, cfg, out, todo)

        todo = [i for i in live() if self._judged(pairs[i])]
        if todo:
            with self._timed("qc.judge"):
                self._judge(pairs, out, todo)
        return out

    def token_texts(self, pairs: Sequence[Pair]) -> set[str]:
        """The texts whose token vectors the meaning check may ask for: the embedder keeps
        them from the pass that makes the sentence vectors (one forward pass per text)."""
        want: set[str] = set()
        settings: dict[str, dict[str, Any]] = {}
        for p in pairs:
            c = settings.setdefault(p.method, self.qc.settings(p.method))
            if c["meaning"] or self._judged(p):
                want.update((p.variant, p.source))
        return want

    @property
    def regime(self) -> str:
        """`judged` when an LLM judge decides equivalence, else `embedded`."""
        return "judged" if self.qc.judge == "llm" and self.judge is not None else "embedded"

    def _judged(self, p: Pair) -> bool:
        """Whether the judge decides this pair: instruction variants that have a source."""
        return self.regime == "judged" and p.is_instruction and not p.standalone

    def _judge(self, pairs: Sequence[Pair], out: list[Verdict], todo: list[int]) -> None:
        model = load_model("judged")
        probs = self.judge([(pairs[i].source, pairs[i].variant) for i in todo])
        for i, (fw, bw) in zip(todo, probs, strict=True):
            v = out[i]
            feats = {"cosine": v.scores.get("similarity", 0.0), **v.scores,
                     "judge": log_odds(fw), "judge_reverse": log_odds(bw)}
            p_same = model.probability(feats)
            v.scores.update(judge=round(float(fw), 4), judge_reverse=round(float(bw), 4),
                            equivalence=round(p_same, 4))
            if p_same < self.qc.judge_min:
                v.reason = v.reason or reasons.judge_rejected(p_same)

    # ------------------------------------------------------------------------------ the checks
    def _lexical(self, p: Pair, c: dict[str, Any], v: Verdict) -> None:
        """Artifacts, trivial copies, details, negation, length and new words; first reason wins."""
        text, src = p.variant, p.source
        ratio = lexical.length_ratio(text, src)
        fresh = lexical.new_word_count(text, src)
        v.scores.update(length_ratio=round(ratio, 4), new_words=float(fresh))
        found: list[str] = []
        if not text.strip():
            found.append(reasons.EMPTY)
        if c["artifacts"]:
            what = lexical.artifact(text, src, labels=c["artifact_labels"],
                                    numbering=c["artifact_numbering"])
            if what is None and p.is_instruction and (p.instruction or p.source) == p.source \
                    and lexical.dangling_colon(text, src):
                what = "dangling_colon"  # a row with an input may end "…this sentence:"
            if what is None and p.is_instruction and lexical.truncated(text, src):
                what = "truncated"
            if what is None and p.field == "output" and p.instruction and \
                    lexical.instruction_echo(text, p.instruction) and \
                    not lexical.instruction_echo(src, p.instruction):
                what = "instruction_echo"
            if what is not None:
                found.append(reasons.artifact(what))
        if c["kind"] and p.field == "output":
            what = lexical.not_its_kind(p.kind, text, src, c["brief_max_ratio"])
            if what is not None:
                found.append(reasons.not_its_kind(what))
        if c["trivial_copy"] and lexical.trivial_copy(text, src):
            found.append(reasons.TRIVIAL_COPY)
        if c["answered"] and p.is_instruction and (lexical.restates_then_answers(text, src)
                                                   or lexical.answers_how(text, src)):
            found.append(reasons.ANSWERED_INSTEAD)
        if c["lost_detail"] or c["added_detail"]:
            change = lexical.detail_change(text, src, lost=c["lost_detail"], added=c["added_detail"],
                                           request=p.is_instruction)
            if change is not None:
                found.append(change)
        if c["negation"] and lexical.negation_flip(text, src):
            found.append(reasons.NEGATION_FLIP)
        if c["perspective"] and p.is_instruction and (lexical.perspective_changed(text, src)
                                                      or lexical.assistant_voice(text, src)):
            found.append(reasons.PERSPECTIVE_CHANGED)
        if c["perspective"] and p.is_instruction and lexical.asks_how_instead(text, src):
            found.append(reasons.ASKS_HOW)
        if not c["length_ratio_min"] <= ratio <= c["length_ratio_max"]:
            found.append(reasons.length_ratio(ratio))
        if fresh < c["min_new_words"]:
            found.append(reasons.few_new_words(fresh))
        if found and v.reason is None:
            v.reason = found[0]

    def _vectors(self, pairs: Sequence[Pair], todo: list[int],
                 given: tuple[np.ndarray, ...] | None) -> tuple[np.ndarray, ...]:
        if given is not None:
            return tuple(g[todo] for g in given)
        table: dict[str, int] = {}
        idx = [[table.setdefault(t, len(table)) for t in
                (pairs[i].variant, pairs[i].source, pairs[i].output)] for i in todo]
        vecs = self.embedder.encode(list(table), keep_tokens=self.token_texts(
            [pairs[i] for i in todo]))
        arr = np.array(idx)
        return vecs[arr[:, 0]], vecs[arr[:, 1]], vecs[arr[:, 2]]

    def _embedding_checks(self, pairs: Sequence[Pair], cfg: list[dict[str, Any]],
                          out: list[Verdict], todo: list[int], v_vec: np.ndarray,
                          s_vec: np.ndarray, o_vec: np.ndarray) -> None:
        sims = np.clip(np.einsum("ij,ij->i", v_vec, s_vec), -1.0, 1.0)
        to_out = np.clip(np.einsum("ij,ij->i", v_vec, o_vec), -1.0, 1.0)
        answers = self._appended_answers(pairs, cfg, todo, s_vec, o_vec)
        for k, i in enumerate(todo):
            p, c, v = pairs[i], cfg[i], out[i]
            sim = float(sims[k])
            v.scores["similarity"] = sim
            if not c["similarity_min"] <= sim <= c["similarity_max"]:
                v.reason = v.reason or reasons.out_of_window(sim)
            if c["answered"] and p.is_instruction and p.output.strip():
                v.scores["to_output"] = float(to_out[k])
                if to_out[k] > sim or k in answers:
                    v.reason = v.reason or reasons.ANSWERED_INSTEAD

    def _appended_answers(self, pairs: Sequence[Pair], cfg: list[dict[str, Any]],
                          todo: list[int], s_vec: np.ndarray, o_vec: np.ndarray) -> set[int]:
        """Positions in `todo` of variants that repeat the source and go on with text closer to
        the source's output than to the source: an answer appended ("<source> Business.")."""
        rest = {k: lexical.continuation(pairs[i].variant, pairs[i].source)
                for k, i in enumerate(todo)
                if cfg[i]["answered"] and pairs[i].is_instruction and pairs[i].output.strip()}
        rest = {k: t for k, t in rest.items() if t}
        if not rest:
            return set()
        vecs = self.embedder.encode(list(rest.values()))
        ks = list(rest)
        return {k for k, vec in zip(ks, vecs, strict=True)
                if float(vec @ o_vec[k]) > float(vec @ s_vec[k])}

    def _meaning(self, pairs: Sequence[Pair], cfg: list[dict[str, Any]], out: list[Verdict],
                 todo: list[int]) -> None:
        texts: dict[str, int] = {}
        for i in todo:
            texts.setdefault(pairs[i].variant, len(texts))
            texts.setdefault(pairs[i].source, len(texts))
        toks = self.embedder.token_vectors(list(texts))
        model = load_model("embedded")
        for i in todo:
            p, v = pairs[i], out[i]
            a = align(toks[texts[p.variant]], toks[texts[p.source]])
            v.scores.update(align_precision=round(a.precision, 4), align_recall=round(a.recall, 4))
            if p.is_instruction:  # a request: P(same request) decides
                score = model.probability(signals(v.scores.get("similarity", 0.0), a,
                                                  p.variant, p.source))
                v.scores["equivalence"] = round(score, 4)
                bar = cfg[i]["equivalence_min"]
            else:  # an answer rewritten: how much of it is kept
                score = meaning_score(v.scores.get("similarity", 0.0), a)
                v.scores["meaning"] = round(score, 4)
                bar = cfg[i]["meaning_min"]
            if cfg[i]["meaning"] and score < bar and not self._judged(p):
                v.reason = v.reason or reasons.meaning_changed(score)

    def _lm_checks(self, pairs: Sequence[Pair], cfg: list[dict[str, Any]], out: list[Verdict],
                   todo: list[int]) -> None:
        scorer = self.scorer
        flu = [i for i in todo if cfg[i]["fluency"] and pairs[i].variant.strip()]
        texts = sorted({t for i in flu for t in (pairs[i].variant, pairs[i].source)})
        lls = dict(zip(texts, scorer.loglik(texts), strict=True))
        for i in flu:
            p, v = pairs[i], out[i]
            score = lls[p.variant].mean - lls[p.source].mean
            v.scores["fluency"] = round(score, 4)
            if score < cfg[i]["fluency_min"]:
                v.reason = v.reason or reasons.disfluent(score)
        fit = [i for i in todo if cfg[i]["fit"] and pairs[i].is_instruction and pairs[i].output
               and (out[i].reason is None)]
        if not fit:
            return
        keys = sorted({(q, pairs[i].output) for i in fit
                       for q in (pairs[i].variant, pairs[i].source)})
        prefixes = [scorer.chat_prefix(q) for q, _ in keys]
        fits = dict(zip(keys, scorer.loglik([o for _, o in keys], prefixes,
                                            max_text_tokens=128), strict=True))
        for i in fit:
            p, v = pairs[i], out[i]
            score = fits[(p.variant, p.output)].mean - fits[(p.source, p.output)].mean
            v.scores["fit"] = round(score, 4)
            if score < cfg[i]["fit_min"]:
                v.reason = v.reason or reasons.output_unfit(score)


def survivor_precision(pass_rate: float, catch: float, false_reject: float) -> float:
    """The expected share of good rows among a generator's survivors.

    A share b of its candidates is bad; QC rejects `catch` of the bad and `false_reject` of the
    good, so the observed reject share is f = b·catch + (1−b)·false_reject. Solved for b, the
    survivors are (1−b)(1−false_reject) good and b(1−catch) bad.
    """
    f = 1.0 - pass_rate
    b = min(1.0, max(0.0, (f - false_reject) / max(catch - false_reject, 1e-9)))
    good, bad = (1 - b) * (1 - false_reject), b * (1 - catch)
    return good / (good + bad) if good + bad > 0 else 0.0


def low_yield(results: Iterable[tuple[str, str | None]], qc: QCConfig) -> dict[str, str]:
    """Generators whose survivors are estimated to be mostly QC's misses, each with its
    `low_yield_method` reason (`survivor_precision` below `qc.survivor_precision_min`).

    `results`: (generator, reason or None) for every candidate of the run: a method, or a
    method and its kind ("outputs:brief", `Candidate.generator`), judged with the method's QC
    settings. Near-copies (trivial
    copies, too few new words, above the cosine window) say nothing about a generator's errors
    and are not counted; every other reason is a failure.
    """
    passed: Counter[str] = Counter()
    judged: Counter[str] = Counter()
    settings: dict[str, dict[str, Any]] = {}
    for method, reason in results:
        c = settings.setdefault(method, qc.settings(method.split(":", 1)[0]))
        if reason is None:
            passed[method] += 1
            judged[method] += 1
        elif not _near_copy(reason, c):
            judged[method] += 1
    out: dict[str, str] = {}
    for method, n in judged.items():
        c = settings[method]
        precision = survivor_precision(passed[method] / n, c["qc_catch_rate"],
                                       c["qc_false_reject_rate"])
        if n >= c["min_judged"] and precision < c["survivor_precision_min"]:
            out[method] = reasons.low_yield_method(passed[method], n)
    return out


def _near_copy(reason: str, c: dict[str, Any]) -> bool:
    kind = reasons.kind(reason)
    if kind in reasons.NEAR_COPY or "copy" in kind:
        return True
    if kind == "out_of_window":
        try:
            return float(reason.split(":", 1)[1]) > c["similarity_max"]
        except (IndexError, ValueError):
            return False
    return False


def create_chain(ctx: Any, embedder: Any) -> QualityChain:
    """The run's chain: the scorer LM from the manifest on first use, the run's LLM as judge."""
    qc = ctx.config.qc

    def scorer() -> Any:
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
