"""The human-evaluation export keys replies by the run label: two configurations of one system
(a DRI k-sweep, a Table 8 variant) are two rows of the export and of its key, each with its
own replies, never one overwriting the other."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


from results_data import make_results, results_host, write_split


@pytest.fixture
def two_labels(parrot_module, tmp_path) -> Path:
    """``knob`` keeps k + 2 words of the reference: k=1 and k=4 reply differently."""
    split = write_split(tmp_path / "data", "worries", dialogues=6)
    make_results(results_host(parrot_module), tmp_path / "results",
                 [("knob", {"k": 1, "label": "Knob k=1"}), ("knob", {"k": 4, "label": "Knob k=4"})],
                 splits=(str(split),), metrics=[("word-count", {})])
    return tmp_path / "results"


def _export(human, results: Path, out: Path, *extra: str) -> dict:  # noqa: F811
    status, _, err = human("human", "export", "--results", results, "--split", "worries", "--n", 4, "--raters", 1,
                           "--seed", 3, "--out", out, *extra)
    assert status == 0, err
    return json.loads((out / "key.json").read_text(encoding="utf-8"))


def test_two_labels_of_one_system_are_two_rows_with_their_own_replies(human, two_labels, tmp_path):  # noqa: F811
    key = _export(human, two_labels, tmp_path / "eval")
    assert key["systems"] == ["Knob k=1", "Knob k=4"]
    assert key["n_units"] == 4 * 2
    assert {r["system"] for r in key["records"].values()} == {"knob"}
    units = {json.loads(line)["id"]: json.loads(line) for line in (tmp_path / "eval/units.jsonl").read_text().splitlines()}
    words = {"Knob k=1": set(), "Knob k=4": set()}
    for unit_id, entry in key["units"].items():
        words[entry["system"]].add(len(units[unit_id]["reply"].split()))
    # k + 2 words of each reference (every reference of the fixture is longer than 6 words)
    assert words == {"Knob k=1": {3}, "Knob k=4": {6}}


def test_systems_option_selects_by_label(human, two_labels, tmp_path):  # noqa: F811
    key = _export(human, two_labels, tmp_path / "eval", "--systems", "Knob k=4")
    assert key["systems"] == ["Knob k=4"] and key["n_units"] == 4
