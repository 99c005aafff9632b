"""Loaders for ESConv files (Liu et al., 2021): the release's JSON and the Hugging Face layout.

- **ESConv JSON** (``ESConv.json`` of the paper's code release): a JSON list of dialogues
  ``{"experience_type", "emotion_type", "problem_type", "situation", "survey_score",
  "dialog"}``; each ``dialog`` item is ``{"speaker", "content", "annotation"}`` where
  ``annotation`` holds ``{"strategy": name}`` on supporter turns and may be empty or missing
  elsewhere (other ``annotation`` keys such as ``feedback`` are ignored).
- **Hugging Face layout** (:func:`load_esconv_hf`, format ``esconv-hf``): JSON Lines whose
  rows hold one dialogue as a JSON *string* in the ``text`` field; the dialogue has the
  fields above, and its turns may write the text as ``text`` and the strategy as a top-level
  ``strategy`` (``{"speaker": "sys", "text": ..., "strategy": ...}``).

- Speakers are compared without case: seeker/usr/user/help-seeker/client and the release's
  ``speaker`` are the user, supporter/sys/system/helper/assistant/ai/bot and the release's
  ``listener`` the supporter; any other value is an error.
- Older strategy names of the release (``Approval and Reassurance``) are aliases in
  ``tasks/catalogs/strategies-esconv.yaml``.
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

import json
from functools import partial
from pathlib import Path

from ..catalogs import StrategyCatalog
from ..data import Dialogue, Turn
from ..errors import DataError
from .common import (LoadResult, as_object, canonical_strategy, check_parties, clean_text,
                     collect_dialogues, optional, party_of, required)
from .files import read_json, read_text, records_of

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


def load_esconv_hf(path: Path, catalog: StrategyCatalog, lenient: bool) -> LoadResult:
    """Read ESConv in the Hugging Face layout (see the module docstring). ids are
    ``f"{file_stem}-{index:05d}"`` as for the JSON release; errors name the line."""
    rows, numbers = [], []
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if line.strip():
            rows.append(line)
            numbers.append(number)
    return collect_dialogues(rows, path, lambda _row, index: f"{path.stem}-{index:05d}",
                             partial(_hf_dialogue, catalog=catalog), lenient, numbers)


def _hf_dialogue(line: str, dialogue_id: str, catalog: StrategyCatalog) -> Dialogue:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"not valid JSON: {error.msg} (column {error.colno})") from None
    text = required(as_object(row, "a row"), "text", str)
    try:
        record = json.loads(text)
    except json.JSONDecodeError as error:
        raise DataError(f"field 'text' does not hold a JSON dialogue: {error.msg}") from None
    return _dialogue(record, dialogue_id, catalog)


def looks_like_esconv_hf(path: Path) -> bool:
    """True when the first non-empty line is a row whose ``text`` holds a JSON dialogue."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            first = next((line for line in handle if line.strip()), "")
        row = json.loads(first)
        return isinstance(row, dict) and isinstance(row.get("text"), str) and "dialog" in json.loads(row["text"])
    except (OSError, ValueError, TypeError, UnicodeDecodeError):
        return False


# The release's own names for the two parties.
RELEASE_SPEAKERS = {"speaker": "user", "listener": "ai"}


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
    role = RELEASE_SPEAKERS.get(speaker.strip().lower()) or party_of(speaker)
    if role is None:
        raise DataError(f"unknown speaker {speaker!r} (expected 'seeker'/'speaker' or "
                        "'supporter'/'listener')", where=where)
    key = "content" if "content" in item or "text" not in item else "text"
    text = clean_text(required(item, key, str, where), key, where)
    annotation = optional(item, "annotation", dict, {}, where)
    strategy = annotation.get("strategy", item.get("strategy"))
    return Turn(role, text, canonical_strategy(strategy, role, catalog, where))


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
