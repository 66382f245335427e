"""The fitted request-equivalence models: coefficients and operating points, shipped as data.

`equivalence.json` beside this file is written by scripts/fit_equivalence.py; the config's
default bars (`qc.equivalence_min`, `qc.judge_min`) are its fitted thresholds, and
quality/equivalence.py computes the signals these models weigh.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

COEFFICIENTS = Path(__file__).with_name("equivalence.json")


@dataclass(frozen=True)
class EquivalenceModel:
    """Logistic regression over named features: P(same request) = σ(bias + Σ w·x)."""

    regime: str
    names: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    threshold: float  # the fitted operating point (the config's default bar)

    def probability(self, features: Mapping[str, float]) -> float:
        z = self.bias + sum(w * features[n] for n, w in zip(self.names, self.weights, strict=True))
        return 1.0 / (1.0 + math.exp(-z))


@cache
def load_model(regime: str = "embedded") -> EquivalenceModel:
    """The shipped model of `regime` (embedded or judged)."""
    data = json.loads(COEFFICIENTS.read_text(encoding="utf-8"))
    m = data["models"][regime]
    return EquivalenceModel(regime, tuple(m["features"]), tuple(m["weights"]), m["bias"],
                            m["threshold"])
