"""Token alignment (quality/meaning.py): means and weakest matches, on hand-made unit vectors."""

from __future__ import annotations

import numpy as np
import pytest

from local_augment.quality.meaning import LOW_QUANTILE, align


def _unit(rows: list[list[float]]) -> np.ndarray:
    a = np.asarray(rows, dtype=np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def test_identical_texts_align_fully_on_every_side():
    t = _unit([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    a = align(t, t)
    assert (a.precision, a.recall, a.precision_low, a.recall_low) == pytest.approx((1, 1, 1, 1))


def test_a_part_the_source_lacks_shows_in_the_weakest_matches_more_than_the_mean():
    # the variant: six tokens the source has and two it has not (orthogonal to all of them)
    source = _unit([[1, 0, 0, 0]] * 6)
    variant = _unit([[1, 0, 0, 0]] * 6 + [[0, 0, 0, 1]] * 2)
    a = align(variant, source)
    assert a.precision == pytest.approx(0.75)
    assert a.precision_low == pytest.approx(np.quantile([0, 0] + [1] * 6, LOW_QUANTILE), abs=1e-6)
    assert a.precision_low < 0.25 < 0.5 < a.precision
    assert a.recall == pytest.approx(1.0) and a.recall_low == pytest.approx(1.0)  # nothing lost


def test_empty_sides_align_to_zero():
    a = align(np.zeros((0, 3), np.float32), _unit([[1, 0, 0]]))
    assert (a.precision, a.recall, a.precision_low, a.recall_low) == (0, 0, 0, 0)
