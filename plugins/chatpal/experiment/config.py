"""The experiment YAML: schema and validation (every error names the file and the field).

Top level::

    name: smoke                       # required, a folder-safe word
    description: one line
    seed: 0                           # every random choice of every stage
    teacher:                          # the model that writes data (and answers chatgpt / ask-expert)
      endpoint: scripted | serve | url
      url: http://host:port/v1        # endpoint: url (required there)
      model: teacher                  # name the server serves
      serve_model: smollm2            # endpoint: serve (a model folder, .gguf or smollm2)
      temperature, top_p, max_tokens, concurrency, max_retries, timeout, rpm, tpm, api_key_env, prices
    data:
      seed_split: seed                # its TRAIN partition is all the teacher ever sees
      test_splits: [seed]             # Table 5 (test partitions)
      new_scenes_splits: [...]        # Table 7
    stages:                           # one mapping per stage, keys below (all optional)
      expand: ...
      dri: ...

A stage left out of ``stages`` runs with its defaults. Unknown keys are errors, never ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from escbench.harness.errors import ConfigError

STAGES = ("expand", "dri", "augment", "train", "evaluate", "analyse", "publish")
TOP_KEYS = ("name", "description", "seed", "teacher", "data", "stages")
ENDPOINTS = ("scripted", "serve", "url")
TEACHER_KEYS = ("endpoint", "url", "model", "serve_model", "port", "api_key_env", "temperature", "top_p",
                "max_tokens", "concurrency", "max_retries", "timeout", "rpm", "tpm", "prices")
DATA_KEYS = ("seed_split", "test_splits", "new_scenes_splits")
# Each stage's keys; most map one-to-one onto a flag of the command the stage calls.
STAGE_KEYS: dict[str, tuple[str, ...]] = {
    "expand": ("per_scene", "iterations", "distribution", "refill_rounds", "example_scene", "scenes",
               "min_turns", "max_turns", "dup_threshold"),
    "dri": ("k", "fraction", "label_strategies", "dup_threshold"),
    "augment": ("per_post", "limit", "min_turns", "max_turns", "dup_threshold", "dri_fraction"),
    "train": ("base", "method", "max_steps", "epochs", "max_len", "max_prompt_len", "effective_batch", "micro_batch", "lr",
              "lora_r", "load_8bit", "dtype", "save_steps", "eval_steps", "valid_fraction", "k_sweep"),
    "evaluate": ("limit", "max_new_tokens", "batch_size", "metrics", "llama_model"),
    "analyse": ("human_n", "raters", "toxicity_metric"),
    "publish": ("resamples", "ci", "significance"),
}
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Experiment:
    """A validated experiment file; ``stage(name)`` is that stage's settings (maybe empty)."""

    path: Path
    name: str
    description: str
    seed: int
    teacher: dict[str, Any]
    data: dict[str, Any]
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    def stage(self, name: str) -> dict[str, Any]:
        return dict(self.stages.get(name) or {})

    def where(self, field_path: str) -> str:
        return f"{self.path}: {field_path}"


def _mapping(value: Any, path: Path, field_path: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {field_path}: expected a mapping, got {type(value).__name__}")
    return value


def _known(mapping: dict, allowed: tuple[str, ...], path: Path, prefix: str, what: str = "key") -> None:
    for key in mapping:
        if key not in allowed:
            import difflib

            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{path}: {prefix}{key}: unknown {what}{hint}; allowed: {', '.join(allowed)}")


def _names(value: Any, path: Path, field_path: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{path}: {field_path}: expected a list of split names or split YAML paths")
    return list(value)


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment YAML (see module doc); ConfigError names file and field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the experiment file ({error.strerror or error})") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    raw = _mapping(raw, path, "(top level)")
    _known(raw, TOP_KEYS, path, "")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ConfigError(f"{path}: name: required, letters/digits/._- only, got {name!r}")
    seed = raw.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"{path}: seed: expected an integer, got {seed!r}")
    teacher = _teacher(_mapping(raw.get("teacher"), path, "teacher"), path)
    data = _mapping(raw.get("data"), path, "data")
    _known(data, DATA_KEYS, path, "data.")
    data = {"seed_split": data.get("seed_split", "seed"),
            "test_splits": _names(data.get("test_splits", ["seed"]), path, "data.test_splits"),
            "new_scenes_splits": _names(data.get("new_scenes_splits", []), path, "data.new_scenes_splits")}
    if not isinstance(data["seed_split"], str) or not data["seed_split"]:
        raise ConfigError(f"{path}: data.seed_split: expected a split name or split YAML path")
    if not data["test_splits"]:
        raise ConfigError(f"{path}: data.test_splits: name at least one test split")
    stages = _mapping(raw.get("stages"), path, "stages")
    _known(stages, STAGES, path, "stages.", what="stage")
    checked = {}
    for stage, settings in stages.items():
        settings = _mapping(settings, path, f"stages.{stage}")
        _known(settings, STAGE_KEYS[stage], path, f"stages.{stage}.")
        checked[stage] = settings
    _check_values(checked, path)
    return Experiment(path, name, str(raw.get("description", "")), seed, teacher, data, checked)


def _teacher(teacher: dict, path: Path) -> dict:
    _known(teacher, TEACHER_KEYS, path, "teacher.")
    endpoint = teacher.get("endpoint")
    if endpoint is None:
        raise ConfigError(f"{path}: teacher.endpoint: missing; set scripted (no model, plumbing only), "
                          f"serve (the experiment serves teacher.serve_model itself) or url (with teacher.url)")
    if endpoint not in ENDPOINTS:
        raise ConfigError(f"{path}: teacher.endpoint: {endpoint!r} is not one of {', '.join(ENDPOINTS)}")
    if endpoint == "url" and not (isinstance(teacher.get("url"), str) and teacher["url"].strip()):
        raise ConfigError(f"{path}: teacher.url: missing; endpoint: url needs the base URL of an "
                          f"OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    if endpoint != "url" and "url" in teacher:
        raise ConfigError(f"{path}: teacher.url: only used with endpoint: url (this teacher is {endpoint})")
    if endpoint == "serve" and not teacher.get("serve_model"):
        raise ConfigError(f"{path}: teacher.serve_model: missing; endpoint: serve needs the model to serve (e.g. smollm2)")
    return {"model": "teacher", **teacher}


def _check_values(stages: dict[str, dict], path: Path) -> None:
    positive = {("dri", "k"), ("expand", "iterations"), ("augment", "per_post"), ("train", "max_steps"),
                ("train", "max_len"), ("evaluate", "limit"), ("evaluate", "max_new_tokens"), ("analyse", "human_n"),
                ("publish", "resamples")}
    for stage, key in positive:
        value = stages.get(stage, {}).get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ConfigError(f"{path}: stages.{stage}.{key}: expected a positive integer, got {value!r}")
    for stage, key in (("dri", "fraction"), ("augment", "dri_fraction")):
        value = stages.get(stage, {}).get(key)
        if value is not None and not (isinstance(value, (int, float)) and 0 < value <= 1):
            raise ConfigError(f"{path}: stages.{stage}.{key}: expected a number in (0, 1], got {value!r}")
