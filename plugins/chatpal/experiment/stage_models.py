"""Stages that make and run models: train (students, DRI k-sweep) and evaluate (seven systems).

Students (system name -> training data):

- ``augesc``: AugESC dialogues, no strategy tags; ``augesc+dri``: the same + their DRI file;
- ``chatpal-w/o-dri``: seed train partition + expansion, strategy tags; ``chatpal``: + DRI;
- k-sweep ``chatpal-k<k>`` for 0 <= k < K: ``chatpal`` trained with ``--dri-k k`` on the
  single DRI file (k = K is ``chatpal`` itself, trained with ``--dri-k K``), so every point of
  Figure 4 is a ``chatpal`` record whose config carries its ``dri_k``.
- Table 8 variants ``variant-<method>-<tags|notags>[-nodri]`` (``stages.train.variants``):
  the ChatPal data (seed train partition + expansion, + DRI unless ``dri: false``) trained
  with that method, with or without strategy tags; evaluated with the student system whose
  training card they fit (:data:`VARIANT_SYSTEM`) under a label of their own. A variant equal
  to a main student (same method, tags on) is that student, not trained twice.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .invoke import StageError, call
from .stage_data import TRAIN_DIALOGUES

TRAIN_FLAGS = {"method": "--method", "max_steps": "--max-steps", "epochs": "--epochs", "max_len": "--max-len",
               "max_prompt_len": "--max-prompt-len", "effective_batch": "--effective-batch", "micro_batch": "--micro-batch", "lr": "--lr",
               "lora_r": "--lora-r", "dtype": "--dtype", "save_steps": "--save-steps", "eval_steps": "--eval-steps",
               "valid_fraction": "--valid-fraction"}
CARD = "training_card.json"
STUDENT_DIR = "student"  # escbench train wants a folder of its own (the unit folder holds the state file)
STUDENTS = ("augesc", "augesc+dri", "chatpal-w/o-dri", "chatpal")
SYSTEMS = ("llama", "chatgpt", "ask-expert") + STUDENTS
DEFAULT_METRICS = ("bleu", "distinct", "extrema", "meteor", "rouge-l", "strategy", "toxicity-lexicon")


# (strategy tags, DRI) -> the student system whose card check a variant passes
VARIANT_SYSTEM = {(True, True): "chatpal", (True, False): "chatpal-w/o-dri", (False, True): "augesc+dri",
                  (False, False): "augesc"}
METHOD_NAMES = {"full": "full fine-tuning", "adapter": "LLaMA-Adapter", "lora": "LoRA"}


def variant_name(variant: dict) -> str:
    return f"variant-{variant['method']}-{'tags' if variant['tags'] else 'notags'}{'' if variant['dri'] else '-nodri'}"


def variant_label(variant: dict) -> str:
    """The run label of a variant's records, e.g. ``ChatPal LoRA, no strategies``."""
    return (f"ChatPal {METHOD_NAMES[variant['method']]}, {'with' if variant['tags'] else 'no'} strategies"
            f"{'' if variant['dri'] else ', w/o DRI'}")


def variant_student(variant: dict, main_method: str) -> str | None:
    """The main student a variant is (same data, tags and method), or None."""
    if variant["tags"] and variant["method"] == main_method:
        return "chatpal" if variant["dri"] else "chatpal-w/o-dri"
    return None


def folder_name(name: str) -> str:
    return name.replace("/", "-").replace("+", "-plus-").replace("@", "-k")


def student_inputs(student: str) -> tuple[str, str | None, bool]:
    """(dialogues unit, DRI unit or None, strategy tags) of a student."""
    if student.startswith("augesc"):
        return "augment/augesc", ("augment/augesc-dri" if student == "augesc+dri" else None), False
    return "expand/expand", (None if student == "chatpal-w/o-dri" else "dri/chatpal"), True


def run_train(ctx, unit, folder: Path) -> None:
    """``escbench train`` for one student; a finished card in the folder means done."""
    from .stage_data import flags

    target = folder / STUDENT_DIR
    if (target / CARD).is_file():
        return
    student, k = unit.settings["student"], unit.settings.get("dri_k")
    data_unit, dri_unit, tags = student_inputs(student)
    data = ctx.folder(data_unit) / (TRAIN_DIALOGUES if data_unit == "expand/expand" else "dialogues.json")
    settings = ctx.experiment.stage("train")
    variant = unit.settings.get("variant")
    if variant:  # Table 8: the ChatPal data, this method, tags and DRI use
        settings, tags = {**settings, "method": variant["method"]}, variant["tags"]
        dri_unit = "dri/chatpal" if variant["dri"] else None
    argv = ["train", "--base", str(settings.get("base", "smollm2")), "--data", str(data), "--out", str(target),
            "--seed", str(ctx.experiment.seed), "--strategy" if tags else "--no-strategy"]
    argv += flags(settings, TRAIN_FLAGS)
    if settings.get("load_8bit"):
        argv.append("--load-8bit")
    if dri_unit:
        argv += ["--dri", str(ctx.folder(dri_unit) / "dri.jsonl")]
        if k is not None:  # the first k alternatives of each line (the k-sweep)
            argv += ["--dri-k", str(k)]
    status = call(argv, unit.id)
    if status != 0 or not (target / CARD).is_file():
        raise StageError(f"{unit.id}: training ended without a training card (exit {status})")


def system_args(ctx, system: str, adapter: Path | None) -> dict[str, Any]:
    """Arguments of ``system`` in this experiment (teacher endpoint for chatgpt / ask-expert)."""
    base = str(ctx.experiment.stage("train").get("base", "smollm2"))
    if system == "llama":
        return {"model": str(ctx.experiment.stage("evaluate").get("llama_model", base))}
    if system == "chatgpt":
        return {"model": ctx.endpoint.model, "base_url": ctx.endpoint.url}
    if system == "ask-expert":
        return {"expert_model": ctx.endpoint.model, "expert_base_url": ctx.endpoint.url}
    return {"adapter": str(adapter), "base_model": base}


def evaluation_splits(ctx) -> list[str]:
    data = ctx.experiment.data
    return list(data["test_splits"]) + list(data["new_scenes_splits"])


def run_evaluate(ctx, unit, folder: Path) -> None:
    """``escbench run`` of one system (or one k-sweep student) on every evaluation split."""
    import yaml

    system = unit.settings["system"]
    adapter = ctx.folder(unit.settings["adapter_unit"]) / STUDENT_DIR if unit.settings.get("adapter_unit") else None
    settings = ctx.experiment.stage("evaluate")
    entry = {"name": system, "args": system_args(ctx, system, adapter)}
    if unit.settings.get("label"):
        entry["label"] = unit.settings["label"]
    run_file = {
        "systems": [entry],
        "splits": evaluation_splits(ctx),
        "metrics": list(settings.get("metrics", DEFAULT_METRICS)),
        "generation": {"max_new_tokens": int(settings.get("max_new_tokens", 64)),
                       "batch_size": int(settings.get("batch_size", 8)), "seed": ctx.experiment.seed},
        "limit": settings.get("limit"),
        "out": str(folder),
    }
    config = folder / "run.yaml"
    config.write_text(yaml.safe_dump(run_file, sort_keys=False), encoding="utf-8")
    status = call(["run", "--config", str(config), "--format", "md"], unit.id)
    if status != 0:
        raise StageError(f"{unit.id}: escbench run reported problems (exit {status}); see the messages above")
