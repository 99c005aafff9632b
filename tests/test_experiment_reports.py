"""The experiment's report stages on small data of our own (no model, no teacher): Tables 1 and 2
get a column per reference dataset (ESConv format) beside the experiment's own data."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from escbench.plugins.chatpal.experiment.config import load_experiment
from escbench.plugins.chatpal.experiment.engine import plan_for

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "tasks" / "experiments" / "smoke.yaml"
FIXTURES = REPO / "tests" / "fixtures" / "loaders"


def _experiment(tmp_path: Path, **data) -> Path:
    raw = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    raw["data"]["new_scenes_splits"] = [str(REPO / "tasks/experiments/splits/seed_new_scenes.yaml")]
    raw["data"].update(data)
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _esconv_split(tmp_path: Path) -> Path:
    shutil.copy(FIXTURES / "clean_esconv_format.json", tmp_path / "mini_esconv.json")
    spec = tmp_path / "mini_esconv.yaml"
    spec.write_text("split: mini_esconv\nsource:\n  path: mini_esconv.json\n  format: esconv\n  strategies: esconv\n"
                    "examples:\n  min_context_turns: 1\n", encoding="utf-8")
    return spec


def _datasets(ctx) -> None:
    """The files the stats unit reads, as the data stages would leave them."""
    for unit, name, source in (("expand/seeds", "train.jsonl", "dialogues.jsonl"),
                               ("expand/expand", "dialogues.json", "clean_extes_format.json"),
                               ("augment/augesc", "dialogues.json", "clean_extes_format.json")):
        ctx.folder(unit).mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / source, ctx.folder(unit) / name)


def test_tables_1_and_2_get_a_column_per_reference_split(tmp_path):
    experiment = load_experiment(_experiment(tmp_path, reference_splits=[str(_esconv_split(tmp_path))]))
    ctx, plan = plan_for(experiment, tmp_path / "out")
    _datasets(ctx)
    unit = next(u for u in plan if u.id == "analyse/stats")
    from escbench.plugins.chatpal.experiment.stage_reports import run_stats

    run_stats(ctx, unit, ctx.folder(unit.id))
    table1, table2 = json.loads((ctx.folder(unit.id) / "tables_1_2.json").read_text(encoding="utf-8"))
    assert table2["columns"][1:] == ["seeds (train)", "expanded", "AugESC data", "mini_esconv"]
    rows = {row[0]: row[1:] for row in table2["rows"]}
    # By hand from tests/fixtures/loaders/clean_esconv_format.json: 2 dialogues; consecutive turns
    # of one speaker merge, so 5 + 6 = 11 utterances (the JSONL seeds hold 2 dialogues).
    assert rows["Dialogues"][0] == 2 and rows["Dialogues"][3] == 2
    assert rows["Utterances"][3] == 11
    # ESConv's strategies are rows of Table 1 that only its column fills
    assert table1["columns"][1:] == table2["columns"][1:]
    providing = next(row for row in table1["rows"] if str(row[0]).startswith("Providing Suggestions"))
    assert providing[1:4] == ["", "", ""] and providing[4] > 0
    assert table1["rows"][-1][0] == "Overall"


def test_reference_splits_change_only_the_stats_unit(tmp_path):
    from escbench.plugins.chatpal.experiment.units import build_plan

    identity = {"endpoint": "scripted", "model": "teacher"}
    before = {u.id: u.key for u in build_plan(load_experiment(_experiment(tmp_path)), identity)}
    with_reference = load_experiment(_experiment(tmp_path, reference_splits=[str(_esconv_split(tmp_path))]))
    after = {u.id: u.key for u in build_plan(with_reference, identity)}
    # the leak check is a gate that reads the data section (cheap, never an input of a student)
    assert {unit for unit in before if before[unit] != after[unit]} == {"analyse/stats", "train/leak-check"}


def test_reference_splits_must_be_split_names(tmp_path):
    import pytest

    from escbench.harness.errors import ConfigError

    with pytest.raises(ConfigError, match=r"exp\.yaml: data\.reference_splits: expected a list"):
        load_experiment(_experiment(tmp_path, reference_splits=[3]))
