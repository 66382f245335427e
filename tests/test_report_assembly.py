"""The run's report is put together in one place, from the parts its steps return."""

from __future__ import annotations

import pytest

from local_augment.run.assembly import assemble, build_report


def test_parts_merge_and_a_section_may_take_keys_from_two_steps():
    written = {"counts": {"augmented": 3}, "diversity": {"before": {"distinct_2": 0.9}}}
    distance = {"diversity": {"before": {"mean_distance": 0.4}}}
    report = assemble([written, distance, {}, {"dedup": {"index": "flat"}}])
    assert report == {"counts": {"augmented": 3}, "dedup": {"index": "flat"},
                      "diversity": {"before": {"distinct_2": 0.9, "mean_distance": 0.4}}}
    assert written["diversity"]["before"] == {"distinct_2": 0.9}  # the parts are not changed


def test_a_key_given_by_two_steps_is_a_bug():
    with pytest.raises(RuntimeError, match=r"diversity\.before\.rows is given by two steps"):
        assemble([{"diversity": {"before": {"rows": 1}}}, {"diversity": {"before": {"rows": 2}}}])


def test_the_diagnosis_is_read_off_the_assembled_parts():
    report = build_report([{"methods": ["templates"], "candidates_per_method": {},
                            "accepted_per_method": {}, "rejected_per_method": {}}],
                          "smollm2-135m-instruct")
    assert isinstance(report["diagnosis"], list) and isinstance(report["downstream"], list)
