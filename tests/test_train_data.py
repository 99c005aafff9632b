"""Student training data: supporter turns and DRI alternatives become (context -> target) pairs."""
from __future__ import annotations

import json

import pytest

from escbench.harness.catalogs import load_strategy_catalog
from escbench.harness.data import Dialogue, Turn
from escbench.harness.errors import ConfigError, DataError
from escbench.harness.loaders import load_dialogues, write_jsonl
from escbench.harness.paths import TASKS_DIR
from escbench.harness.splits import load_split, read_split_spec
from escbench.plugins.chatpal.train.data import (DataSource, build_training_data, dialogue_pairs, hold_out_dialogues,
                                        load_source_dialogues)
from escbench.plugins.chatpal.train.dri_file import dri_source, read_dri_file

CATALOG = load_strategy_catalog("extes")
MOVING = Dialogue(
    id="moving-away",
    scene="Moving or Relocation",
    description="Sam moved for a new job and knows nobody in town.",
    turns=(
        Turn("ai", "Hello, what would you like to talk about?", "Others"),
        Turn("user", "I moved two weeks ago and the evenings are long."),
        Turn("ai", "Long, empty evenings in a new place can feel heavy.", "Reflective Statements"),
        Turn("user", "Yes. I miss just bumping into friends."),
        Turn("ai", "   ", None),
        Turn("user", "Sorry, are you still there?"),
        Turn("ai", "I am. Would a weekly club help you meet people?", "Suggest Options"),
    ),
)
EXAM = Dialogue(
    id="exam-nerves",
    scene="Academic Stress",
    turns=(
        Turn("user", "My final exam is tomorrow and my mind is blank."),
        Turn("ai", "That blank feeling is common when you are this anxious.", "Normalize Experiences"),
    ),
)


def dri_line(**overrides) -> str:
    record = {"dialogue_id": "moving-away", "turn_index": 2,
              "original": {"text": "Long, empty evenings in a new place can feel heavy.", "strategy": "Reflective Statements"},
              "alternatives": [{"text": "It sounds lonely to come home to quiet rooms.", "strategy": "Emotional Validation"},
                               {"text": "What do your evenings usually look like now?", "strategy": None}],
              "teacher": "scripted", "seed": 3}
    record.update(overrides)
    return json.dumps(record)


def write(path, *lines: str):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_supporter_turn_with_text_becomes_a_pair_with_the_turns_before_it():
    pairs = dialogue_pairs(MOVING)
    assert [p.id for p in pairs] == ["moving-away:0", "moving-away:2", "moving-away:6"]
    assert [len(p.context.context) for p in pairs] == [0, 2, 6]
    assert [p.strategy for p in pairs] == ["Others", "Reflective Statements", "Suggest Options"]
    assert pairs[2].response == "I am. Would a weekly club help you meet people?"
    assert pairs[1].context.scene == "Moving or Relocation"
    assert pairs[1].context.description.startswith("Sam moved")


def test_dri_alternatives_add_pairs_with_the_original_context(tmp_path):
    path = write(tmp_path / "dri.jsonl", dri_line())
    records = read_dri_file(path, CATALOG)
    data = build_training_data([MOVING], [], (records, dri_source(path, len(records))), valid_fraction=0,
                               with_strategy=False)
    extra = [p for p in data.train if p.origin == "dri"]
    assert [p.id for p in extra] == ["moving-away:2:dri0", "moving-away:2:dri1"]
    assert [p.response for p in extra] == ["It sounds lonely to come home to quiet rooms.",
                                           "What do your evenings usually look like now?"]
    assert extra[0].context == dialogue_pairs(MOVING)[1].context
    # an unlabelled alternative never takes the strategy of the turn it replaces
    assert [p.strategy for p in extra] == ["Emotional Validation", None]
    assert data.stats["dri_pairs"] == 2 and len(data.train) == 5
    assert data.stats["dri_unlabeled"] == 1 and data.stats["dri_unlabeled_left_out"] == 0
    assert data.sources[-1].kind == "dri" and len(data.sources[-1].sha256) == 64


def test_unlabelled_alternatives_are_left_out_of_strategy_tagged_training(tmp_path):
    path = write(tmp_path / "dri.jsonl", dri_line())
    records = read_dri_file(path, CATALOG)
    data = build_training_data([MOVING], [], (records, dri_source(path, 1)), valid_fraction=0)
    extra = [p for p in data.train if p.origin == "dri"]
    assert [(p.strategy, p.response) for p in extra] == [
        ("Emotional Validation", "It sounds lonely to come home to quiet rooms.")]
    assert data.stats["dri_unlabeled"] == 1 and data.stats["dri_unlabeled_left_out"] == 1


def three_alternatives() -> str:
    return dri_line(alternatives=[{"text": f"Reply number {n}.", "strategy": "Affirmation"} for n in (1, 2, 3)])


@pytest.mark.parametrize("k, expected", [(None, 3), (3, 3), (2, 2), (1, 1), (0, 0)])
def test_dri_k_takes_the_first_k_alternatives_of_each_line(tmp_path, k, expected):
    path = write(tmp_path / "dri.jsonl", three_alternatives())
    records = read_dri_file(path, CATALOG)
    data = build_training_data([MOVING], [], (records, dri_source(path, 1)), valid_fraction=0, dri_k=k)
    extra = [p.response for p in data.train if p.origin == "dri"]
    assert extra == [f"Reply number {n}." for n in (1, 2, 3)][:expected]
    assert data.stats["dri_k"] == expected and data.stats["dri_file_k"] == 3
    assert data.stats["dri_alternatives_unused"] == 3 - expected
    assert data.sources[-1].kind == "dri"  # k=0 still records the file


def test_dri_k_beyond_the_file_is_an_error_naming_it(tmp_path):
    path = write(tmp_path / "dri.jsonl", three_alternatives())
    records = read_dri_file(path, CATALOG)
    with pytest.raises(DataError, match=r"dri\.jsonl: --dri-k 4 exceeds the 3 alternatives"):
        build_training_data([MOVING], [], (records, dri_source(path, 1)), valid_fraction=0, dri_k=4)


def test_dri_lines_for_dialogues_outside_the_training_data_are_skipped_and_counted(tmp_path):
    path = write(tmp_path / "dri.jsonl", dri_line(), dri_line(dialogue_id="held-out-dialogue"))
    records = read_dri_file(path, CATALOG)
    data = build_training_data([MOVING], [], (records, dri_source(path, 2)), valid_fraction=0)
    assert data.stats["dri_lines_skipped"] == 1 and data.stats["dri_pairs"] == 1  # the labelled one


def test_a_dri_file_for_other_dialogues_is_an_error(tmp_path):
    path = write(tmp_path / "dri.jsonl", dri_line(dialogue_id="someone-else"))
    records = read_dri_file(path, CATALOG)
    source = DataSource("/data/seed_train.jsonl", "0" * 64, "dialogues", 1)
    with pytest.raises(DataError, match=r"no line of the DRI file .*dri\.jsonl refers to a dialogue of the "
                                        r"training data \(/data/seed_train\.jsonl; .*'someone-else'"):
        build_training_data([MOVING], [source], (records, dri_source(path, 1)), valid_fraction=0)


def test_an_empty_dri_file_is_an_error(tmp_path):
    path = write(tmp_path / "dri.jsonl", "")
    with pytest.raises(DataError, match="dri.jsonl: the DRI file has no records"):
        build_training_data([MOVING], [], ([], dri_source(path, 0)), valid_fraction=0)


def test_dri_original_text_that_differs_from_the_dialogue_names_the_line(tmp_path):
    path = write(tmp_path / "dri.jsonl", dri_line(), dri_line(original={"text": "Something else entirely."}))
    records = read_dri_file(path, CATALOG)
    with pytest.raises(DataError, match=r"dri\.jsonl, line 2: 'original.text' differs"):
        build_training_data([MOVING], [], (records, dri_source(path, 2)), valid_fraction=0)


def test_dri_pointing_at_a_user_turn_is_an_error(tmp_path):
    path = write(tmp_path / "dri.jsonl", dri_line(turn_index=1, original={"text": "I moved two weeks ago and the evenings are long."}))
    records = read_dri_file(path, CATALOG)
    with pytest.raises(DataError, match="line 1: turn 1 .* is a user turn"):
        build_training_data([MOVING], [], (records, dri_source(path, 1)), valid_fraction=0)


@pytest.mark.parametrize("line, message", [
    ("{not json", "line 1, column 2: not valid JSON"),
    (dri_line(alternatives=[]), "line 1: 'alternatives' must be a non-empty list"),
    (dri_line(alternatives=[{"text": ""}]), "line 1, alternative 0: an alternative must be an object"),
    (dri_line(turn_index="2"), "line 1: 'turn_index' must be a non-negative integer"),
    (dri_line(alternatives=[{"text": "Hi.", "strategy": "Mind Reading"}]), "line 1, alternative 0: .*Mind Reading"),
])
def test_malformed_dri_lines_are_data_errors_with_the_line(tmp_path, line, message):
    path = write(tmp_path / "dri.jsonl", "", line)
    with pytest.raises(DataError, match=message.replace("line 1", "line 2")):
        read_dri_file(path, CATALOG)


def test_dri_strategies_are_normalised_with_the_catalog(tmp_path):
    path = write(tmp_path / "dri.jsonl", dri_line(alternatives=[{"text": "You did well.", "strategy": "affirmation"}]))
    (record,) = read_dri_file(path, CATALOG)
    assert record.alternatives[0].strategy == "Affirmation"


def test_empty_data_is_a_data_error_naming_the_file(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    dialogues, sources = load_source_dialogues([path], CATALOG)
    with pytest.raises(DataError, match="no supporter turns to train on in .*empty.jsonl"):
        build_training_data(dialogues, sources, valid_fraction=0)


def test_dialogues_without_supporter_text_are_empty_data():
    only_user = Dialogue("monologue", (Turn("user", "Is anyone there?"), Turn("ai", " ")))
    with pytest.raises(DataError, match="no supporter turns"):
        build_training_data([only_user], [], valid_fraction=0)


def test_a_split_yaml_gives_its_train_partition_only():
    split = TASKS_DIR / "splits" / "seed.yaml"
    dialogues, sources = load_source_dialogues([split], CATALOG, partition="train")
    test_ids = {d.id for d in load_split(read_split_spec(split)).dialogues}
    assert dialogues and test_ids and not test_ids & {d.id for d in dialogues}
    assert sources[0].kind == "split" and sources[0].partition == "train"
    assert sources[0].count == len(dialogues)
    assert sources[0].to_dict()["dialogue_file"] == str((TASKS_DIR / "seed" / "seed_dialogues.json").resolve())
    assert len(sources[0].hashes()) == 2 and sources[0].hashes()[0] != sources[0].hashes()[1]


def test_a_split_with_another_catalog_is_refused():
    with pytest.raises(ConfigError, match="--catalog extes"):
        load_source_dialogues([TASKS_DIR / "splits" / "seed.yaml"], load_strategy_catalog("esconv"))


def test_a_dialogue_id_in_two_files_is_an_error(tmp_path):
    first = write_jsonl([EXAM], tmp_path / "a.jsonl")
    second = write_jsonl([EXAM], tmp_path / "b.jsonl")
    with pytest.raises(DataError, match="b.jsonl: dialogue id 'exam-nerves' also appears in .*a.jsonl"):
        load_source_dialogues([first, second], CATALOG)


def test_validation_dialogues_are_held_out_whole_and_deterministically():
    dialogues = load_dialogues(TASKS_DIR / "seed" / "seed_dialogues.json").dialogues
    train, valid = hold_out_dialogues(dialogues, 0.1, seed=7)
    again_train, again_valid = hold_out_dialogues(list(reversed(dialogues)), 0.1, seed=7)
    assert len(valid) == len(dialogues) // 10 and len(train) == len(dialogues) - len(dialogues) // 10  # floor of 10%
    assert {d.id for d in valid} == {d.id for d in again_valid}
    assert {d.id for d in hold_out_dialogues(dialogues, 0.1, seed=8)[1]} != {d.id for d in valid}
    assert hold_out_dialogues([MOVING, EXAM], 0.05, seed=0)[1] != []  # at least one dialogue


def test_dri_alternatives_of_validation_dialogues_are_not_trained_on(tmp_path):
    path = write(tmp_path / "dri.jsonl", dri_line())
    records = read_dri_file(path, CATALOG)
    data = build_training_data([EXAM], [], (records, dri_source(path, 1)), valid_dialogues=[MOVING])
    assert [p.id for p in data.train] == ["exam-nerves:1"]
    assert [p.id for p in data.valid] == ["moving-away:0", "moving-away:2", "moving-away:6"]
    assert data.stats["dri_lines_skipped"] == 1
