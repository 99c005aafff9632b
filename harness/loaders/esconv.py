"""Loader for ESConv files (Liu et al., 2021).

A file is a JSON list of dialogues ``{"experience_type", "emotion_type", "problem_type",
"situation", "survey_score", "dialog"}``; each ``dialog`` item is ``{"speaker", "content",
"annotation"}`` where ``annotation`` holds ``{"strategy": name}`` on supporter turns and may
be empty or missing elsewhere.

- Speakers are compared without case: seeker/usr/user/help-seeker/client are the user,
  supporter/sys/system/helper/assistant/ai/bot the supporter; any other value is an error.
- Texts are stripped (ESConv contents often end in newlines). Strategies are normalised
  with the ESConv catalog by default; unknown ones are errors, missing ones give None.
- **Consecutive turns by the same party are merged** into one turn: texts joined with a
  single space, and a merged supporter turn keeps the strategy of its first labelled part.
  ``meta["merged_turns"]`` counts the merges (three parts in a row count as two). Turn
  numbers in error messages are positions in the original ``dialog`` list.
- id = ``f"{file_stem}-{index:05d}"``, scene = ``problem_type``, description = ``situation``,
  meta = experience_type, emotion_type, problem_type, survey_score (None when absent) and
  merged_turns.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from ..catalogs import StrategyCatalog
from ..data import Dialogue, Turn
from ..errors import DataError
from .common import (LoadResult, as_object, canonical_strategy, check_parties, clean_text,
                     collect_dialogues, optional, party_of, required)
from .files import read_json, records_of

META_FIELDS = ("experience_type", "emotion_type", "problem_type")


def load_esconv(path: Path, catalog: StrategyCatalog, lenient: bool) -> LoadResult:
    """Read and validate an ESConv file (see the module docstring)."""
    return esconv_from_document(read_json(path), path, catalog, lenient)


def esconv_from_document(document: object, path: Path, catalog: StrategyCatalog,
                         lenient: bool) -> LoadResult:
    """Validate an already parsed ESConv document read from ``path``."""
    records = records_of(document, path, "ESConv")
    return collect_dialogues(records, path, lambda _record, index: f"{path.stem}-{index:05d}",
                             partial(_dialogue, catalog=catalog), lenient)


def _dialogue(record: object, dialogue_id: str, catalog: StrategyCatalog) -> Dialogue:
    record = as_object(record)
    dialog = required(record, "dialog", list)
    parts = [_turn(item, number, catalog) for number, item in enumerate(dialog)]
    turns, merges = merge_same_party(parts)
    check_parties(turns)
    meta = {key: _stripped(optional(record, key, str, None)) for key in META_FIELDS}
    meta["survey_score"] = record.get("survey_score")
    meta["merged_turns"] = merges
    situation = optional(record, "situation", str, "").strip()
    return Dialogue(dialogue_id, turns, meta["problem_type"], situation, meta)


def _stripped(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


def _turn(item: object, number: int, catalog: StrategyCatalog) -> Turn:
    where = f"turn {number}"
    item = as_object(item, "a turn", where)
    speaker = required(item, "speaker", str, where)
    role = party_of(speaker)
    if role is None:
        raise DataError(f"unknown speaker {speaker!r} (expected 'seeker' or 'supporter')",
                        where=where)
    text = clean_text(required(item, "content", str, where), "content", where)
    annotation = optional(item, "annotation", dict, {}, where)
    return Turn(role, text, canonical_strategy(annotation.get("strategy"), role, catalog, where))


def merge_same_party(parts: list[Turn]) -> tuple[tuple[Turn, ...], int]:
    """Join runs of turns by the same party; returns the turns and the number of merges."""
    merged: list[Turn] = []
    for part in parts:
        if merged and merged[-1].role == part.role:
            previous = merged[-1]
            merged[-1] = Turn(previous.role, f"{previous.text} {part.text}",
                              previous.strategy or part.strategy)
        else:
            merged.append(part)
    return tuple(merged), len(parts) - len(merged)
