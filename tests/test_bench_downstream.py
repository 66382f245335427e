"""scripts/bench_downstream.py end to end on a tiny setting: 2 labels, 2 wordings each, 2 steps.

Its numbers mean nothing here; the code path (draw, augment through the real CLI, oracle,
learner, JSON) must keep working. The benchmark itself is `make bench-downstream`.
"""

from __future__ import annotations

import csv
import json

import pytest

from scripts import bench_downstream

pytestmark = pytest.mark.models

WORDINGS = {
    "card_arrival": ["Where is my new card?", "My card still has not arrived.",
                     "How long does card delivery take?", "I am still waiting for my card.",
                     "When will the card I ordered get here?", "Has my card been sent yet?"],
    "lost_card": ["I lost my card.", "My card is gone, I cannot find it anywhere.",
                  "What do I do if I misplaced my card?", "I think I dropped my card somewhere.",
                  "Help, my card is missing.", "I can't find my bank card."],
}


def test_bench_runs_every_arm_kind_on_a_tiny_set(tmp_path, models_dir):
    data = tmp_path / "intents.csv"
    with data.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "intent"])
        for label, texts in WORDINGS.items():
            w.writerows([t, label] for t in texts)
    out = tmp_path / "results.json"
    rc = bench_downstream.main([
        "--data", str(data), "--text-field", "question", "--label-field", "intent",
        "--test-share", "0.34", "--k", "2", "--steps", "2", "--seeds", "2",
        "--arms", "originals,templates,backtranslation,oracle", "--models-dir", str(models_dir),
        "--out", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["learner"].startswith("fast") and res["labels"] == 2
    arms = {a["name"]: a for a in res["arms"]}
    assert set(arms) == {"originals", "templates", "backtranslation", "oracle"}
    assert arms["originals"]["rows"] == 4 and arms["originals"]["new_words"] == 0
    assert arms["templates"]["rows"] > 4 and arms["templates"]["new_words"] > 0
    assert arms["oracle"]["rows"] == 8  # no default arm: as many real wordings as originals
    assert "skipped" in arms["backtranslation"] or arms["backtranslation"]["rows"] >= 4
    for a in ("originals", "templates", "oracle"):
        assert 0.0 <= arms[a]["accuracy_mean"] <= 1.0 and len(arms[a]["accuracies"]) == 2
        assert {"accuracy_sd", "seconds"} <= set(arms[a])


def test_bad_rows_name_the_file_and_line(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "ok", "label": "a"}\n{"text": "", "label": "a"}\n')
    with pytest.raises(SystemExit, match=r"bad.jsonl:2"):
        bench_downstream.read_table(data, "text", "label")
