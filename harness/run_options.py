"""Checks on ``escbench run`` settings, before any work: each error names the flag or run-file key.

``origin`` maps a setting (``max_new_tokens``) to where its value came from (``--max-new-tokens``
or ``run.yaml: generation.max_new_tokens``), so the message points at what to edit.
"""
from __future__ import annotations

from typing import Any

from .errors import ConfigError

RUN_FILE_KEYS = {"systems": list, "splits": list, "metrics": list, "generation": dict, "limit": int, "out": str}
GENERATION_TYPES = {"do_sample": bool, "temperature": (int, float), "top_p": (int, float),
                    "max_new_tokens": int, "seed": int, "batch_size": int}
FLAGS = {"do_sample": "--sample/--greedy", "temperature": "--temperature", "top_p": "--top-p",
         "max_new_tokens": "--max-new-tokens", "seed": "--seed", "batch_size": "--batch-size", "limit": "--limit"}


def _type_name(kind: Any) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({"int": "an integer", "float": "a number", "bool": "true/false", "str": "a string",
                        "list": "a list", "dict": "a mapping"}[k.__name__] for k in kinds)


def _is(value: Any, kind: Any) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def check_run_file(data: Any, path: str) -> dict:
    """The run file's mapping, after checking its keys and their types."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a run file is a mapping of {', '.join(RUN_FILE_KEYS)}, got {type(data).__name__}")
    for key, value in data.items():
        if key not in RUN_FILE_KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} (known: {', '.join(RUN_FILE_KEYS)})")
        if value is not None and not _is(value, RUN_FILE_KEYS[key]):
            raise ConfigError(f"{path}: {key} must be {_type_name(RUN_FILE_KEYS[key])}, got {value!r}")
    for key, value in (data.get("generation") or {}).items():
        if key not in GENERATION_TYPES:
            raise ConfigError(f"{path}: unknown key generation.{key} (known: {', '.join(GENERATION_TYPES)})")
        if not _is(value, GENERATION_TYPES[key]):
            raise ConfigError(f"{path}: generation.{key} must be {_type_name(GENERATION_TYPES[key])}, got {value!r}")
    for key in ("splits",):
        for item in data.get(key) or []:
            if not isinstance(item, str):
                raise ConfigError(f"{path}: each entry of {key} must be a split name or YAML path, got {item!r}")
    return data


def check_settings(generation: dict, limit: Any, origin: dict[str, str]) -> None:
    """Range checks: max_new_tokens, batch_size, limit >= 1; temperature > 0 when sampling;
    0 < top_p <= 1. ``origin[key]`` words where the value came from."""
    where = lambda key: origin.get(key, FLAGS[key])  # noqa: E731
    for key in ("max_new_tokens", "batch_size"):
        if key in generation and generation[key] < 1:
            raise ConfigError(f"{where(key)} must be at least 1, got {generation[key]}")
    if limit is not None and limit < 1:
        raise ConfigError(f"{where('limit')} must be at least 1, got {limit} (omit it for the whole split)")
    if generation.get("do_sample") and "temperature" in generation and not generation["temperature"] > 0:
        raise ConfigError(f"{where('temperature')} must be greater than 0 with --sample, got {generation['temperature']}")
    if "top_p" in generation and not 0 < generation["top_p"] <= 1:
        raise ConfigError(f"{where('top_p')} must be in (0, 1], got {generation['top_p']}")
