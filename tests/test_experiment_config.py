"""escbench experiment: bad experiment files get errors naming the file and the field; the plan's
cache keys change exactly where an input changed; the scripted teacher's answers pass the
pipeline's own QA and parsers."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from escbench.harness.cli import main
from escbench.harness.errors import ConfigError
from escbench.plugins.chatpal.experiment.config import load_experiment

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "tasks" / "experiments" / "smoke.yaml"


def _write(tmp_path: Path, changes: dict, drop: tuple[str, ...] = ()) -> Path:
    raw = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    for dotted in drop:
        *parents, last = dotted.split(".")
        node = raw
        for part in parents:
            node = node[part]
        del node[last]
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = raw
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    raw["data"]["new_scenes_splits"] = [str(REPO / "tasks/experiments/splits/seed_new_scenes.yaml")]
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _cli_error(path: Path, capsys, *extra: str) -> str:
    status = main(["experiment", "run", str(path), "--out", str(path.parent / "out"), "--dry-run", *extra])
    assert status == 2
    return capsys.readouterr().err


def test_presets_load():
    for name in ("smoke", "cpu", "gpu"):
        experiment = load_experiment(REPO / "tasks" / "experiments" / f"{name}.yaml")
        assert experiment.name == name


def test_unknown_stage_is_named(tmp_path, capsys):
    path = _write(tmp_path, {"stages.distill": {"k": 1}})
    err = _cli_error(path, capsys)
    assert str(path) in err and "stages.distill" in err and "unknown stage" in err


def test_unknown_key_is_named_with_a_suggestion(tmp_path, capsys):
    path = _write(tmp_path, {"stages.train.max_step": 3})
    err = _cli_error(path, capsys)
    assert str(path) in err and "stages.train.max_step" in err and "max_steps" in err


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(ConfigError, match=r"exp\.yaml: studnets: unknown key"):
        load_experiment(_write(tmp_path, {"studnets": 1}))


def test_missing_teacher_endpoint(tmp_path, capsys):
    path = _write(tmp_path, {}, drop=("teacher.endpoint",))
    err = _cli_error(path, capsys)
    assert str(path) in err and "teacher.endpoint: missing" in err


def test_url_endpoint_without_url(tmp_path):
    with pytest.raises(ConfigError, match=r"exp\.yaml: teacher\.url: missing"):
        load_experiment(_write(tmp_path, {"teacher.endpoint": "url"}))


def test_bad_value_named(tmp_path):
    with pytest.raises(ConfigError, match=r"stages\.dri\.k: expected a positive integer, got 0"):
        load_experiment(_write(tmp_path, {"stages.dri.k": 0}))


def test_test_split_overlapping_training_data(tmp_path, capsys):
    # A "test" split that is in fact the seed file's train partition: every dialogue leaks.
    split = yaml.safe_load((REPO / "tasks/splits/seed.yaml").read_text(encoding="utf-8"))
    split["split"] = "seed_train_as_test"
    split["source"]["path"] = str(REPO / "tasks/seed/seed_dialogues.json")
    split["partition"]["use"] = "train"
    split_path = tmp_path / "leaky.yaml"
    split_path.write_text(yaml.safe_dump(split), encoding="utf-8")
    path = _write(tmp_path, {"data.test_splits": ["seed", str(split_path)]})
    err = _cli_error(path, capsys)
    assert str(path) in err and "data.test_splits[1]" in err and "overlaps the training data" in err
    # every dialogue of that split is a training dialogue: the first is named, the rest counted
    from escbench.harness.splits import load_split, read_split_spec

    train = load_split(read_split_spec(REPO / "tasks/splits/seed.yaml"), partition="train").dialogues
    assert train[0].id in err and f"and {len(train) - 1} more" in err


def test_changed_dri_setting_reruns_only_what_depends_on_it(tmp_path):
    from escbench.plugins.chatpal.experiment.units import build_plan

    identity = {"endpoint": "scripted", "model": "teacher"}
    before = {u.id: u.key for u in build_plan(load_experiment(_write(tmp_path, {})), identity)}
    after = {u.id: u.key for u in build_plan(load_experiment(_write(tmp_path, {"stages.dri.fraction": 0.5})), identity)}
    changed = {unit for unit in before if before[unit] != after[unit]}
    # AugESC's DRI takes its fraction from augment.dri_fraction (set in smoke), so the AugESC students stay cached.
    assert not changed & {"expand/seeds", "expand/expand", "augment/augesc", "train/augesc", "augment/augesc-dri",
                          "train/augesc-plus-dri", "train/chatpal-w-o-dri",
                          "evaluate/llama", "evaluate/chatgpt", "evaluate/augesc"}
    assert {"dri/chatpal", "train/chatpal", "evaluate/chatpal", "publish/leaderboard"} <= changed


def test_scripted_teacher_answers_pass_pipeline_qa():
    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.plugins.chatpal.dri import parse_replies
    from escbench.plugins.chatpal.experiment.scripted_teacher import answer
    from escbench.plugins.chatpal.prompts import load_template
    from escbench.plugins.chatpal.qa import QAOptions, check_dialogue

    catalog = load_strategy_catalog("extes")
    expand = load_template("tasks/prompts/expand").messages(strategies="x", example="{}", scene="Work Stress",
                                                             scene_description="stress at work")
    verdict = check_dialogue(answer(expand), "Work Stress", QAOptions(catalog=catalog, min_turns=8))
    assert verdict.ok, verdict.detail
    assert answer(expand) == answer(expand)  # deterministic
    dri = load_template("tasks/prompts/dri", "user_labeled.txt").messages(k="3", dialogue="User: hi\nAI: [New response]",
                                                                         strategies="x")
    parsed = parse_replies(answer(dri), "original reply", 3, catalog)
    assert len(parsed.replies) == 3 and all(strategy for _, strategy in parsed.replies)
    augment = load_template("tasks/prompts/augment").messages(situation="I lost my job last week.")
    assert check_dialogue(answer(augment), None, QAOptions(catalog=None, require_description=False)).ok


def test_scripted_teacher_answers_structured_requests_with_schema_valid_json():
    import jsonschema

    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.plugins.chatpal.dri import parse_replies
    from escbench.plugins.chatpal.experiment.scripted_teacher import answer
    from escbench.plugins.chatpal.qa import QAOptions, check_dialogue
    from escbench.plugins.chatpal.schemas import SchemaOptions, dialogue_schema, replies_schema
    from escbench.plugins.systems.expert_advice import advice_schema

    catalog = load_strategy_catalog("extes")
    request = [{"role": "user", "content": "any prompt"}]
    extended = SchemaOptions(profile="extended")
    for schema in (dialogue_schema(catalog, "Work Stress", 8, 60), dialogue_schema(None, None, 6, 60),
                   replies_schema(4, catalog), replies_schema(4, None), advice_schema(catalog),
                   dialogue_schema(catalog, "Work Stress", 8, 60, extended),
                   dialogue_schema(None, None, 6, 60, extended), replies_schema(4, catalog, extended)):
        jsonschema.validate(json.loads(answer(request, schema)), schema)
    labelled = answer(request, dialogue_schema(catalog, "Work Stress", 8, 60))
    assert check_dialogue(labelled, "Work Stress", QAOptions(catalog=catalog, min_turns=8)).ok
    parsed = parse_replies(answer(request, replies_schema(4, catalog)), "original", 4, catalog)
    assert len(parsed.replies) == 4 and all(strategy for _, strategy in parsed.replies)


def test_scripted_endpoint_serves_response_format_over_http(tmp_path):
    import urllib.request

    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.plugins.chatpal.experiment.teacher_endpoint import TeacherEndpoint
    from escbench.plugins.chatpal.schemas import dri_format

    body = {"model": "teacher", "messages": [{"role": "user", "content": "hello"}],
            "response_format": dri_format(3, load_strategy_catalog("extes"))}
    with TeacherEndpoint({"endpoint": "scripted", "model": "teacher"}, tmp_path) as endpoint:
        request = urllib.request.Request(f"{endpoint.url}/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.loads(response.read())
    replies = json.loads(payload["choices"][0]["message"]["content"])["replies"]
    assert len(replies) == 3 and payload["choices"][0]["finish_reason"] == "stop"
