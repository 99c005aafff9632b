"""A leaderboard table built from results records, independent of how it is rendered."""
from __future__ import annotations

from dataclasses import dataclass, field

# Paper column order (Tables 5, 7, 8, 12); other columns follow in first-seen order.
PAPER_COLUMNS = ("METEOR", "B-4", "R-L", "Extrema", "D-2", "D-3")


@dataclass
class Column:
    name: str
    higher_is_better: bool = True
    decimals: int = 2


@dataclass
class Table:
    """Rows are systems, columns are scores; ``values[row][column]`` may be missing (None)."""

    title: str
    columns: list[Column]
    rows: list[str]
    values: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def best(self, column: Column) -> float | None:
        present = [v for v in (self.values[r].get(column.name) for r in self.rows) if v is not None]
        if not present:
            return None
        return max(present) if column.higher_is_better else min(present)


def table_from_records(records: list[dict], title: str = "", columns: list[str] | None = None) -> Table:
    """One row per system (the newest record wins when a system appears twice)."""
    by_system: dict[str, dict] = {}
    for record in sorted(records, key=lambda r: r.get("created_at", "")):
        by_system[record["system"]["name"]] = record
    meta: dict[str, dict] = {}
    seen: list[str] = []
    for record in by_system.values():
        for column in record["scores"]:
            if column not in seen:
                seen.append(column)
            meta.setdefault(column, record.get("score_meta", {}).get(column, {}))
    if columns is None:
        columns = [c for c in PAPER_COLUMNS if c in seen] + [c for c in seen if c not in PAPER_COLUMNS]
    table = Table(
        title=title,
        columns=[Column(c, bool(meta.get(c, {}).get("higher_is_better", True))) for c in columns],
        rows=list(by_system),
    )
    for system, record in by_system.items():
        table.values[system] = {c: record["scores"].get(c) for c in columns}
    return table
