"""Training data for students: dialogues (and DRI alternatives) -> supervised pairs.

Every supporter turn with text becomes one :class:`TrainingPair` (the turns before it as
context, the turn as target). A DRI file (see :mod:`.dri_file`) adds, for each inpainted turn,
one pair per alternative (the first ``k`` with ``--dri-k``) with the same context. An
alternative without a strategy label is left out of strategy-tagged training (it never takes
the original turn's strategy) and trained as it is when targets carry no tags; the card's
``data_stats`` count both (``dri_unlabeled``, ``dri_unlabeled_left_out``). Pairs are plain data; rendering and
tokenisation happen in :mod:`.collate` through the shared student format.

Sources are dialogue files (ExTES/ESConv JSON, escbench JSONL) or split YAMLs (then the
named ``partition`` of the split is used, so a test partition never leaks into training).
Validation pairs are held out by whole dialogue, deterministically from the dialogue id.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from escbench.harness.catalogs import StrategyCatalog
from escbench.harness.data import Dialogue, Example
from escbench.harness.errors import ConfigError, DataError
from escbench.harness.models import file_sha256

from .dri_file import DriRecord
from .source import DataSource

SPLIT_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class TrainingPair:
    """One supervised example: ``context`` (an Example whose reference is the original reply)
    and the ``response`` / ``strategy`` to learn. ``origin`` is ``"dialogue"`` or ``"dri"``."""

    id: str
    context: Example
    strategy: str | None
    response: str
    origin: str = "dialogue"


@dataclass
class TrainingData:
    """Train and validation pairs, where they came from, and counts for the card."""

    train: list[TrainingPair]
    valid: list[TrainingPair]
    sources: list[DataSource]
    stats: dict[str, int] = field(default_factory=dict)


def load_source_dialogues(
    specs: Sequence[str | Path], catalog: StrategyCatalog, partition: str = "train"
) -> tuple[list[Dialogue], list[DataSource]]:
    """Dialogues from every file or split YAML in ``specs``, in order.

    Raises DataError for unreadable files and for a dialogue id seen twice (DRI lines
    refer to dialogues by id); ConfigError when a split YAML uses another strategy catalog.
    """
    from escbench.harness.loaders import load_dialogues
    from escbench.harness.splits import load_split, read_split_spec

    dialogues: list[Dialogue] = []
    sources: list[DataSource] = []
    seen: dict[str, str] = {}
    for spec in specs:
        path = Path(spec).expanduser()
        if path.suffix.lower() in SPLIT_SUFFIXES:
            split = read_split_spec(path)
            split_catalog = split.source.get("strategies", "extes")
            if split_catalog != catalog.name:
                raise ConfigError(
                    f"{path}: split {split.name!r} uses the {split_catalog!r} strategy catalog but "
                    f"training uses {catalog.name!r}: pass --catalog {split_catalog}")
            split_data = load_split(split, partition=partition)
            loaded, data_file = split_data.dialogues, Path(split_data.source_path)
            kind, used_partition = "split", partition
        else:
            loaded = load_dialogues(path, catalog=catalog).dialogues
            kind, used_partition, data_file = "dialogues", None, None
        for dialogue in loaded:
            if dialogue.id in seen:
                raise DataError(f"dialogue id {dialogue.id!r} also appears in {seen[dialogue.id]}: "
                                "ids must be unique across training files", str(path))
            seen[dialogue.id] = str(path)
        dialogues.extend(loaded)
        sources.append(DataSource(str(path.resolve()), file_sha256(path), kind, len(loaded), used_partition,
                                  str(data_file.resolve()) if data_file else None,
                                  file_sha256(data_file) if data_file else None))
    return dialogues, sources


def dialogue_pairs(dialogue: Dialogue) -> list[TrainingPair]:
    """One pair per supporter turn with text, context = every turn before it."""
    pairs = []
    for index in dialogue.supporter_turn_indices():
        turn = dialogue.turns[index]
        if not turn.text.strip():
            continue
        pairs.append(TrainingPair(f"{dialogue.id}:{index}", _context(dialogue, index),
                                  turn.strategy, turn.text))
    return pairs


def dri_pairs(
    records: Sequence[DriRecord], dialogues: dict[str, Dialogue], path: str,
    k: int | None = None, with_strategy: bool = True,
) -> tuple[list[TrainingPair], dict[str, int]]:
    """Pairs for the first ``k`` (None: all) DRI alternatives of turns in ``dialogues``, and
    counts: ``dri_lines_skipped`` (dialogue not among them: another partition or file),
    ``dri_alternatives_unused`` (beyond k), ``dri_unlabeled`` (used alternatives without a
    strategy label) and ``dri_unlabeled_left_out``.

    Unlabelled alternatives (see :data:`UNLABELED_POLICY`) never inherit the original turn's
    strategy: with strategy tags they are left out, without tags they train like the rest.
    DataError (file, line) when a line points at a turn that is not a supporter turn or whose
    text differs from the original recorded in the DRI file (the files are out of step).
    """
    pairs: list[TrainingPair] = []
    counts = {"dri_lines_skipped": 0, "dri_alternatives_unused": 0, "dri_unlabeled": 0, "dri_unlabeled_left_out": 0}
    for record in records:
        dialogue = dialogues.get(record.dialogue_id)
        if dialogue is None:
            counts["dri_lines_skipped"] += 1
            continue
        where = f"line {record.line}"
        if not 0 <= record.turn_index < len(dialogue.turns):
            raise DataError(f"turn_index {record.turn_index} is outside dialogue {dialogue.id!r} "
                            f"({len(dialogue.turns)} turns)", path, where)
        turn = dialogue.turns[record.turn_index]
        if turn.role != "ai":
            raise DataError(f"turn {record.turn_index} of dialogue {dialogue.id!r} is a user turn; "
                            "DRI inpaints supporter turns only", path, where)
        if _squash(turn.text) != _squash(record.original_text):
            raise DataError(f"'original.text' differs from turn {record.turn_index} of dialogue "
                            f"{dialogue.id!r}: the DRI file was made from other dialogue data",
                            path, where)
        context = _context(dialogue, record.turn_index)
        used = record.alternatives if k is None else record.alternatives[:k]
        counts["dri_alternatives_unused"] += len(record.alternatives) - len(used)
        for number, alternative in enumerate(used):
            if alternative.strategy is None:
                counts["dri_unlabeled"] += 1
                if with_strategy:
                    counts["dri_unlabeled_left_out"] += 1
                    continue
            pairs.append(TrainingPair(f"{dialogue.id}:{record.turn_index}:dri{number}", context,
                                      alternative.strategy, alternative.text, "dri"))
    return pairs, counts


# How an alternative the teacher gave no valid strategy label is used (recorded in the card).
UNLABELED_POLICY = ("left out of strategy-tagged training (never given the original turn's strategy); "
                    "trained like any alternative when targets carry no tags")


def hold_out_dialogues(
    dialogues: Sequence[Dialogue], fraction: float, seed: int
) -> tuple[list[Dialogue], list[Dialogue]]:
    """``(train, valid)``: about ``fraction`` of the dialogues (at least one when the fraction
    is positive and there are two or more), picked by a hash of ``seed`` and the id."""
    import hashlib

    if not 0 <= fraction < 1:
        raise ConfigError(f"--valid-fraction {fraction} must be at least 0 and below 1")
    if fraction == 0 or len(dialogues) < 2:
        return list(dialogues), []

    def rank(dialogue: Dialogue) -> bytes:
        return hashlib.sha256(f"{seed}:{dialogue.id}".encode()).digest()

    count = max(1, math.floor(len(dialogues) * fraction))
    held = {d.id for d in sorted(dialogues, key=rank)[:count]}
    return [d for d in dialogues if d.id not in held], [d for d in dialogues if d.id in held]


def build_training_data(
    dialogues: Sequence[Dialogue],
    sources: list[DataSource],
    dri: tuple[list[DriRecord], DataSource] | None = None,
    valid_dialogues: Sequence[Dialogue] | None = None,
    valid_fraction: float = 0.05,
    seed: int = 0,
    dri_k: int | None = None,
    with_strategy: bool = True,
) -> TrainingData:
    """Train/validation pairs from loaded dialogues (and DRI records).

    ``valid_dialogues`` given: they are the validation set; otherwise ``valid_fraction`` of
    ``dialogues`` is held out. DRI alternatives are used for training dialogues only, so
    validation loss is measured on original turns; ``dri_k`` and ``with_strategy`` as in
    :func:`dri_pairs`. DataError when nothing is left to train on, naming the inputs.
    """
    names = ", ".join(source.path for source in sources) or "(no files)"
    if valid_dialogues is None:
        train_dialogues, valid_dialogues = hold_out_dialogues(dialogues, valid_fraction, seed)
    else:
        train_dialogues = list(dialogues)
    train = [pair for dialogue in train_dialogues for pair in dialogue_pairs(dialogue)]
    valid = [pair for dialogue in valid_dialogues for pair in dialogue_pairs(dialogue)]
    stats = {"dialogues": len(train_dialogues), "valid_dialogues": len(valid_dialogues),
             "dialogue_pairs": len(train), "valid_pairs": len(valid)}
    if dri is not None:
        records, dri_source = dri
        by_id = {dialogue.id: dialogue for dialogue in train_dialogues}
        known = {dialogue.id for dialogue in dialogues} | {d.id for d in valid_dialogues}
        if not records:
            raise DataError("the DRI file has no records: drop --dri or pass the file DRI wrote", dri_source.path)
        if not any(record.dialogue_id in known for record in records):
            raise DataError(f"no line of the DRI file {dri_source.path} refers to a dialogue of the training data "
                            f"({names}; its first line names dialogue {records[0].dialogue_id!r}): train on the "
                            "dialogues the DRI file was made from (e.g. --data runs/expand/dialogues.json for a "
                            "DRI file made from the expansion), or make the DRI file from this data",
                            dri_source.path)
        most = max(len(record.alternatives) for record in records)
        if dri_k is not None and dri_k > most:
            raise DataError(f"--dri-k {dri_k} exceeds the {most} alternatives the longest line of the DRI file "
                            "holds: choose k between 0 and that", dri_source.path)
        extra, counts = dri_pairs(records, by_id, dri_source.path, dri_k, with_strategy)
        train += extra
        sources = sources + [dri_source]
        stats.update(dri_pairs=len(extra), dri_k=most if dri_k is None else dri_k, dri_file_k=most, **counts)
    if not train:
        raise DataError(f"no supporter turns to train on in {names}"
                        + (" after holding out validation dialogues" if valid_dialogues else ""))
    return TrainingData(train, valid, sources, stats)


def _context(dialogue: Dialogue, index: int) -> Example:
    turn = dialogue.turns[index]
    return Example(dialogue_id=dialogue.id, turn_index=index, context=dialogue.turns[:index],
                   reference=turn.text, strategy=turn.strategy, scene=dialogue.scene,
                   description=dialogue.description)


def _squash(text: str) -> str:
    return " ".join(text.split())
