"""Reading a DRI (diverse response inpainting) file: the training side of its schema.

One JSON object per line, one line per inpainted supporter turn::

    {"dialogue_id": "seed-001", "turn_index": 3,
     "original": {"text": "...", "strategy": "Reflective Statements" | null},
     "alternatives": [{"text": "...", "strategy": "Affirmation" | null}, ...],
     ...provenance fields (teacher, prompt hash, seed...), ignored here}

``dialogue_id`` + ``turn_index`` locate the turn in the dialogue data; ``original.text`` must
match that turn (checked by :func:`escbench.plugins.chatpal.train.data.dri_pairs`). Strategies are
normalised with the training catalog. Blank lines are ignored; every other problem is a
DataError naming the file and line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from escbench.harness.catalogs import StrategyCatalog
from escbench.harness.errors import DataError, UnknownStrategyError
from escbench.harness.models import file_sha256

from .source import DataSource


@dataclass(frozen=True)
class Alternative:
    """One inpainted reply; ``strategy`` is a canonical name or None (unlabelled)."""

    text: str
    strategy: str | None


@dataclass(frozen=True)
class DriRecord:
    """One line of a DRI file; ``line`` is its 1-based line number (for messages)."""

    dialogue_id: str
    turn_index: int
    original_text: str
    original_strategy: str | None
    alternatives: tuple[Alternative, ...]
    line: int


def read_dri_file(path: str | Path, catalog: StrategyCatalog) -> list[DriRecord]:
    """Every record of the DRI file at ``path``, in file order (see module doc)."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError("DRI file not found", str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read the DRI file ({error})", str(path)) from None
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            records.append(_record(line, number, str(path), catalog))
    return records


def dri_source(path: str | Path, count: int) -> DataSource:
    """The card's provenance entry for a DRI file."""
    path = Path(path).expanduser()
    return DataSource(str(path.resolve()), file_sha256(path), "dri", count)


def _record(line: str, number: int, path: str, catalog: StrategyCatalog) -> DriRecord:
    where = f"line {number}"
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as error:
        raise DataError(f"not valid JSON: {error.msg}", path, f"{where}, column {error.colno}") from None
    if not isinstance(raw, dict):
        raise DataError("expected a JSON object", path, where)
    dialogue_id = raw.get("dialogue_id")
    turn_index = raw.get("turn_index")
    original = raw.get("original")
    alternatives = raw.get("alternatives")
    if not isinstance(dialogue_id, str) or not dialogue_id:
        raise DataError("'dialogue_id' must be a non-empty string", path, where)
    if not isinstance(turn_index, int) or isinstance(turn_index, bool) or turn_index < 0:
        raise DataError("'turn_index' must be a non-negative integer", path, where)
    if not isinstance(original, dict) or not isinstance(original.get("text"), str):
        raise DataError("'original' must be an object with a 'text' string", path, where)
    if not isinstance(alternatives, list) or not alternatives:
        raise DataError("'alternatives' must be a non-empty list", path, where)
    parsed = []
    for position, item in enumerate(alternatives):
        item_where = f"{where}, alternative {position}"
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            raise DataError("an alternative must be an object with non-empty 'text'", path, item_where)
        parsed.append(Alternative(item["text"].strip(), _strategy(item.get("strategy"), catalog, path, item_where)))
    return DriRecord(dialogue_id, turn_index, original["text"],
                     _strategy(original.get("strategy"), catalog, path, f"{where}, original"),
                     tuple(parsed), number)


def _strategy(value: object, catalog: StrategyCatalog, path: str, where: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DataError("'strategy' must be a string or null", path, where)
    try:
        return catalog.normalize(value)
    except UnknownStrategyError as error:
        raise DataError(f"{error} (catalog {catalog.name!r})", path, where) from None
