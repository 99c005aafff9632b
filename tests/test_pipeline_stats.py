"""``stats``: the paper's dataset tables and the strategy-by-phase figure on a small known dataset."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from escbench.harness.catalogs import load_strategy_catalog
from escbench.harness.data import Dialogue, Turn
from escbench.harness.cli import main
from escbench.plugins.chatpal.stats import Abbreviations, compute_stats, merged_strategies, phase_of, transition_table

EV, RS, SO, AFF = "Emotional Validation", "Reflective Statements", "Suggest Options", "Affirmation"


def dialogue(dialogue_id: str, strategies: list[str | None], scene: str | None = "Academic Stress") -> Dialogue:
    turns = []
    for number, strategy in enumerate(strategies):
        turns.append(Turn("user", f"user words here {number}"))
        turns.append(Turn("ai", "two words", strategy))
    return Dialogue(dialogue_id, tuple(turns), scene)


DATA = [dialogue("a", [EV, EV, RS, SO, AFF]), dialogue("b", [EV, RS, SO], "Caregiver Support"),
        dialogue("c", [None, AFF], None)]


def write_jsonl(path: Path) -> Path:
    lines = [json.dumps({"id": d.id, "scene": d.scene, "turns": [
        {"role": t.role, "text": t.text, "strategy": t.strategy} for t in d.turns]}) for d in DATA]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_adjacent_repeats_are_merged_before_counting_transitions():
    assert merged_strategies(DATA[0]) == [EV, RS, SO, AFF]
    stats = compute_stats(DATA)
    assert stats.transitions[3] == {(EV, RS, SO): 2, (RS, SO, AFF): 1}
    assert stats.transitions[4] == {(EV, RS, SO, AFF): 1}
    assert stats.transitions[5] == {}
    table = transition_table(stats, Abbreviations([load_strategy_catalog("extes")]))
    assert table.rows[0][:3] == ["3-hop", "EV → RS → SO", 2]
    assert table.rows[0][3] == pytest.approx(200 / 3)


def test_phases_split_supporter_turns_by_k_over_n():
    assert [phase_of(k, 5) for k in range(1, 6)] == [0, 1, 2, 3, 3]
    assert [phase_of(k, 2) for k in (1, 2)] == [1, 3]
    stats = compute_stats(DATA)
    assert stats.phases == [{EV: 1}, {EV: 2}, {RS: 2}, {SO: 2, AFF: 2}]  # the unlabelled turn counts for N only


def test_overview_counts_match_the_data():
    stats = compute_stats(DATA)
    assert (stats.dialogues, stats.utterances) == (3, 20)
    assert stats.words == 10 * 4 + 10 * 2
    assert stats.strategy_counts == {EV: 3, RS: 2, SO: 2, AFF: 2}
    assert stats.scene_counts == {"Academic Stress": 1, "Caregiver Support": 1, "(no scene)": 1}


def test_stats_command_writes_every_table_and_the_plot(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["stats", str(write_jsonl(tmp_path / "data.jsonl")), "--format", "json", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    tables = {t["name"]: t for t in printed["tables"]}
    assert set(tables) == {"table1", "table2", "table9", "table10", "figure3"}
    assert tables["table1"]["rows"][-1] == ["Overall", 9, 100.0]
    assert ["Emotional Validation (EV)", 3, pytest.approx(100 / 3)] == tables["table1"]["rows"][1]
    overview = dict((row[0], row[1]) for row in tables["table2"]["rows"])
    assert overview["Avg. utterances per dialogue"] == pytest.approx(20 / 3)
    assert overview["Avg. words per utterance"] == pytest.approx(3.0)
    assert (overview["Num. of support strategies"], overview["Num. of scenarios"]) == (4, 2)
    assert tables["table10"]["rows"][0] == ["Academic Stress", 1, pytest.approx(100 / 3)]
    for name in ("table1.csv", "table2.csv", "table9.csv", "table10.csv", "figure3.csv", "stats.md", "stats.json"):
        assert (out / name).stat().st_size > 0
    assert (out / "phases.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| Emotional Validation (EV) | 3 | 33.3 |" in (out / "stats.md").read_text()


def test_stats_on_the_seed_dialogues_reports_all_36_scenes(capsys):
    assert main(["stats", "tasks/seed/seed_dialogues.json", "--format", "md"]) == 0
    printed = capsys.readouterr().out
    assert f"| Dialogues | {len(json.loads(Path('tasks/seed/seed_dialogues.json').read_text()))} |" in printed
    assert "| Num. of scenarios | 36 |" in printed
    assert "| Num. of support strategies | 16 |" in printed
