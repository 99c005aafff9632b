"""The display schema (HELM's idea: how columns are shown, kept apart from results) and the
choice of columns a leaderboard table shows."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from escbench.harness.errors import ConfigError
from escbench.harness.table import PAPER_COLUMNS, Column, score_directions

# The display schema that ships with escbench (package data next to the renderers).
DEFAULT_DISPLAY_SCHEMA = Path(__file__).resolve().parent / "display.yaml"


@dataclass
class DisplaySchema:
    """Per column a display name, description, direction and decimals;
    ``default_columns`` orders the default set."""

    columns: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_columns: list[str] = field(default_factory=lambda: list(PAPER_COLUMNS))
    other_columns: bool = True  # also show scored columns outside default_columns

    def column(self, name: str, higher_is_better: bool = True) -> Column:
        """A Column for ``name``: schema settings win over the record's direction."""
        shown = self.columns.get(name, {})
        return Column(
            name=name, higher_is_better=bool(shown.get("higher_is_better", higher_is_better)),
            decimals=int(shown.get("decimals", 2)), display=str(shown.get("display", "")),
            description=str(shown.get("description", "")),
        )


def read_display_schema(path: Path | None = None) -> DisplaySchema:
    """Parse a display schema YAML (default: :data:`DEFAULT_DISPLAY_SCHEMA`); ConfigError
    naming the file and column on a malformed entry."""
    import yaml

    path = Path(path) if path else DEFAULT_DISPLAY_SCHEMA
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read display schema: {error}") from None
    columns = raw.get("columns") or {}
    allowed = {"display", "description", "higher_is_better", "decimals"}
    for name, entry in columns.items():
        if not isinstance(entry, dict) or set(entry) - allowed:
            raise ConfigError(f"{path}: column {name!r}: expected a mapping with keys {sorted(allowed)}, got {entry!r}")
        if not isinstance(entry.get("decimals", 0), int) or entry.get("decimals", 0) < 0:
            raise ConfigError(f"{path}: column {name!r}: 'decimals' must be a non-negative integer")
    defaults = raw.get("default_columns", list(PAPER_COLUMNS))
    return DisplaySchema(columns={str(k): v for k, v in columns.items()}, default_columns=[str(c) for c in defaults],
                         other_columns=bool(raw.get("other_columns", True)))


def resolve_columns(records: list[dict], requested: list[str] | None, schema: DisplaySchema) -> list[Column]:
    """The columns to show: ``requested`` in order (``["all"]``: every scored column), else
    the schema's default columns that some record has, then (if the schema says
    ``other_columns``, or no default column was scored) every other column in first-seen order.
    UnknownNameError for a requested column that neither a record nor the schema knows."""
    direction = score_directions(records)
    seen = list(direction)
    columns_all = requested == ["all"]
    if columns_all:
        requested = [c for c in schema.default_columns if c in seen] + [c for c in seen if c not in schema.default_columns]
    if requested:
        unknown = [c for c in requested if c not in seen and c not in schema.columns]
        if unknown:
            from escbench.harness.errors import UnknownNameError

            raise UnknownNameError("column", unknown[0], seen)
        names = list(requested)
    else:
        names = [c for c in schema.default_columns if c in seen]
        if schema.other_columns or not names:
            names += [c for c in seen if c not in schema.default_columns]
    if requested is None or columns_all:
        names = natural_order(names)
    return [schema.column(name, direction.get(name, True)) for name in names]


def natural_order(names: list[str]) -> list[str]:
    """``names`` with each numbered family (D-1, D-2, D-3; B-1..B-4) in numeric order at the
    place of its first member; other names keep their place."""
    import re

    def family(name: str) -> tuple[str, int] | None:
        match = re.fullmatch(r"(.*?)(\d+)", name)
        return (match.group(1), int(match.group(2))) if match else None

    members: dict[str, list[str]] = {}
    for name in names:
        if (key := family(name)) is not None:
            members.setdefault(key[0], []).append(name)
    out: list[str] = []
    for name in names:
        key = family(name)
        if key is None:
            out.append(name)
        elif name == members[key[0]][0]:
            out += sorted(members[key[0]], key=lambda n: family(n)[1])
    return out
