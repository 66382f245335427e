"""The report's line for a method that keeps almost nothing: its main reason and the entry's hint."""

from __future__ import annotations

from local_augment.quality.diagnosis import diagnose


def _report(method: str, n: int, rejected: dict[str, int]) -> dict:
    return {"candidates_per_method": {method: n}, "rejected_per_method": {method: rejected}}


def test_the_hint_comes_from_the_method_entry_by_main_reason() -> None:
    copies = diagnose(_report("backtranslation", 20, {"trivial_copy": 19}), "m")
    assert copies == ["backtranslation: 1 of 20 kept, 19 trivial_copy — the translators give "
                      "back the source; try backtranslation.decoding: sample, or more pivots"]
    other = diagnose(_report("backtranslation", 20, {"wrong_language": 19}), "m")
    assert other[0].endswith("check the opus-mt models (`local-augment models list`)")
    llm = diagnose(_report("paraphrase", 20, {"artifact": 15, "low_yield_method": 5}), "tiny")
    assert llm == ["paraphrase: 0 of 20 kept, 15 artifact — tiny is too small to follow the "
                   "prompt; set llm.model to a 7B+ instruct model (or llm.engine: server with "
                   "one); its 5 survivors were dropped too (low_yield_method)"]


def test_a_method_that_keeps_enough_gets_no_line() -> None:
    assert diagnose(_report("templates", 20, {"trivial_copy": 5}), "m") == []
