"""Stages that make data: seeds (train partition only), expand, dri, augment (+ its DRI).

Each function runs one unit in ``folder`` by calling the escbench command a user would type
(:func:`.invoke.call`); the commands resume from their journals when a unit is re-run.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .invoke import StageError, call

SEEDS_FILE = "train.jsonl"
TRAIN_DIALOGUES = "train_dialogues.jsonl"

# experiment key -> command flag, per teacher-driven command
EXPAND_FLAGS = {"per_scene": "--per-scene", "iterations": "--iterations", "distribution": "--distribution",
                "refill_rounds": "--refill-rounds", "example_scene": "--example-scene", "scenes": "--scenes",
                "min_turns": "--min-turns", "max_turns": "--max-turns", "dup_threshold": "--dup-threshold"}
DRI_FLAGS = {"k": "--k", "fraction": "--fraction", "dup_threshold": "--dup-threshold"}
AUGMENT_FLAGS = {"per_post": "--per-post", "limit": "--limit", "min_turns": "--min-turns",
                 "max_turns": "--max-turns", "dup_threshold": "--dup-threshold"}
TEACHER_FLAGS = {"temperature": "--temperature", "top_p": "--top-p", "max_tokens": "--max-tokens",
                 "concurrency": "--concurrency", "max_retries": "--max-retries", "timeout": "--timeout",
                 "rpm": "--rpm", "tpm": "--tpm", "api_key_env": "--teacher-key-env", "prices": "--prices"}


def flags(settings: dict[str, Any], mapping: dict[str, str]) -> list[str]:
    """``--flag value`` pairs for the settings that have a flag (booleans: flag alone when true)."""
    out: list[str] = []
    for key, flag in mapping.items():
        value = settings.get(key)
        if value is None or value is False:
            continue
        out += [flag] if value is True else [flag, str(value)]
    return out


def teacher_flags(ctx, journal: Path | None = None) -> list[str]:
    teacher = ctx.experiment.teacher
    out = ["--teacher", ctx.endpoint.model, "--teacher-url", ctx.endpoint.url, "--seed", str(ctx.experiment.seed)]
    out += flags(teacher, TEACHER_FLAGS)
    return out + (["--journal", str(journal)] if journal else [])


def _checked(status: int, unit: str) -> None:
    if status != 0:
        raise StageError(f"{unit}: some teacher requests failed after every retry; run the same "
                         f"`escbench experiment run` again to retry them (answers so far are kept)")


def run_seeds(ctx, unit, folder: Path) -> None:
    """Write the seed split's TRAIN partition: the only dialogues the teacher is ever shown."""
    from escbench.harness.loaders.jsonl import write_jsonl
    from escbench.harness.plugins import get_host
    from escbench.harness.runner import find_split
    from escbench.harness.splits import load_split, read_split_spec

    spec = read_split_spec(find_split(get_host(), ctx.experiment.data["seed_split"]))
    train = load_split(spec, partition="train").dialogues
    if not train:
        raise StageError(f"{unit.id}: the train partition of split {spec.name!r} is empty")
    write_jsonl(train, folder / SEEDS_FILE)


def run_expand(ctx, unit, folder: Path) -> None:
    seeds = ctx.folder("expand/seeds") / SEEDS_FILE
    argv = ["expand", "--seeds", str(seeds), "--out", str(folder)] + flags(ctx.experiment.stage("expand"), EXPAND_FLAGS)
    _checked(call(argv + teacher_flags(ctx), unit.id), unit.id)
    _write_training_dialogues(seeds, folder / "dialogues.json", folder / TRAIN_DIALOGUES)


def _write_training_dialogues(seeds: Path, expanded: Path, out: Path) -> None:
    """Seed train partition + accepted expansions, one escbench JSONL (what students and DRI read)."""
    from escbench.harness.loaders import load_dialogues
    from escbench.harness.loaders.jsonl import write_jsonl

    dialogues = list(load_dialogues(seeds).dialogues) + list(load_dialogues(expanded).dialogues)
    write_jsonl(dialogues, out)


def run_dri(ctx, unit, folder: Path) -> None:
    settings = ctx.experiment.stage("dri")
    data = ctx.folder("expand/expand") / TRAIN_DIALOGUES
    argv = ["dri", "--data", str(data), "--out", str(folder), "--k", str(settings.get("k", 4))]
    argv += flags({k: v for k, v in settings.items() if k != "k"}, DRI_FLAGS)
    argv += _labels(bool(settings.get("label_strategies", True)))
    _checked(call(argv + teacher_flags(ctx), unit.id), unit.id)


def _labels(wanted: bool) -> list[str]:
    """DRI strategy labels on or off, whichever default ``escbench dri`` has."""
    from .invoke import accepts

    if wanted:
        return ["--label-strategies"]
    return ["--no-label-strategies"] if accepts("dri", "--no-label-strategies") else []


def run_augment(ctx, unit, folder: Path) -> None:
    """AugESC recipe: whole dialogues from the situations of the seed train partition."""
    posts = ctx.folder("expand/seeds") / SEEDS_FILE
    argv = ["augment", "--posts", str(posts), "--out", str(folder)] + flags(ctx.experiment.stage("augment"), AUGMENT_FLAGS)
    _checked(call(argv + teacher_flags(ctx), unit.id), unit.id)


def run_augment_dri(ctx, unit, folder: Path) -> None:
    """DRI over the AugESC dialogues (unlabelled: AugESC students predict no strategy)."""
    k = ctx.experiment.stage("dri").get("k", 4)
    fraction = ctx.experiment.stage("augment").get("dri_fraction", ctx.experiment.stage("dri").get("fraction", 1.0))
    data = ctx.folder("augment/augesc") / "dialogues.json"
    argv = ["dri", "--data", str(data), "--out", str(folder), "--k", str(k), "--fraction", str(fraction)]
    argv += _labels(False)
    _checked(call(argv + teacher_flags(ctx), unit.id), unit.id)


def expansion_requests(ctx) -> int | None:
    """Teacher requests of a finished expansion (from its report), for the manifest."""
    import json

    try:
        report = json.loads((ctx.folder("expand/expand") / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return sum(i.get("requested", 0) for i in report.get("iterations", []))
