"""Declarative splits: determinism, partitions, filters, missing data."""
from __future__ import annotations

import json
import random
import re

import pytest

from escbench.harness.catalogs import esconv_covered_scenes, load_scenes
from escbench.harness.errors import ConfigError, DataError
from escbench.harness.paths import TASKS_DIR
from escbench.harness.splits import load_split, partition_of, read_split_spec


def _write_extes(path, n_dialogues: int, scenes: list[str]) -> None:
    dialogues = []
    for i in range(n_dialogues):
        dialogues.append({
            "id": f"d{i:03d}", "scene": scenes[i % len(scenes)], "description": f"situation {i}",
            "content": [
                {"User": f"hello {i}"}, {"AI": "hi there", "AI Strategy": "Others"},
                {"User": f"problem number {i}"}, {"AI": f"reply {i}", "AI Strategy": "Emotional Validation"},
            ],
        })
    path.write_text(json.dumps(dialogues))


def _spec(tmp_path, body: str, data_name: str = "data.json"):
    yaml_path = tmp_path / "split.yaml"
    yaml_path.write_text(f"split: mine\nsource: {{path: {data_name}, format: extes}}\n" + body)
    return read_split_spec(yaml_path)


def test_same_config_gives_the_same_examples_twice(tmp_path):
    _write_extes(tmp_path / "data.json", 60, ["Academic Stress", "Anxiety and Panic"])
    spec = _spec(tmp_path, "partition: {ratios: {train: 0.5, test: 0.5}, seed: 1, use: test}\n")
    first, second = load_split(spec), load_split(spec)
    assert [e.id for e in first.examples] == [e.id for e in second.examples]
    assert first.examples_sha256() == second.examples_sha256()
    assert len(first.examples) == 2 * len(first.dialogues) > 0


def test_partition_does_not_depend_on_file_order(tmp_path):
    _write_extes(tmp_path / "data.json", 50, ["Academic Stress"])
    spec = _spec(tmp_path, "partition: {ratios: {train: 0.8, valid: 0.1, test: 0.1}, seed: 7, use: test}\n")
    before = {d.id for d in load_split(spec).dialogues}
    items = json.loads((tmp_path / "data.json").read_text())
    random.Random(0).shuffle(items)
    (tmp_path / "data.json").write_text(json.dumps(items))
    assert {d.id for d in load_split(spec).dialogues} == before


def test_partitions_cover_every_id_once_with_the_requested_ratios():
    ratios = {"train": 0.8, "valid": 0.1, "test": 0.1}
    names = [partition_of(f"id-{i}", ratios, seed=13) for i in range(20000)]
    shares = {name: names.count(name) / len(names) for name in ratios}
    assert shares["train"] == pytest.approx(0.8, abs=0.01)
    assert shares["test"] == pytest.approx(0.1, abs=0.01)
    assert partition_of("id-5", ratios, 13) == partition_of("id-5", ratios, 13)
    assert [partition_of(f"id-{i}", ratios, 14) for i in range(200)] != names[:200]


def test_scene_filters_and_the_esconv_mapping_file(tmp_path):
    scenes = [scene.name for scene in load_scenes()]
    _write_extes(tmp_path / "data.json", 72, scenes)
    (tmp_path / "topics.yaml").write_text((TASKS_DIR / "catalogs" / "esconv-topics.yaml").read_text())
    new_only = load_split(_spec(tmp_path, "filters: {exclude_scenes_file: topics.yaml}\n"))
    covered = set(esconv_covered_scenes().values())
    assert len(covered) == 5
    assert {d.scene for d in new_only.dialogues} == set(scenes) - covered
    assert len({d.scene for d in new_only.dialogues}) == 31
    kept = load_split(_spec(tmp_path, "filters: {scenes: [Academic Stress]}\n"))
    assert {d.scene for d in kept.dialogues} == {"Academic Stress"} and len(kept.dialogues) == 2


def test_example_rules_and_limit(tmp_path):
    _write_extes(tmp_path / "data.json", 4, ["Academic Stress"])
    spec = _spec(tmp_path, "examples: {exclude_strategies: [Others]}\nlimit: 3\n")
    data = load_split(spec)
    assert [e.id for e in data.examples] == ["d000:3", "d001:3", "d002:3"]
    assert data.examples[0].reference == "reply 0" and data.examples[0].strategy == "Emotional Validation"
    assert [t.text for t in data.examples[0].context] == ["hello 0", "hi there", "problem number 0"]
    assert len(load_split(spec, limit=1).examples) == 1


def test_missing_data_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv("ESCBENCH_ESCONV", raising=False)
    spec = read_split_spec(TASKS_DIR / "splits" / "esconv_test.yaml")
    with pytest.raises(DataError) as caught:
        load_split(spec)
    message = str(caught.value)
    assert "not shipped" in message and "ESCBENCH_ESCONV" in message and "esconv_test.yaml" in message


def test_env_var_points_a_split_at_a_file(tmp_path, monkeypatch):
    _write_extes(tmp_path / "mine.json", 200, ["Anxiety and Panic", "Breakups or Divorce"])
    monkeypatch.setenv("ESCBENCH_EXTES", str(tmp_path / "mine.json"))
    data = load_split(read_split_spec(TASKS_DIR / "splits" / "extes_new_scenes.yaml"))
    assert data.source_path == tmp_path / "mine.json"
    assert data.dialogues and {d.scene for d in data.dialogues} == {"Anxiety and Panic"}


def test_bad_split_yaml_names_the_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("split: x\nsource: {path: a.json}\nshuffle: true\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key\(s\) \['shuffle'\]"):
        read_split_spec(bad)
    bad.write_text("split: x\nsource: {path: a.json}\npartition: {ratios: {train: 0.9, test: 0.2}}\n")
    with pytest.raises(ConfigError, match="sum to 1"):
        read_split_spec(bad)


def _write_scenes(path, per_scene: dict[str, int]) -> None:
    dialogues, n = [], 0
    for scene, count in per_scene.items():
        for _ in range(count):
            dialogues.append({"id": f"s{n:03d}", "scene": scene, "description": "x", "content": [
                {"User": f"hello {n}"}, {"AI": f"reply {n}", "AI Strategy": "Others"}]})
            n += 1
    path.write_text(json.dumps(dialogues))


STRATIFIED = "partition: {stratify: scene, per_stratum: {test: 1, valid: 1}, seed: 13, use: %s}\n"


def test_stratified_partition_puts_the_asked_number_of_each_scene_in_test_and_valid(tmp_path):
    _write_scenes(tmp_path / "data.json", {"Academic Stress": 5, "Anxiety and Panic": 4, "Caregiver Support": 1})
    parts = {use: load_split(_spec(tmp_path, STRATIFIED % use)).dialogues for use in ("train", "valid", "test")}
    scenes = {use: sorted(d.scene for d in dialogues) for use, dialogues in parts.items()}
    # hand count: 1 test + 1 valid per scene, the rest train; a one-dialogue scene fills test only
    assert scenes["test"] == ["Academic Stress", "Anxiety and Panic", "Caregiver Support"]
    assert scenes["valid"] == ["Academic Stress", "Anxiety and Panic"]
    assert scenes["train"] == ["Academic Stress"] * 3 + ["Anxiety and Panic"] * 2
    ids = [d.id for dialogues in parts.values() for d in dialogues]
    assert sorted(ids) == [f"s{i:03d}" for i in range(10)]


def test_stratified_test_dialogue_is_the_lowest_hash_of_seed_and_id_in_its_scene(tmp_path):
    import hashlib

    _write_scenes(tmp_path / "data.json", {"Academic Stress": 6})
    test = load_split(_spec(tmp_path, STRATIFIED % "test")).dialogues
    by_hash = sorted((hashlib.sha256(f"13:s{i:03d}".encode()).hexdigest(), f"s{i:03d}") for i in range(6))
    assert [d.id for d in test] == [by_hash[0][1]]


def test_stratified_partition_ignores_file_order_and_other_scenes(tmp_path):
    _write_scenes(tmp_path / "data.json", {"Academic Stress": 4, "Anxiety and Panic": 4})
    spec = _spec(tmp_path, STRATIFIED % "test")
    before = {d.id for d in load_split(spec).dialogues}
    items = json.loads((tmp_path / "data.json").read_text())
    random.Random(3).shuffle(items)
    items.append({"id": "zz-new", "scene": "Caregiver Support", "description": "x",
                  "content": [{"User": "hi"}, {"AI": "hello", "AI Strategy": "Others"}]})
    (tmp_path / "data.json").write_text(json.dumps(items))
    assert {d.id for d in load_split(spec).dialogues} == before | {"zz-new"}


@pytest.mark.parametrize("partition, complaint", [
    ("{stratify: topic, per_stratum: {test: 1}}", "partition.stratify must be one of ['scene']"),
    ("{stratify: scene}", "partition.per_stratum must map"),
    ("{stratify: scene, per_stratum: {test: -1}}", "partition.per_stratum.test must be a whole number"),
    ("{stratify: scene, per_stratum: {test: 0.5}}", "partition.per_stratum.test must be a whole number"),
    ("{stratify: scene, per_stratum: {train: 3}}", "partition.per_stratum.train: only 'test' and 'valid'"),
    ("{stratify: scene, per_stratum: {test: 1}, use: dev}", "partition.use 'dev' is not one of"),
    ("{stratify: scene, per_stratum: {test: 1}, ratios: {test: 1.0}}", "either 'ratios' or 'stratify'"),
    ("{stratify: scene, per_stratum: {test: 1}, seed: abc}", "partition.seed must be an integer"),
    ("{stratify: scene, per_stratum: {test: 1}, shuffle: true}", "unknown key(s) partition.['shuffle']"),
    ("{seed: 3}", "partition needs 'ratios'"),
])
def test_bad_partition_names_the_yaml_and_the_key(tmp_path, partition, complaint):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"split: x\nsource: {{path: a.json}}\npartition: {partition}\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: .*" + re.escape(complaint)):
        read_split_spec(bad)


def test_asking_for_an_unknown_partition_is_a_config_error(tmp_path):
    _write_scenes(tmp_path / "data.json", {"Academic Stress": 2})
    with pytest.raises(ConfigError, match="split.yaml: partition 'dev' asked for is not one of"):
        load_split(_spec(tmp_path, STRATIFIED % "test"), partition="dev")
