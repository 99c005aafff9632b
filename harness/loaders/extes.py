"""Loader for ExTES files (the ChatPal dataset's own JSON format).

A file is a JSON list of dialogues ``{"scene": str, "description": str, "content": [...]}``
with an optional ``"id"``. Each ``content`` item is one turn: ``{"User": text}`` or
``{"AI": text, "AI Strategy": name}``.

- The speaker key is matched without regard to case and may be any name of the two parties
  (``user``/``seeker``... or ``ai``/``assistant``...; see ``common.PARTY_ALIASES``); the
  strategy key is any key ending in "strategy".
- A missing, null or blank strategy (greetings often have none) gives ``strategy=None``;
  other labels are normalised with the strategy catalog, unknown ones are errors.
- Texts are stripped. The id is the ``"id"`` field, else ``f"{file_stem}-{index:05d}"``.
- Top-level fields other than scene/description/content/id are kept in ``Dialogue.meta``.
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

KNOWN_FIELDS = ("id", "scene", "description", "content")


def load_extes(path: Path, catalog: StrategyCatalog, lenient: bool) -> LoadResult:
    """Read and validate an ExTES file (see the module docstring)."""
    return extes_from_document(read_json(path), path, catalog, lenient)


def extes_from_document(document: object, path: Path, catalog: StrategyCatalog,
                        lenient: bool) -> LoadResult:
    """Validate an already parsed ExTES document read from ``path``."""
    records = records_of(document, path, "ExTES")
    return collect_dialogues(records, path, partial(_dialogue_id, stem=path.stem),
                             partial(_dialogue, catalog=catalog), lenient)


def _dialogue_id(record: object, index: int, stem: str) -> str:
    explicit = record.get("id") if isinstance(record, dict) else None
    if explicit is None:
        return f"{stem}-{index:05d}"
    if not isinstance(explicit, str) or not explicit.strip():
        raise DataError(f"field 'id' must be a non-empty string, got {explicit!r}")
    return explicit.strip()


def _dialogue(record: object, dialogue_id: str, catalog: StrategyCatalog) -> Dialogue:
    record = as_object(record)
    content = required(record, "content", list)
    turns = tuple(_turn(item, number, catalog) for number, item in enumerate(content))
    check_parties(turns)
    scene = optional(record, "scene", str, "").strip() or None
    description = optional(record, "description", str, "").strip()
    meta = {key: value for key, value in record.items() if key not in KNOWN_FIELDS}
    return Dialogue(dialogue_id, turns, scene, description, meta)


def _turn(item: object, number: int, catalog: StrategyCatalog) -> Turn:
    where = f"turn {number}"
    item = as_object(item, "a turn", where)
    strategy_keys = [key for key in item if key.lower().replace(" ", "").endswith("strategy")]
    speaker_keys = [key for key in item if key not in strategy_keys]
    if len(speaker_keys) != 1:
        found = ", ".join(repr(key) for key in speaker_keys) or "none"
        raise DataError(f"expected exactly one speaker key ('User' or 'AI'), found {found}",
                        where=where)
    if len(strategy_keys) > 1:
        raise DataError(f"several strategy keys: {', '.join(map(repr, strategy_keys))}", where=where)
    speaker = speaker_keys[0]
    role = party_of(speaker)
    if role is None:
        raise DataError(f"unknown role {speaker!r} (expected 'User' or 'AI')", where=where)
    text = clean_text(item[speaker], speaker, where)
    raw_strategy = item[strategy_keys[0]] if strategy_keys else None
    return Turn(role, text, canonical_strategy(raw_strategy, role, catalog, where))
