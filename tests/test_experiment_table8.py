"""Paper Table 8 in the experiment: ``stages.train.variants`` (full / adapter / lora, with and
without strategy tags) become students of their own, evaluated under distinct labels, and the
publish stage lays their scores out as the paper's Table 8 (a group per method, ✗ and ✓ rows)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from escbench.harness.errors import ConfigError
from escbench.plugins.chatpal.experiment.config import load_experiment
from escbench.plugins.chatpal.experiment.engine import plan_for
from escbench.plugins.chatpal.experiment.units import build_plan

from results_data import make_results, results_host, write_split

REPO = Path(__file__).resolve().parent.parent
SMOKE = REPO / "tasks" / "experiments" / "smoke.yaml"
IDENTITY = {"endpoint": "scripted", "model": "teacher"}


def _experiment(tmp_path: Path, variants=None, name: str = "exp.yaml") -> Path:
    raw = yaml.safe_load(SMOKE.read_text(encoding="utf-8"))
    raw["data"]["new_scenes_splits"] = [str(REPO / "tasks/experiments/splits/seed_new_scenes.yaml")]
    raw["stages"]["train"].pop("variants", None)
    if variants is not None:
        raw["stages"]["train"]["variants"] = variants
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("variants, message", [
    ([{"method": "qlora"}], r"stages\.train\.variants\[0\]\.method: expected one of full, adapter, lora, got 'qlora'"),
    ([{"method": "lora", "tags": "no"}], r"stages\.train\.variants\[0\]\.tags: expected true or false"),
    ([{"method": "lora", "tag": False}], r"stages\.train\.variants\[0\]\.tag: unknown key \(did you mean 'tags'\?\)"),
    ([{"method": "full"}, {"method": "full", "tags": True}], r"stages\.train\.variants\[1\]: the same variant"),
    ({"method": "full"}, r"stages\.train\.variants: expected a list"),
])
def test_bad_variants_are_named(tmp_path, variants, message):
    with pytest.raises(ConfigError, match=message) as caught:
        load_experiment(_experiment(tmp_path, variants))
    assert "exp.yaml" in str(caught.value)


def test_variants_are_units_of_their_own_and_leave_the_main_students_cached(tmp_path):
    before = {u.id: u for u in build_plan(load_experiment(_experiment(tmp_path, name="a.yaml")), IDENTITY)}
    variants = [{"method": "full", "tags": False}, {"method": "adapter"}, {"method": "lora", "tags": False},
                {"method": "lora", "tags": True}, {"method": "lora", "dri": False}]
    after = {u.id: u for u in build_plan(load_experiment(_experiment(tmp_path, variants, "b.yaml")), IDENTITY)}
    added = sorted(set(after) - set(before))
    # lora with tags is the main chatpal student and lora with tags without DRI is chatpal-w/o-dri:
    # neither is trained twice
    assert added == ["evaluate/variant-adapter-tags", "evaluate/variant-full-notags", "evaluate/variant-lora-notags",
                     "train/variant-adapter-tags", "train/variant-full-notags", "train/variant-lora-notags"]
    changed = {unit for unit in before if before[unit].key != after[unit].key}
    assert changed == {"publish/leaderboard"}
    # the student system each variant's card fits, and a label of its own
    assert after["evaluate/variant-full-notags"].settings["system"] == "augesc+dri"
    assert after["evaluate/variant-adapter-tags"].settings["system"] == "chatpal"
    labels = [after[u].settings["label"] for u in added if u.startswith("evaluate/")]
    assert len(set(labels)) == 3 and "ChatPal LoRA, no strategies" in labels
    assert after["train/variant-full-notags"].upstream == ("expand/expand", "dri/chatpal")


def test_table8_lays_out_method_groups_with_untagged_and_tagged_rows(parrot_module, tmp_path):
    from escbench.plugins.chatpal.experiment.table8 import table8

    variants = [{"method": "adapter", "tags": False}, {"method": "adapter", "tags": True},
                {"method": "lora", "tags": False}]
    experiment = load_experiment(_experiment(tmp_path, variants))
    ctx, _ = plan_for(experiment, tmp_path / "out")
    split = write_split(tmp_path / "data", "worries", dialogues=6)
    host = results_host(parrot_module)
    # oracle replies with the reference (BLEU-4 = ROUGE-L = 100); parrot repeats the seeker
    for folder, system in (("variant-adapter-notags", "parrot"), ("variant-adapter-tags", "oracle"),
                           ("variant-lora-notags", "oracle")):
        make_results(host, ctx.folder(f"evaluate/{folder}"), [(system, {})], splits=(str(split),))
    table = table8(ctx, experiment.stage("train")["variants"], "worries")
    assert [c.name for c in table.columns] == ["B-4", "R-L", "D-2", "D-3"]  # paper order, scored ones
    assert table.groups == [("LLaMA-Adapter", ["LLaMA-Adapter · ✗", "LLaMA-Adapter · ✓"]), ("LoRA", ["LoRA · ✗"])]
    assert [table.label(r) for r in table.rows] == ["✗", "✓", "✗"]
    assert table.values["LLaMA-Adapter · ✓"]["B-4"] == pytest.approx(100.0)
    assert table.values["LLaMA-Adapter · ✓"]["R-L"] == pytest.approx(100.0)
    assert table.values["LLaMA-Adapter · ✗"]["R-L"] < 100.0
    markdown = host.renderers.get("md")().render(table)
    assert "| Method | Stra? | B-4 | R-L | D-2 | D-3 |" in markdown
    assert "|  | ✓ | **100.000** | **100.00** |" in markdown  # the group's name on its first row only, as in the paper
