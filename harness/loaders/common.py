"""What every loader shares: the result types, field checks, and the strict/lenient loop.

Format modules turn one raw record into a :class:`Dialogue` and raise
:class:`DataError` (with ``where`` set to ``turn N`` when a turn is at fault) on the first
problem; :func:`collect_dialogues` adds the file and dialogue location to the message and
either raises it (strict) or records a :class:`Reject` (lenient). Dialogue and turn numbers
count from 0, as positions in the source file's lists.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from ..catalogs import StrategyCatalog
from ..data import Dialogue, Role, Turn
from ..errors import DataError, UnknownStrategyError


@dataclass(frozen=True)
class Reject:
    """A dialogue skipped in lenient mode: its position, id (if known), why, and the raw item."""

    index: int
    dialogue_id: str | None
    reason: str
    record: object


@dataclass
class LoadResult:
    """Dialogues that passed validation, in file order, and the rejected ones."""

    dialogues: list[Dialogue] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)


# Names the formats use for the two parties, compared without case, spaces, '-' or '_'.
PARTY_ALIASES: dict[str, Role] = {
    **dict.fromkeys(("seeker", "usr", "user", "helpseeker", "client"), "user"),
    **dict.fromkeys(("supporter", "sys", "system", "helper", "assistant", "ai", "bot"), "ai"),
}


def party_of(name: str) -> Role | None:
    """``"user"`` or ``"ai"`` for a speaker name the formats use, else None."""
    squashed = "".join(ch for ch in name.lower() if ch not in " -_\t")
    return PARTY_ALIASES.get(squashed)


def type_name(value: object) -> str:
    """JSON name of a value's type, for messages."""
    return _JSON_NAMES.get(type(value), type(value).__name__)


_JSON_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
               int: "a number", float: "a number", type(None): "null"}


def as_object(record: object, what: str = "a dialogue", where: str | None = None) -> dict:
    """``record`` if it is a JSON object, else DataError."""
    if not isinstance(record, dict):
        raise DataError(f"expected {what} as a JSON object, got {type_name(record)}", where=where)
    return record


def required(record: dict, key: str, kind: type, where: str | None = None) -> Any:
    """``record[key]``, which must exist and be of ``kind`` (null is not accepted)."""
    if key not in record:
        raise DataError(f"missing required field {key!r}", where=where)
    return _checked(record[key], key, kind, where)


def optional(record: dict, key: str, kind: type, default: Any, where: str | None = None) -> Any:
    """``record[key]`` if present and not null, ``default`` otherwise; wrong type is a DataError."""
    value = record.get(key)
    return default if value is None else _checked(value, key, kind, where)


def _checked(value: Any, key: str, kind: type, where: str | None) -> Any:
    if not isinstance(value, kind):
        raise DataError(f"field {key!r} must be {_JSON_NAMES.get(kind, kind.__name__)}, "
                        f"got {type_name(value)}", where=where)
    return value


def clean_text(value: object, key: str, where: str) -> str:
    """The stripped utterance text; DataError if it is not a string or is blank."""
    text = _checked(value, key, str, where).strip()
    if not text:
        raise DataError(f"empty text in field {key!r}", where=where)
    return text


def canonical_strategy(raw: object, role: Role, catalog: StrategyCatalog, where: str) -> str | None:
    """Catalog name for a turn's strategy label; None when absent or blank.

    A label on a user turn and an unknown label are errors (the latter an UnknownStrategyError).
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise DataError(f"strategy must be a string, got {type_name(raw)}", where=where)
    if not raw.strip():
        return None
    if role != "ai":
        raise DataError(f"strategy {raw.strip()!r} on a user turn (only supporter turns have one)",
                        where=where)
    try:
        return catalog.normalize(raw.strip())
    except UnknownStrategyError as error:
        raise UnknownStrategyError(error.problem, where=where) from None


def check_parties(turns: Sequence[Turn]) -> None:
    """DataError unless the dialogue has at least one user turn and one supporter turn."""
    roles = {turn.role for turn in turns}
    if "ai" not in roles:
        raise DataError("dialogue has no supporter turn")
    if "user" not in roles:
        raise DataError("dialogue has no user turn")


def collect_dialogues(
    records: Sequence[object],
    path: Path,
    id_of: Callable[[object, int], str],
    build: Callable[[object, str], Dialogue],
    lenient: bool,
    line_numbers: Sequence[int] | None = None,
) -> LoadResult:
    """Build every record into a Dialogue, in order.

    ``id_of(record, index)`` gives the dialogue id (may raise DataError); ``build(record, id)``
    validates and converts. Duplicate ids are errors. Strict: the first error is raised with
    its location; lenient: it becomes a Reject and loading goes on.
    """
    result = LoadResult()
    first_index_of: dict[str, int] = {}
    for index, record in enumerate(records):
        dialogue_id: str | None = None
        try:
            dialogue_id = id_of(record, index)
            if dialogue_id in first_index_of:
                raise DataError(f"duplicate id {dialogue_id!r} (first used by dialogue "
                                f"{first_index_of[dialogue_id]})")
            dialogue = build(record, dialogue_id)
        except DataError as error:
            located = _locate(error, path, index, dialogue_id,
                              line_numbers[index] if line_numbers else None)
            if not lenient:
                raise located from None
            result.rejects.append(Reject(index, dialogue_id, str(located), record))
            continue
        first_index_of[dialogue_id] = index
        result.dialogues.append(dialogue)
    return result


def _locate(error: DataError, path: Path, index: int, dialogue_id: str | None,
            line: int | None) -> DataError:
    """The same kind of error, with file, line, dialogue and id prepended to its location."""
    dialogue = f"dialogue {index}" + (f" (id {dialogue_id!r})" if dialogue_id else "")
    parts = [f"line {line}" if line else None, dialogue, error.where]
    return type(error)(error.problem, str(path), ", ".join(p for p in parts if p))
