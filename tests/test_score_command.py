"""`escbench score FILE`: scoring generations that already exist, with no system involved."""
from __future__ import annotations

import json

from conftest import run_cli


def _write(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_scores_a_jsonl_of_predictions_and_references(tmp_path):
    generations = tmp_path / "mine.jsonl"
    _write(generations, [{"prediction": "a b c", "reference": "x"}, {"prediction": "a b d", "reference": "y"}])
    result = run_cli("score", str(generations), "--metrics", "distinct", "--format", "csv")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "mine.scores.json").read_text())
    # bigrams: (a b) (b c) (a b) (b d) -> 3 distinct of 4; unigrams a b c a b d -> 4 of 6
    assert record["scores"]["D-2"] == 75.0
    assert abs(record["scores"]["D-1"] - 400 / 6) < 1e-9
    assert record["system"]["name"] == "mine" and record["counts"] == {"examples": 2}
    assert "file:mine.jsonl,mine,D-2,75.0," in result.stdout  # tidy CSV: system x split x column


def test_a_run_samples_file_can_be_rescored(tmp_path):
    samples = tmp_path / "llama__seed.samples.jsonl"
    _write(samples, [{"id": "d:1", "context": [], "reference": "take a short walk", "prediction": "take a walk",
                      "strategy": "Suggest Options", "predicted_strategy": "Suggest Options", "scores": {}}])
    result = run_cli("score", str(samples), "--metrics", "strategy", "--out", str(tmp_path / "s.json"))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "s.json").read_text())["scores"]["Strat-Acc"] == 100.0


def test_a_line_without_a_prediction_is_named(tmp_path):
    broken = tmp_path / "broken.jsonl"
    _write(broken, [{"prediction": "ok", "reference": "ok"}, {"reference": "no prediction here"}])
    result = run_cli("score", str(broken), "--metrics", "distinct")
    assert result.returncode == 2
    assert "broken.jsonl, line 2: missing or non-string field 'prediction'" in result.stderr
