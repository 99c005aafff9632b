"""Train/valid/test partitions of a dialogue file, declared by a split YAML's ``partition:`` key.

Two forms (``seed`` defaults to 0, ``use`` to ``test``)::

    partition: {ratios: {train: 0.8, valid: 0.1, test: 0.1}, seed: 13, use: test}
    partition: {stratify: scene, per_stratum: {test: 1, valid: 0}, seed: 13, use: test}

``ratios``: each dialogue goes where the hash of (seed, id) falls, independently of the
others, so a dialogue keeps its partition when the file is reordered or grows.

``stratify: scene``: within each scene, dialogues are ordered by the hash of (seed, id); the
first ``per_stratum.test`` go to test, the next ``per_stratum.valid`` to valid, the rest to
train (a scene with fewer dialogues fills test first). So every scene with enough dialogues
has exactly that many test dialogues. Adding a dialogue to a scene may move that scene's
others; the other scenes are unaffected.

Contract: the same partition settings and dialogue ids give the same assignment every time.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterable

from .data import Dialogue
from .errors import ConfigError

PARTITIONS = ("train", "valid", "test")
STRATA = ("scene",)
_KEYS = {"ratios", "stratify", "per_stratum", "seed", "use"}


def _hash_point(dialogue_id: str, seed: int) -> float:
    digest = hashlib.sha256(f"{seed}:{dialogue_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def partition_of(dialogue_id: str, ratios: dict[str, float], seed: int) -> str:
    """Partition name for a dialogue id: stable under reordering and file growth."""
    point = _hash_point(dialogue_id, seed)
    cumulative = 0.0
    for name in PARTITIONS:
        cumulative += ratios.get(name, 0.0)
        if point < cumulative:
            return name
    return [name for name in PARTITIONS if ratios.get(name)][-1]


def check_partition(partition: Any, path: Path) -> dict[str, Any]:
    """Validate a ``partition:`` mapping; :class:`ConfigError` names the YAML and the key."""
    if not isinstance(partition, dict):
        raise ConfigError(f"{path}: partition must be a mapping, got {partition!r}")
    unknown = set(partition) - _KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) partition.{sorted(unknown)}; allowed: {sorted(_KEYS)}")
    seed = partition.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"{path}: partition.seed must be an integer, got {seed!r}")
    if "stratify" in partition or "per_stratum" in partition:
        return _check_stratified(partition, path)
    ratios = partition.get("ratios")
    if not isinstance(ratios, dict) or not ratios:
        raise ConfigError(f"{path}: partition needs 'ratios' (or 'stratify' with 'per_stratum')")
    if set(ratios) - set(PARTITIONS) or abs(sum(ratios.values()) - 1.0) > 1e-6:
        raise ConfigError(f"{path}: partition.ratios must use {PARTITIONS} and sum to 1, got {ratios}")
    if partition.get("use", "test") not in ratios:
        raise ConfigError(f"{path}: partition.use {partition.get('use')!r} is not one of {sorted(ratios)}")
    return partition


def _check_stratified(partition: dict[str, Any], path: Path) -> dict[str, Any]:
    if "ratios" in partition:
        raise ConfigError(f"{path}: partition takes either 'ratios' or 'stratify'/'per_stratum', not both")
    if partition.get("stratify") not in STRATA:
        raise ConfigError(f"{path}: partition.stratify must be one of {list(STRATA)}, got {partition.get('stratify')!r}")
    counts = partition.get("per_stratum")
    if not isinstance(counts, dict) or not counts:
        raise ConfigError(f"{path}: partition.per_stratum must map 'test'/'valid' to counts, got {counts!r}")
    for name, count in counts.items():
        if name not in ("test", "valid"):
            raise ConfigError(f"{path}: partition.per_stratum.{name}: only 'test' and 'valid' take counts "
                              "(the rest of each stratum is train)")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ConfigError(f"{path}: partition.per_stratum.{name} must be a whole number >= 0, got {count!r}")
    if partition.get("use", "test") not in PARTITIONS:
        raise ConfigError(f"{path}: partition.use {partition.get('use')!r} is not one of {list(PARTITIONS)}")
    return partition


def assign_partitions(partition: dict[str, Any], dialogues: Iterable[Dialogue]) -> dict[str, str]:
    """Map each dialogue id to ``train``, ``valid`` or ``test`` under a checked partition."""
    dialogues = list(dialogues)
    seed = int(partition.get("seed", 0))
    if "ratios" in partition:
        return {d.id: partition_of(d.id, partition["ratios"], seed) for d in dialogues}
    counts = partition["per_stratum"]
    strata: dict[str, list[str]] = {}
    for dialogue in dialogues:
        strata.setdefault(getattr(dialogue, partition["stratify"]), []).append(dialogue.id)
    assigned: dict[str, str] = {}
    for ids in strata.values():
        ordered = sorted(ids, key=lambda dialogue_id: (_hash_point(dialogue_id, seed), dialogue_id))
        n_test, n_valid = int(counts.get("test", 0)), int(counts.get("valid", 0))
        for rank, dialogue_id in enumerate(ordered):
            assigned[dialogue_id] = "test" if rank < n_test else "valid" if rank < n_test + n_valid else "train"
    return assigned
