"""The built-in seed dialogues meet the bar the expansion and the seed split rely on."""
from __future__ import annotations

from collections import Counter

import pytest

from harness.catalogs import load_scenes, load_strategy_catalog
from harness.loaders import load_dialogues
from harness.paths import TASKS_DIR

SEEDS = TASKS_DIR / "seed" / "seed_dialogues.json"


@pytest.fixture(scope="module")
def seeds():
    return load_dialogues(SEEDS, format="extes").dialogues


def test_two_dialogues_for_each_of_the_36_scenes(seeds):
    per_scene = Counter(d.scene for d in seeds)
    assert len(seeds) == 72
    assert per_scene == {scene.name: 2 for scene in load_scenes()}


def test_dialogues_alternate_from_the_user_with_10_to_20_utterances(seeds):
    for dialogue in seeds:
        roles = [turn.role for turn in dialogue.turns]
        assert 10 <= len(roles) <= 20, dialogue.id
        assert roles == ["user", "ai"] * (len(roles) // 2) + ["user"] * (len(roles) % 2), dialogue.id


def test_every_supporter_turn_is_labelled_and_every_strategy_used_ten_times(seeds):
    labels = [turn.strategy for d in seeds for turn in d.turns if turn.role == "ai"]
    assert None not in labels
    counts = Counter(labels)
    assert set(counts) == set(load_strategy_catalog("extes").names)
    assert min(counts.values()) >= 10


def test_ids_are_stable_and_unique(seeds):
    ids = [d.id for d in seeds]
    assert ids == [f"seed-{i:03d}" for i in range(1, 73)]


def test_no_two_supporter_replies_are_identical(seeds):
    replies = Counter(turn.text.lower() for d in seeds for turn in d.turns if turn.role == "ai")
    assert replies.most_common(1)[0][1] == 1
