"""The table model behind every score table, independent of how it is rendered.

Renderers (``register_renderers``) receive a :class:`Table` and only decide markup: which
cell is best / second best (:meth:`Table.emphasis`), its text (:meth:`Table.text`), the
confidence half-width and significance mark are all decided here, so every format agrees.
:func:`table_from_records` makes the plain table ``escbench run`` and ``escbench score``
print; leaderboard tables (display schema, newest-record choice, splits) are built on it in
``leaderboard/``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Sequence


def finite(value: object) -> bool:
    """True for a real, finite number (not a bool, NaN or infinity)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# Paper column order (Tables 5, 7, 8, 12); other columns follow in first-seen order.
PAPER_COLUMNS = ("METEOR", "B-4", "R-L", "Extrema", "D-2", "D-3")


@dataclass
class Column:
    """One score column. ``ranked`` False keeps it out of best/second-best marking (e.g. κ)."""

    name: str
    higher_is_better: bool = True
    decimals: int = 2
    display: str = ""
    description: str = ""
    ranked: bool = True

    @property
    def header(self) -> str:
        return self.display or self.name


@dataclass
class Table:
    """Rows are systems, columns are scores; ``values[row][column]`` may be missing (None).

    ``rows`` are the ranked body rows; ``groups`` ((label, row keys) pairs, e.g. one per split
    in the multi-split view) scope the best/second-best comparison; ``footer`` rows (e.g.
    Fleiss' κ; not in ``rows``, values in ``values``) are shown under a rule, never ranked. ``compare="row"`` ranks across each row instead of down each column
    (paper Table 3: datasets are columns). ``intervals`` hold confidence bounds and
    ``marks`` significance marks per cell; ``details`` and ``samples`` feed the HTML page.
    """

    title: str
    columns: list[Column]
    rows: list[str]
    values: dict[str, dict[str, float | None]] = field(default_factory=dict)
    caption: str = ""
    row_header: str = "System"
    group_header: str = ""
    groups: list[tuple[str, list[str]]] = field(default_factory=list)
    row_labels: dict[str, str] = field(default_factory=dict)
    footer: list[str] = field(default_factory=list)
    compare: Literal["column", "row"] = "column"
    underline_second: bool = False
    intervals: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)
    marks: dict[str, dict[str, str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    samples: dict[str, list[dict]] = field(default_factory=dict)

    # -- layout ---------------------------------------------------------------
    def label(self, row: str) -> str:
        return self.row_labels.get(row, row)

    def row_groups(self) -> list[tuple[str, list[str]]]:
        """The groups, or one unnamed group holding every body row."""
        return self.groups or [("", list(self.rows))]

    def value(self, row: str, column: Column) -> float | None:
        """The cell's number; None when missing or not finite (NaN and infinities are shown
        as an en dash and never ranked; :func:`add_record_row` adds a note naming them)."""
        value = self.values.get(row, {}).get(column.name)
        return value if finite(value) else None

    # -- ranking --------------------------------------------------------------
    def best(self, column: Column, rows: list[str] | None = None) -> float | None:
        """Best (unrounded) value of ``column`` among ``rows`` (default: every body row)."""
        present = [v for r in (rows if rows is not None else self.rows) if (v := self.value(r, column)) is not None]
        if not present:
            return None
        return max(present) if column.higher_is_better else min(present)

    def _ranked_values(self, column: Column, rows: list[str]) -> list[float]:
        present = {round(v, column.decimals) for r in rows if (v := self.value(r, column)) is not None}
        return sorted(present, reverse=column.higher_is_better)

    def _peers(self, row: str) -> list[str]:
        return next((members for _, members in self.row_groups() if row in members), [row])

    def emphasis(self, row: str, column: Column) -> Literal["best", "second"] | None:
        """``"best"``/``"second"`` when the displayed value ties the best / next-best of its
        comparison set; ties share the mark. Footer rows and unranked columns get None."""
        value = self.value(row, column)
        if value is None or row in self.footer or not column.ranked:
            return None
        if self.compare == "row":
            peers = [c for c in self.columns if c.ranked and self.value(row, c) is not None]
            ranked = sorted({round(self.value(row, c), c.decimals) for c in peers},
                            reverse=column.higher_is_better)
        else:
            ranked = self._ranked_values(column, self._peers(row))
        shown = round(value, column.decimals)
        if len(ranked) > 1 and shown == ranked[0]:
            return "best"
        if self.underline_second and len(ranked) > 2 and shown == ranked[1]:
            return "second"
        return None

    # -- cell text ------------------------------------------------------------
    def text(self, row: str, column: Column) -> str:
        """The value with the column's decimals, or an en dash when missing."""
        value = self.value(row, column)
        return "–" if value is None else f"{value:.{column.decimals}f}"

    def spread(self, row: str, column: Column) -> str | None:
        """Half-width of the cell's confidence interval, formatted like the value."""
        bounds = self.intervals.get(row, {}).get(column.name)
        if bounds is None:
            return None
        return f"{(bounds[1] - bounds[0]) / 2:.{column.decimals}f}"

    def mark(self, row: str, column: Column) -> str:
        return self.marks.get(row, {}).get(column.name, "")



# -- records -> rows ------------------------------------------------------------------
def score_directions(records: list[dict]) -> dict[str, bool]:
    """Every scored column of ``records`` in first-seen order, mapped to its
    ``higher_is_better`` (from the first record's ``score_meta`` that has it; default True)."""
    directions: dict[str, bool] = {}
    for record in records:
        for name in record["scores"]:
            meta = record.get("score_meta", {}).get(name, {})
            directions.setdefault(name, bool(meta.get("higher_is_better", True)))
    return directions


def record_details(record: dict, source: Path | None = None) -> dict[str, Any]:
    """Provenance shown per system on the HTML page: config, model, prompt hash, date, versions."""
    system, environment = record.get("system", {}), record.get("environment", {})
    config = system.get("config") or {}
    prompt_hash = next((str(v) for k, v in config.items() if "prompt" in k and ("sha" in k or "hash" in k)), None)
    return {
        "system": system.get("name"), "plugin": system.get("plugin"), "model": config.get("model") or system.get("args", {}).get("model"),
        "prompt_sha256": prompt_hash, "created_at": record.get("created_at"), "config": config,
        "config_sha256": system.get("config_sha256"), "args": system.get("args", {}),
        "generation": record.get("generation", {}), "split": record.get("split", {}).get("name"),
        "examples_sha256": record.get("split", {}).get("examples_sha256"), "counts": record.get("counts", {}),
        "metric_errors": record.get("metric_errors", {}), "escbench": environment.get("escbench"),
        "python": environment.get("python"), "packages": environment.get("packages", {}),
        "git_commit": environment.get("git_commit"), "source": str(source) if source else None,
        "samples_file": record.get("samples_file"), "metrics": record.get("metrics", []),
        "score_meta": record.get("score_meta", {}),
    }


def add_record_row(table: Table, key: str, record: dict, source: Path | None = None) -> None:
    """Append body row ``key`` holding ``record``'s scores for ``table.columns`` and its details."""
    from .results import record_display_name

    table.rows.append(key)
    table.row_labels[key] = record_display_name(record)
    table.values[key] = {}
    for column in table.columns:
        value = record["scores"].get(column.name)
        if value is not None and not finite(value):
            where = f" ({source})" if source else ""
            table.notes.append(f"–: {column.name} of {table.row_labels[key]}{where} is {value!r}, "
                               "not a finite number; it is not shown or ranked.")
            value = None
        table.values[key][column.name] = value
    table.details[key] = record_details(record, source)


def table_from_records(
    records: list[dict], title: str = "", columns: list[Column] | None = None,
    sources: Sequence[Path | None] | None = None, first_columns: Sequence[str] = PAPER_COLUMNS,
) -> Table:
    """One row per system (per label: :func:`escbench.harness.results.record_label`), in the order given;
    a system given twice keeps the row's place and its last record. ``columns`` default: every
    scored column, ``first_columns`` first, then the rest in first-seen order (2 decimals,
    direction from the records' ``score_meta``).
    ``sources`` (the record files, parallel to ``records``) go into the rows' details."""
    if columns is None:
        directions = score_directions(records)
        names = [c for c in first_columns if c in directions] + [c for c in directions if c not in first_columns]
        columns = [Column(name, higher_is_better=directions[name]) for name in names]
    from .results import record_label

    chosen: dict[str, tuple[dict, Path | None]] = {}
    for record, source in zip(records, sources or [None] * len(records)):
        chosen[record_label(record)] = (record, source)
    table = Table(title=title, columns=list(columns), rows=[])
    for name, (record, source) in chosen.items():
        add_record_row(table, name, record, source)
    return table
