"""escbench's own dialogue format: JSON Lines, one dialogue per line.

Each line is one object::

    {"id": "extes-00012", "scene": "Academic Stress" | null, "description": "...",
     "turns": [{"role": "user" | "ai", "text": "...", "strategy": "Emotional Validation" | null}],
     "meta": {...}}

- ``id`` (non-empty string, unique in the file) and ``turns`` are required; ``scene``
  (default null), ``description`` (default ""), ``meta`` (default {}) and a turn's
  ``strategy`` (default null) may be left out. Roles are exactly ``"user"`` and ``"ai"``;
  texts are stripped; strategies are normalised with the catalog (ExTES by default).
- Blank lines are ignored. Lines are split on ``\\n`` only, so texts may hold U+2028.
- A line that is not JSON is a DataError naming the line, in lenient mode too. The one
  exception: when the file does not end with a newline, a broken *last* line is the trace
  of an append that was cut short; it is skipped with a ``UserWarning``.

:func:`write_jsonl` writes this schema atomically (:func:`escbench.harness.jsonl.write_atomic`), so
``load_dialogues(path)`` gives back equal dialogues.
"""
from __future__ import annotations

import json
import os
import warnings
from functools import partial
from pathlib import Path
from typing import Iterable

from ..catalogs import StrategyCatalog
from ..data import ROLES, Dialogue, Turn
from ..errors import DataError
from ..jsonl import write_atomic
from ..strict_json import dumps_strict
from .common import (LoadResult, as_object, canonical_strategy, check_parties, clean_text,
                     collect_dialogues, optional, required)
from .files import read_text


def load_jsonl(path: Path, catalog: StrategyCatalog, lenient: bool) -> LoadResult:
    """Read and validate an escbench JSONL file (see the module docstring)."""
    text = read_text(path)
    lines = text.split("\n")
    records: list[object] = []
    line_numbers: list[int] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number == len(lines) and not text.endswith("\n"):
                warnings.warn(f"{path}, line {number}: skipped a truncated last line (the file "
                              "does not end with a newline: an append was probably cut short)",
                              UserWarning, stacklevel=3)
                continue
            raise DataError(f"not valid JSON: {error.msg}", str(path),
                            f"line {number}, column {error.colno}") from None
        line_numbers.append(number)
    return collect_dialogues(records, path, _dialogue_id, partial(_dialogue, catalog=catalog),
                             lenient, line_numbers)


def _dialogue_id(record: object, _index: int) -> str:
    dialogue_id = required(as_object(record), "id", str)
    if not dialogue_id.strip():
        raise DataError("field 'id' is empty")
    return dialogue_id


def _dialogue(record: object, dialogue_id: str, catalog: StrategyCatalog) -> Dialogue:
    record = as_object(record)
    turns = tuple(_turn(item, number, catalog)
                  for number, item in enumerate(required(record, "turns", list)))
    check_parties(turns)
    return Dialogue(
        dialogue_id, turns,
        scene=optional(record, "scene", str, None),
        description=optional(record, "description", str, ""),
        meta=optional(record, "meta", dict, {}),
    )


def _turn(item: object, number: int, catalog: StrategyCatalog) -> Turn:
    where = f"turn {number}"
    item = as_object(item, "a turn", where)
    role = required(item, "role", str, where)
    if role not in ROLES:
        raise DataError(f"unknown role {role!r} (expected 'user' or 'ai')", where=where)
    text = clean_text(required(item, "text", str, where), "text", where)
    return Turn(role, text, canonical_strategy(item.get("strategy"), role, catalog, where))


def dialogue_to_record(dialogue: Dialogue) -> dict:
    """The JSONL object for one dialogue (every field written, nulls included)."""
    return {
        "id": dialogue.id,
        "scene": dialogue.scene,
        "description": dialogue.description,
        "turns": [{"role": turn.role, "text": turn.text, "strategy": turn.strategy}
                  for turn in dialogue.turns],
        "meta": dialogue.meta,
    }


def write_jsonl(dialogues: Iterable[Dialogue], path: str | os.PathLike) -> Path:
    """Write ``dialogues`` to ``path`` in the schema above; readers never see a half-written file.

    The parent folder is created if needed. Returns the path written.
    """
    target = Path(path)
    # Serialise first: a dialogue whose meta is not JSON-able fails before any file is touched.
    lines = [dumps_strict(dialogue_to_record(d), ensure_ascii=False) + "\n" for d in dialogues]
    write_atomic(target, "".join(lines))
    return target
