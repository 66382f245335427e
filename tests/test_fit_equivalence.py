"""scripts/fit_equivalence.py's operating point: read off cross-validated scores, no model."""

from __future__ import annotations

import numpy as np
import pytest

from scripts.fit_equivalence import operating_point

Y = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0])
P = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.5, 0.25, 0.2, 0.1, 0.05])


def test_without_a_recall_target_the_lowest_threshold_reaching_precision():
    # above 0.2: all 5 same and 2 different kept
    t, rec, prec = operating_point([P], Y, precision=0.7)
    assert t == pytest.approx(0.201) and (rec, prec) == pytest.approx((1.0, 5 / 7))


def test_widest_common_margin_when_both_targets_can_be_cleared():
    # the lowest threshold clears precision 0.7 by 0.014 only; above 0.5 (4 same, none different)
    # clears recall 0.6 by 0.2 and precision by 0.3
    t, rec, prec = operating_point([P], Y, precision=0.7, recall=0.6)
    assert t == pytest.approx(0.501) and (rec, prec) == pytest.approx((0.8, 1.0))


def test_unreachable_recall_falls_back_to_the_precision_rule():
    assert operating_point([P], Y, precision=0.7, recall=1.01) == operating_point([P], Y, 0.7)


def test_figures_are_the_mean_over_seeds():
    other = np.where(Y == 1, P, P / 10)  # a seed whose different pairs all score low
    t, rec, prec = operating_point([P, other], Y, precision=0.7)
    kept = [s >= t for s in (P, other)]
    assert prec == pytest.approx(np.mean([Y[k].mean() for k in kept]))
    assert rec == pytest.approx(np.mean([Y[k].sum() / Y.sum() for k in kept]))
