"""Declarative splits: a YAML file in ``tasks/splits`` turns a dialogue file into examples.

Schema (every key but ``split`` and ``source`` is optional)::

    split: extes_test                 # the name used on the command line
    description: one line
    source:
      path: ../seed/seed_dialogues.json  # relative to this YAML's folder, or absolute
      env: ESCBENCH_EXTES              # an env var naming the path (wins over `path`)
      format: extes                    # extes | esconv | jsonl | auto
      strategies: extes                # strategy catalog used to normalise labels
      missing: "how to obtain the file" # shown when the file is absent
    partition:                         # deterministic, by hash of (seed, dialogue id)
      ratios: {train: 0.8, valid: 0.1, test: 0.1}
      seed: 13
      use: test                        # train | valid | test
    # or, scene-stratified (N test and M valid dialogues per scene, the rest train):
    # partition: {stratify: scene, per_stratum: {test: 1, valid: 0}, seed: 13, use: test}
    # (rules in harness/partitions.py)
    filters:
      scenes: [..]                     # keep only these scenes
      exclude_scenes: [..]
      exclude_scenes_file: ../catalogs/esconv-topics.yaml  # every scene named in that file
    examples:
      require_strategy: false          # only supporter turns with a gold strategy
      exclude_strategies: []
      min_context_turns: 1
    limit: null                        # first N examples (CLI --limit overrides)

Contract: the same YAML and data give the same examples in the same order, every time.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .data import Dialogue, Example, example_to_dict
from .errors import ConfigError, DataError
from .models import file_sha256
from .partitions import PARTITIONS, assign_partitions, check_partition, partition_of  # noqa: F401 (re-exported)


@dataclass
class SplitSpec:
    """A parsed split YAML."""

    name: str
    path: Path
    description: str = ""
    source: dict[str, Any] = field(default_factory=dict)
    partition: dict[str, Any] | None = None
    filters: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    kind: str = "examples"  # another kind is run by the plugin that registers it

    def to_dict(self) -> dict:
        return {
            "split": self.name, "description": self.description, "source": self.source,
            "partition": self.partition, "filters": self.filters, "examples": self.examples,
            "limit": self.limit, "yaml": str(self.path), "yaml_sha256": file_sha256(self.path),
        }


@dataclass
class SplitData:
    spec: SplitSpec
    source_path: Path
    dialogues: list[Dialogue]
    examples: list[Example]
    rejects: list = field(default_factory=list)

    def examples_sha256(self) -> str:
        """Hash of the examples (contexts, references, gold strategies) in order."""
        digest = hashlib.sha256()
        for example in self.examples:
            digest.update(json.dumps(example_to_dict(example), sort_keys=True).encode())
        return digest.hexdigest()


def split_name_of(path: Path) -> str:
    """The ``split:`` name declared in a YAML (the file stem when unreadable)."""
    try:
        return str(yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("split") or Path(path).stem)
    except Exception:
        return Path(path).stem


def read_split_spec(path: Path) -> SplitSpec:
    """Parse and check a split YAML; :class:`ConfigError` names the file and the bad key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read split YAML: {error}") from None
    if isinstance(raw, dict) and "split" in raw and raw.get("kind", "examples") != "examples":
        # another kind of split: its plugin (register_split_kinds) reads and checks the rest
        return SplitSpec(name=str(raw["split"]), path=path, description=str(raw.get("description") or ""),
                         kind=str(raw["kind"]))
    if not isinstance(raw, dict) or "split" not in raw or "source" not in raw:
        raise ConfigError(f"{path}: a split YAML needs at least 'split' and 'source' keys")
    known = {"split", "kind", "description", "source", "partition", "filters", "examples", "limit"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; allowed: {sorted(known)}")
    partition = raw.get("partition")
    if partition is not None:
        partition = check_partition(partition, path)
    return SplitSpec(
        name=str(raw["split"]), path=path, description=raw.get("description", ""),
        source=dict(raw["source"]), partition=partition, filters=dict(raw.get("filters") or {}),
        examples=dict(raw.get("examples") or {}), limit=raw.get("limit"),
    )


def resolve_source(spec: SplitSpec) -> Path:
    """The dialogue file a split reads; :class:`DataError` explains where to put it if absent."""
    env = spec.source.get("env")
    if env and os.environ.get(env):
        candidate = Path(os.environ[env]).expanduser()
    elif spec.source.get("path"):
        candidate = Path(spec.source["path"]).expanduser()
        if not candidate.is_absolute():
            beside_yaml = spec.path.parent / candidate
            candidate = beside_yaml if beside_yaml.exists() or not candidate.exists() else candidate
    else:
        raise ConfigError(f"{spec.path}: source needs 'path' or 'env'")
    if not candidate.exists():
        hint = spec.source.get("missing", "")
        env_hint = f" or set {env}=/path/to/file" if env else ""
        raise DataError(
            f"split {spec.name!r} needs its data file, which is not shipped with escbench. "
            f"{hint} Put it at {candidate}{env_hint}.".replace("  ", " "),
            path=str(spec.path),
        )
    return candidate


def _scenes_in_file(path: Path) -> set[str]:
    def walk(node: Any):
        if isinstance(node, dict):
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
        elif isinstance(node, str):
            yield node

    try:
        return set(walk(yaml.safe_load(path.read_text(encoding="utf-8"))))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read scene list: {error}") from None


def select_dialogues(spec: SplitSpec, dialogues: list[Dialogue], partition: str | None = None) -> list[Dialogue]:
    """Apply the partition (``partition`` overrides ``partition.use``) and the scene filters."""
    selected = dialogues
    if spec.partition:
        use = partition or spec.partition.get("use", "test")
        if use not in PARTITIONS:
            raise ConfigError(f"{spec.path}: partition {use!r} asked for is not one of {list(PARTITIONS)}")
        assigned = assign_partitions(spec.partition, selected)
        selected = [d for d in selected if assigned[d.id] == use]
    keep = spec.filters.get("scenes")
    drop = set(spec.filters.get("exclude_scenes") or ())
    if spec.filters.get("exclude_scenes_file"):
        drop |= _scenes_in_file(spec.path.parent / spec.filters["exclude_scenes_file"])
    if keep is not None:
        selected = [d for d in selected if d.scene in set(keep)]
    return [d for d in selected if d.scene not in drop]


def make_examples(spec: SplitSpec, dialogues: list[Dialogue]) -> list[Example]:
    """One Example per selected supporter turn, dialogues in id order, turns in order."""
    rules = spec.examples
    require_strategy = bool(rules.get("require_strategy", False))
    excluded = set(rules.get("exclude_strategies") or ())
    min_context = int(rules.get("min_context_turns", 1))
    examples: list[Example] = []
    for dialogue in sorted(dialogues, key=lambda d: d.id):
        for index in dialogue.supporter_turn_indices():
            turn = dialogue.turns[index]
            if index < min_context or (require_strategy and not turn.strategy) or turn.strategy in excluded:
                continue
            examples.append(Example(
                dialogue_id=dialogue.id, turn_index=index, context=dialogue.turns[:index],
                reference=turn.text, strategy=turn.strategy, scene=dialogue.scene,
                description=dialogue.description,
            ))
    return examples


def load_split(
    spec: SplitSpec, limit: int | None = None, lenient: bool = False, partition: str | None = None,
) -> SplitData:
    """Read the source, partition, filter and cut a split into examples."""
    from .catalogs import load_strategy_catalog
    from .loaders import load_dialogues

    source = resolve_source(spec)
    catalog = load_strategy_catalog(spec.source.get("strategies", "extes"))
    loaded = load_dialogues(source, format=spec.source.get("format", "auto"), catalog=catalog, lenient=lenient)
    dialogues = select_dialogues(spec, loaded.dialogues, partition)
    examples = make_examples(spec, dialogues)
    cap = limit if limit is not None else spec.limit
    if cap is not None:
        examples = examples[: int(cap)]
    return SplitData(spec, source, dialogues, examples, list(loaded.rejects))
