"""The plan: every unit of work of an experiment, in stage order, with what it reads.

A unit is one artefact-producing step (``expand/expand``, ``train/chatpal``,
``evaluate/ask-expert``...) in ``OUT/<stage>/<unit>/``. Its cache key covers its own settings,
the experiment's teacher identity when it talks to the teacher, and its upstream units' keys.
``train/leak-check`` runs before every student and stops the run on a leak; it is a gate, not
an input, so a change that leaves a student's data alone does not retrain it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import stage_data, stage_models, stage_reports
from .cache import unit_key
from .config import Experiment

OUTPUTS_DATA = ("*.json", "*.jsonl")
RESULTS_OUTPUTS = ("*.json", "*.samples.jsonl")
STUDENT_OUTPUTS = ("student/training_card.json", "student/adapter_config.json", "student/*.safetensors", "*.jsonl")


@dataclass
class Unit:
    stage: str
    name: str
    run: Callable
    settings: dict[str, Any] = field(default_factory=dict)
    upstream: tuple[str, ...] = ()
    teacher: bool = False
    outputs: tuple[str, ...] = OUTPUTS_DATA
    key: str = ""

    @property
    def id(self) -> str:
        return f"{self.stage}/{self.name}"


def _leak_unit(ctx, unit, folder: Path) -> None:
    from escbench.harness.jsonl import read_records

    from .cache import write_strict_json
    from .invoke import StageError
    from .leak import leak_check, test_dialogues

    journal = ctx.folder("expand/expand") / "journal.jsonl"
    exemplars = [r.get("tag", {}).get("example") for r in read_records(journal)] if journal.exists() else []
    training = {"chatpal training dialogues": ctx.folder("expand/expand") / stage_data.TRAIN_DIALOGUES,
                "augesc training dialogues": ctx.folder("augment/augesc") / "dialogues.json"}
    dri = {"chatpal DRI": ctx.folder("dri/chatpal") / "dri.jsonl", "augesc DRI": ctx.folder("augment/augesc-dri") / "dri.jsonl"}
    report = leak_check(test_dialogues(ctx.experiment.data), training, [e for e in exemplars if e], dri)
    write_strict_json(folder / "leak_check.json", report)
    if not report["passed"]:
        raise StageError(f"{unit.id}: test data reached training or the teacher: {report['problems'][0]} "
                         f"(all in {folder / 'leak_check.json'})")


def build_plan(experiment: Experiment, teacher_identity: dict) -> list[Unit]:
    """Units in run order, keys filled in."""
    st = experiment.stage
    data = experiment.data
    k = int(st("dri").get("k", 4))
    augesc_fraction = st("augment").get("dri_fraction", st("dri").get("fraction", 1.0))
    units = [
        Unit("expand", "seeds", stage_data.run_seeds, {"seed_split": data["seed_split"], "split_files": _split_files([data["seed_split"]])}),
        Unit("expand", "expand", stage_data.run_expand, {"stage": st("expand"), "seed": experiment.seed},
             ("expand/seeds",), teacher=True),
        Unit("dri", "chatpal", stage_data.run_dri, {"stage": st("dri"), "seed": experiment.seed}, ("expand/expand",), True),
        Unit("augment", "augesc", stage_data.run_augment, {"stage": st("augment"), "seed": experiment.seed},
             ("expand/seeds",), True),
        Unit("augment", "augesc-dri", stage_data.run_augment_dri, {"k": k, "fraction": augesc_fraction,
                                                                    "seed": experiment.seed}, ("augment/augesc",), True),
        Unit("train", "leak-check", _leak_unit, {"data": data, "split_files": _split_files(_eval_splits(data))},
             ("expand/expand", "augment/augesc", "dri/chatpal", "augment/augesc-dri")),
    ]
    for student in stage_models.STUDENTS:
        data_unit, dri_unit, _ = stage_models.student_inputs(student)
        dri_k = {"dri_k": k} if student == "chatpal" else {}  # Figure 4's last point: k = K
        units.append(Unit("train", stage_models.folder_name(student), stage_models.run_train,
                          {"student": student, "train": st("train"), "seed": experiment.seed, **dri_k},
                          tuple(u for u in (data_unit, dri_unit) if u), outputs=STUDENT_OUTPUTS))
    sweep = list(range(0, k)) if st("train").get("k_sweep", True) else []
    for k_value in sweep:
        units.append(Unit("train", f"chatpal-k{k_value}", stage_models.run_train,
                          {"student": "chatpal", "dri_k": k_value, "train": st("train"), "seed": experiment.seed},
                          ("expand/expand", "dri/chatpal"), outputs=STUDENT_OUTPUTS))
    evaluate = {"evaluate": st("evaluate"), "splits": _eval_splits(data), "split_files": _split_files(_eval_splits(data))}
    for system in stage_models.SYSTEMS:
        adapter = f"train/{stage_models.folder_name(system)}" if system in stage_models.STUDENTS else None
        units.append(Unit("evaluate", stage_models.folder_name(system), stage_models.run_evaluate,
                          {"system": system, "adapter_unit": adapter, **evaluate}, (adapter,) if adapter else (),
                          teacher=system in ("chatgpt", "ask-expert"), outputs=RESULTS_OUTPUTS))
    for k_value in sweep:
        units.append(Unit("evaluate", f"sweep-k{k_value}", stage_models.run_evaluate,
                          {"system": "chatpal", "adapter_unit": f"train/chatpal-k{k_value}", "dri_k": k_value, **evaluate},
                          (f"train/chatpal-k{k_value}",), outputs=RESULTS_OUTPUTS))
    datasets = ("expand/seeds", "expand/expand", "augment/augesc")
    main_eval = tuple(f"evaluate/{stage_models.folder_name(s)}" for s in stage_models.SYSTEMS)
    units += [
        Unit("analyse", "stats", stage_reports.run_stats, {}, datasets, outputs=("**/*.json", "**/*.md", "**/*.png")),
        Unit("analyse", "toxicity", stage_reports.run_toxicity, {"analyse": st("analyse")}, datasets + main_eval,
             outputs=("*.json", "*.md")),
        Unit("analyse", "human", stage_reports.run_human, {"analyse": st("analyse"), "seed": experiment.seed}, main_eval,
             outputs=("export/*",)),
        Unit("publish", "leaderboard", stage_reports.run_publish, {"publish": st("publish"), "seed": experiment.seed},
             main_eval + tuple(f"evaluate/sweep-k{k_value}" for k_value in sweep), outputs=("leaderboard/*", "plots/*")),
    ]
    keys: dict[str, str] = {}
    for unit in units:
        settings = {**unit.settings, **({"teacher": teacher_identity} if unit.teacher else {})}
        unit.key = unit_key(unit.stage, unit.name, settings, {u: keys[u] for u in unit.upstream})
        keys[unit.id] = unit.key
    return units


def _eval_splits(data: dict) -> list[str]:
    return list(data["test_splits"]) + list(data["new_scenes_splits"])


def _split_files(names: list[str]) -> dict[str, Any]:
    """Hashes of the split YAMLs and their data files, so an edited split reruns what reads it."""
    from escbench.harness.models import file_sha256
    from escbench.harness.plugins import get_host
    from escbench.harness.runner import find_split
    from escbench.harness.splits import read_split_spec, resolve_source

    out = {}
    for name in names:
        path = find_split(get_host(), name)
        spec = read_split_spec(path)
        out[name] = {"yaml_sha256": file_sha256(path), "source_sha256": file_sha256(resolve_source(spec))}
    return json.loads(json.dumps(out))
