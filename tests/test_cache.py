"""The model-output cache: only misses are computed, results persist across runs, --fresh clears."""

from __future__ import annotations

from local_augment.engines.cache import ModelCache, cache_key


def test_map_computes_only_distinct_misses_and_persists(tmp_path):
    calls = []

    def compute(texts):
        calls.append(list(texts))
        return [t.upper() for t in texts]

    path = tmp_path / "c.sqlite"
    cache = ModelCache(path)
    assert cache.map("m:1", {"n": 1}, ["a", "b", "a"], compute) == ["A", "B", "A"]
    assert calls == [["a", "b"]]
    assert cache.map("m:1", {"n": 1}, ["b", "c"], compute) == ["B", "C"]
    assert calls[-1] == ["c"] and (cache.hits, cache.misses) == (1, 3)
    cache.close()
    again = ModelCache(path)
    assert again.map("m:1", {"n": 1}, ["a", "b", "c"], compute) == ["A", "B", "C"]
    assert len(calls) == 2  # all from disk
    again.map("m:2", {"n": 1}, ["a"], compute)  # another model: a miss
    again.map("m:1", {"n": 2}, ["a"], compute)  # other params: a miss
    assert len(calls) == 4
    again.clear()
    again.map("m:1", {"n": 1}, ["a"], compute)
    assert len(calls) == 5


def test_keys_and_disabled_cache():
    assert cache_key("m", {"a": 1, "b": 2}, "x") == cache_key("m", {"b": 2, "a": 1}, "x")
    assert cache_key("m", {}, "x") != cache_key("m", {}, "x ")
    off = ModelCache(None)
    assert off.map("m", {}, ["a", "a"], lambda ts: [t * 2 for t in ts]) == ["aa", "aa"]
