"""No leak from test to training: test dialogues are never training data nor teacher exemplars.

:func:`test_dialogues` reads every evaluation split in full; :func:`check_config_overlap` refuses
an experiment whose seed train partition shares a dialogue (by id or near duplicate) with a test
split before anything runs; :func:`leak_check` inspects what the stages produced (training
sets, DRI inputs, the exemplars shown in expansion requests) for the manifest. Near duplicates
are found with :class:`escbench.plugins.chatpal.dedup.DuplicateIndex` (word 5-gram Jaccard >= 0.8).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from escbench.harness.data import Dialogue
from escbench.harness.errors import ConfigError

THRESHOLD = 0.8


def _text(dialogue: Dialogue) -> str:
    return "\n".join(turn.text for turn in dialogue.turns)


def _load_split(name: str, partition: str | None = None) -> tuple[str, list[Dialogue]]:
    from escbench.harness.plugins import get_host
    from escbench.harness.runner import find_split
    from escbench.harness.splits import load_split, read_split_spec

    spec = read_split_spec(find_split(get_host(), name))
    return spec.name, load_split(spec, partition=partition).dialogues


def test_dialogues(data: dict) -> dict[str, list[Dialogue]]:
    """Split name -> every dialogue of that evaluation split (no example limit)."""
    out = {}
    for name in list(data["test_splits"]) + list(data["new_scenes_splits"]):
        split, dialogues = _load_split(name)
        out[split] = dialogues
    return out


class TestIndex:
    """Test dialogue ids and texts; :meth:`find` says whether a dialogue is one of them."""

    def __init__(self, tests: dict[str, list[Dialogue]]):
        from escbench.plugins.chatpal.dedup import DuplicateIndex

        self.ids: dict[str, str] = {}
        self.index = DuplicateIndex(threshold=THRESHOLD)
        for split, dialogues in tests.items():
            for dialogue in dialogues:
                self.ids.setdefault(dialogue.id, split)
                self.index.add(f"{split}:{dialogue.id}", _text(dialogue))

    def find(self, dialogue_id: str, text: str | None) -> str | None:
        if dialogue_id in self.ids:
            return f"id {dialogue_id!r} is in test split {self.ids[dialogue_id]!r}"
        match = self.index.check(text) if text else None
        if match is not None:
            return f"{dialogue_id!r} is a {match.kind} duplicate of test dialogue {match.other} ({match.similarity:.2f})"
        return None


def check_config_overlap(experiment) -> None:
    """ConfigError when a test split shares dialogues with the seed train partition."""
    _, train = _load_split(experiment.data["seed_split"], partition="train")
    for position, name in enumerate(experiment.data["test_splits"]):
        field = f"data.test_splits[{position}]"
        _overlap(experiment, field, name, train)
    for position, name in enumerate(experiment.data["new_scenes_splits"]):
        _overlap(experiment, f"data.new_scenes_splits[{position}]", name, train)


def _overlap(experiment, field: str, name: str, train: list[Dialogue]) -> None:
    split, dialogues = _load_split(name)
    index = TestIndex({split: dialogues})
    found = [problem for d in train if (problem := index.find(d.id, _text(d)))]
    if found:
        raise ConfigError(f"{experiment.path}: {field}: split {split!r} overlaps the training data (the train "
                          f"partition of data.seed_split {experiment.data['seed_split']!r}): {found[0]}"
                          f"{f' and {len(found) - 1} more' if len(found) > 1 else ''}")


def leak_check(tests: dict[str, list[Dialogue]], training: dict[str, Path], exemplar_ids: Iterable[str],
               dri_files: dict[str, Path]) -> dict:
    """The manifest's leak check: every training set, DRI file and teacher exemplar against the tests."""
    import json

    from escbench.harness.loaders import load_dialogues

    index = TestIndex(tests)
    checked, problems = {}, []
    for name, path in training.items():
        dialogues = load_dialogues(path).dialogues
        checked[name] = len(dialogues)
        problems += [f"{name}: {p}" for d in dialogues if (p := index.find(d.id, _text(d)))]
    for name, path in dri_files.items():
        ids = {json.loads(line)["dialogue_id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
        checked[name] = len(ids)
        problems += [f"{name}: {p}" for i in sorted(ids) if (p := index.find(i, None))]
    exemplars = sorted(set(exemplar_ids))
    checked["teacher exemplars"] = len(exemplars)
    problems += [f"teacher exemplar: {p}" for i in exemplars if (p := index.find(i, None))]
    return {"passed": not problems, "test_dialogues": {s: len(d) for s, d in tests.items()},
            "checked": checked, "near_duplicate_threshold": THRESHOLD, "problems": problems}
