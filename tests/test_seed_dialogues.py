"""The built-in seed dialogues meet the bar the expansion and the seed split rely on."""
from __future__ import annotations

from collections import Counter

import pytest

from escbench.harness.catalogs import esconv_covered_scenes, load_scenes, load_strategy_catalog
from escbench.harness.loaders import load_dialogues
from escbench.harness.paths import TASKS_DIR
from escbench.harness.splits import load_split, read_split_spec

SEEDS = TASKS_DIR / "seed" / "seed_dialogues.json"
SEED_SPLIT = TASKS_DIR / "splits" / "seed.yaml"
# ChatPal paper, Table 1: the three most frequent ExTES strategies, most frequent first
# (Emotional Validation 19.8%, Affirmation 16.9%, Reflective Statements 14.8%; 51.5% together).
PAPER_TOP_THREE = ["Emotional Validation", "Affirmation", "Reflective Statements"]


@pytest.fixture(scope="module")
def seeds():
    return load_dialogues(SEEDS, format="extes").dialogues


def _labels(dialogue) -> list[str]:
    return [turn.strategy for turn in dialogue.turns if turn.role == "ai"]


def test_four_dialogues_for_each_of_the_36_scenes(seeds):
    per_scene = Counter(d.scene for d in seeds)
    assert len(seeds) == 144
    assert per_scene == {scene.name: 4 for scene in load_scenes()}


def test_dialogues_alternate_from_the_user_with_14_to_20_utterances(seeds):
    for dialogue in seeds:
        roles = [turn.role for turn in dialogue.turns]
        assert 14 <= len(roles) <= 20, dialogue.id
        assert roles == ["user", "ai"] * (len(roles) // 2) + ["user"] * (len(roles) % 2), dialogue.id


def test_every_supporter_turn_is_labelled_and_every_strategy_used_ten_times(seeds):
    labels = [label for d in seeds for label in _labels(d)]
    assert None not in labels
    counts = Counter(labels)
    assert set(counts) == set(load_strategy_catalog("extes").names)
    assert min(counts.values()) >= 10


def test_ids_are_stable_and_unique(seeds):
    ids = [d.id for d in seeds]
    assert ids == [f"seed-{i:03d}" for i in range(1, 145)]


def test_no_two_supporter_replies_are_identical(seeds):
    replies = Counter(turn.text.lower() for d in seeds for turn in d.turns if turn.role == "ai")
    assert replies.most_common(1)[0][1] == 1


def test_no_utterance_is_a_word_or_two(seeds):
    short = [(d.id, t.text) for d in seeds for t in d.turns if len(t.text.split()) < 3]
    assert short == []


def test_most_dialogues_repeat_a_strategy_as_supporters_do(seeds):
    repeating = [d.id for d in seeds if max(Counter(_labels(d)).values()) > 1]
    assert len(repeating) >= len(seeds) // 2
    repeating_named = [d.id for d in seeds if any(Counter(_labels(d))[name] > 1 for name in PAPER_TOP_THREE)]
    assert len(repeating_named) >= len(seeds) // 2


def test_the_three_most_frequent_strategies_follow_the_papers_table_1(seeds):
    counts = Counter(label for d in seeds for label in _labels(d))
    assert [name for name, _ in counts.most_common(3)] == PAPER_TOP_THREE
    share = sum(counts[name] for name in PAPER_TOP_THREE) / sum(counts.values())
    assert share >= 0.4  # the paper's 51.5%, loosely


@pytest.fixture(scope="module")
def seed_split():
    spec = read_split_spec(SEED_SPLIT)
    return {part: load_split(spec, partition=part) for part in ("train", "valid", "test")}


def test_seed_split_tests_exactly_one_dialogue_per_scene(seed_split):
    test_scenes = Counter(d.scene for d in seed_split["test"].dialogues)
    assert test_scenes == {scene.name: 1 for scene in load_scenes()}
    assert load_split(read_split_spec(SEED_SPLIT)).examples_sha256() == seed_split["test"].examples_sha256()


def test_seed_split_test_part_covers_the_31_scenes_esconv_lacks(seed_split):
    new_scenes = {scene.name for scene in load_scenes()} - set(esconv_covered_scenes().values())
    assert len(new_scenes) == 31  # ChatPal paper, section 5.4.1
    assert new_scenes <= {d.scene for d in seed_split["test"].dialogues}


def test_seed_split_trains_on_the_other_three_per_scene_and_validates_on_none(seed_split, seeds):
    train_ids = {d.id for d in seed_split["train"].dialogues}
    test_ids = {d.id for d in seed_split["test"].dialogues}
    assert not train_ids & test_ids and train_ids | test_ids == {d.id for d in seeds}
    assert Counter(d.scene for d in seed_split["train"].dialogues) == {scene.name: 3 for scene in load_scenes()}
    assert seed_split["valid"].dialogues == []


def test_seed_split_test_examples_are_the_supporter_turns_of_its_dialogues(seed_split):
    test = seed_split["test"]
    supporter_turns = sum(len(_labels(d)) for d in test.dialogues)
    assert len(test.examples) == supporter_turns
    assert {e.dialogue_id for e in test.examples} == {d.id for d in test.dialogues}
