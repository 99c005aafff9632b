"""A leaderboard table built from results records, independent of how it is rendered.

Renderers (``register_renderers``) receive a :class:`Table` and only decide markup: which
cell is best / second best (:meth:`Table.emphasis`), its text (:meth:`Table.text`), the
confidence half-width and significance mark are all decided here, so every format agrees.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

# Paper column order (Tables 5, 7, 8, 12); other columns follow in first-seen order.
PAPER_COLUMNS = ("METEOR", "B-4", "R-L", "Extrema", "D-2", "D-3")
# The display schema that ships with escbench (package data next to the renderers).
DEFAULT_DISPLAY_SCHEMA = Path(__file__).resolve().parent.parent / "leaderboard" / "display.yaml"
# ``escbench leaderboard --publish DIR`` writes one file per format.
PUBLISHED_FILES = {"md": "leaderboard.md", "latex": "leaderboard.tex", "html": "index.html",
                   "csv": "leaderboard.csv", "json": "leaderboard.json"}


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
        return self.values.get(row, {}).get(column.name)

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


# -- display schema -----------------------------------------------------------------
@dataclass
class DisplaySchema:
    """How columns are shown, kept apart from results (HELM's idea): per column a display
    name, description, direction and decimals; ``default_columns`` orders the default set."""

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
    """Parse a display schema YAML (default: the one shipped in ``leaderboard/``);
    ConfigError naming the file and column on a malformed entry."""
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


# -- records -> tables ----------------------------------------------------------------
def _identity(record: dict) -> dict[str, Any]:
    from .cache import stable_hash

    system = record.get("system", {})
    return {
        "system configuration": system.get("config_sha256") or stable_hash(system.get("config")),
        "examples": record.get("split", {}).get("examples_sha256"),
        "generation settings": json.dumps(record.get("generation"), sort_keys=True),
    }


def newest_records(records: list[dict], sources: list[Path | None] | None = None) -> list[tuple[dict, Path | None]]:
    """One ``(record, source file)`` per (system, split): the newest by ``created_at``. Two
    records of the same pair made with a different system config, examples or generation
    settings are not duplicates but a conflict: ConfigError naming both sources."""
    sources = sources or [None] * len(records)
    chosen: dict[tuple[str, str], tuple[dict, Path | None]] = {}
    for record, source in sorted(zip(records, sources), key=lambda pair: pair[0].get("created_at", "")):
        key = (record["system"]["name"], record.get("split", {}).get("name", ""))
        if key in chosen:
            before, before_source = chosen[key]
            old, new = _identity(before), _identity(record)
            differing = [what for what in old if old[what] != new[what]]
            if differing:
                raise ConfigError(
                    f"{_where(before, before_source)} and {_where(record, source)} both hold system {key[0]!r} on split {key[1]!r} but "
                    f"with different {' and '.join(differing)}; keep one of them (or rename the system) "
                    "before building the leaderboard")
        chosen[key] = (record, source)
    return list(chosen.values())


def _where(record: dict, source: Path | None) -> str:
    return str(source) if source else f"the record written {record.get('created_at', '?')}"


def resolve_columns(records: list[dict], requested: list[str] | None, schema: DisplaySchema) -> list[Column]:
    """The columns to show: ``requested`` in order (``["all"]``: every scored column), else
    the schema's default columns that some record has, then (if the schema says
    ``other_columns``, or no default column was scored) every other column in first-seen order."""
    seen: list[str] = []
    direction: dict[str, bool] = {}
    for record in records:
        for name in record["scores"]:
            if name not in seen:
                seen.append(name)
            meta = record.get("score_meta", {}).get(name, {})
            direction.setdefault(name, bool(meta.get("higher_is_better", True)))
    if requested == ["all"]:
        requested = [c for c in schema.default_columns if c in seen] + [c for c in seen if c not in schema.default_columns]
    if requested:
        unknown = [c for c in requested if c not in seen and c not in schema.columns]
        if unknown:
            from .errors import UnknownNameError

            raise UnknownNameError("column", unknown[0], seen)
        names = list(requested)
    else:
        names = [c for c in schema.default_columns if c in seen]
        if schema.other_columns or not names:
            names += [c for c in seen if c not in schema.default_columns]
    return [schema.column(name, direction.get(name, True)) for name in names]


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


def _add_row(table: Table, key: str, record: dict, source: Path | None) -> None:
    table.rows.append(key)
    table.row_labels[key] = record["system"]["name"]
    table.values[key] = {c.name: record["scores"].get(c.name) for c in table.columns}
    table.details[key] = record_details(record, source)


def table_from_records(
    records: list[dict], title: str = "", columns: list[str] | None = None,
    schema: DisplaySchema | None = None, sources: list[Path | None] | None = None,
) -> Table:
    """One row per system (the newest record wins when a system appears twice; see
    :func:`newest_records`). Without ``schema`` every scored column shows, paper ones first."""
    chosen = newest_records(records, sources)
    table = Table(title=title, columns=resolve_columns([r for r, _ in chosen], columns, schema or DisplaySchema()), rows=[])
    for record, source in chosen:
        _add_row(table, record["system"]["name"], record, source)
    return table


def multi_split_table(
    records: list[dict], splits: list[str], columns: list[str] | None = None,
    schema: DisplaySchema | None = None, sources: list[Path | None] | None = None, title: str = "",
) -> Table:
    """Paper Table 12 layout: one group of system rows per split (the group label is the
    test set); best values are marked within each split."""
    chosen = [(r, s) for r, s in newest_records(records, sources) if r["split"]["name"] in splits]
    table = Table(title=title, columns=resolve_columns([r for r, _ in chosen], columns, schema or DisplaySchema()),
                  rows=[], group_header="Test set")
    for split in splits:
        pairs = [(record, source) for record, source in chosen if record["split"]["name"] == split]
        for record, source in pairs:
            _add_row(table, f"{split} · {record['system']['name']}", record, source)
        if pairs:
            table.groups.append((split, [f"{split} · {record['system']['name']}" for record, _ in pairs]))
    return table


def collect_records(paths: list[Path]) -> tuple[list[dict], list[Path]]:
    """Results records under ``paths`` and the file of each; JSON files that are not records
    (``*.scores.json``, a human-evaluation key...) are skipped with a note on stderr."""
    import sys

    from .errors import DataError
    from .results import find_records, read_record

    records, sources = [], []
    for path in find_records(paths):
        if path.name.endswith(".scores.json"):
            continue
        try:
            records.append(read_record(path))
        except DataError as error:
            if "not an escbench results record" not in str(error):
                raise
            print(f"note: skipped {path} (not a results record)", file=sys.stderr)
            continue
        sources.append(path)
    return records, sources


# -- per-sample data behind the rows --------------------------------------------------------
def read_samples(details: dict[str, Any]) -> list[dict]:
    """Lines of the samples file of the record behind a row ([] when the row's record was
    not read from a file); DataError when the record names a file that is missing or bad."""
    from .errors import DataError
    from .jsonl import read_records

    source, name = details.get("source"), details.get("samples_file")
    if not source or not name:
        return []
    path = Path(source).parent / name
    if not path.exists():
        raise DataError(f"samples file {name!r} named by the record is missing", path=str(path))
    try:
        return list(read_records(path))
    except ValueError as error:
        raise DataError(str(error), path=str(path)) from None


SAMPLE_FIELDS = ("id", "context", "reference", "strategy", "prediction", "predicted_strategy")


def attach_samples(table: Table, limit: int) -> None:
    """Fill ``table.samples`` with the first ``limit`` samples of each row (for the HTML page)."""
    for row in table.rows:
        rows = read_samples(table.details.get(row, {}))[:limit]
        table.samples[row] = [{key: sample.get(key) for key in SAMPLE_FIELDS} for sample in rows]


def leaderboard_tables(
    records: list[dict], sources: list[Path | None], splits: list[str] | None = None,
    columns: list[str] | None = None, schema: DisplaySchema | None = None, by_split: bool = False,
    second: bool = False, title: str | None = None, caption: str | None = None,
) -> list[Table]:
    """The tables ``escbench leaderboard`` renders: one per split (default every split found,
    sorted), or one multi-split table with ``by_split``. UnknownNameError for a split no
    record has."""
    from .errors import UnknownNameError

    found = sorted({r["split"]["name"] for r in records})
    for name in splits or []:
        if name not in found:
            raise UnknownNameError("split", name, found)
    splits = splits or found
    if by_split:
        tables = [multi_split_table(records, splits, columns, schema, sources, title=title or "escbench · splits")]
    else:
        tables = []
        for split in splits:
            pairs = [(r, s) for r, s in zip(records, sources) if r["split"]["name"] == split]
            tables.append(table_from_records([r for r, _ in pairs], title=title or f"escbench · split {split}",
                                             columns=columns, schema=schema, sources=[s for _, s in pairs]))
    for table in tables:
        table.underline_second = second
        table.caption = caption if caption is not None else _default_caption(table)
        example_sets: dict[str, set] = {}
        for details in table.details.values():
            example_sets.setdefault(details.get("split"), set()).add(details.get("examples_sha256"))
        table.notes += [f"Warning: systems on split {split} were scored on different example sets (e.g. a "
                        "different --limit); their scores are not comparable."
                        for split, hashes in example_sets.items() if len(hashes) > 1]
    return tables


def _default_caption(table: Table) -> str:
    counts: dict[str, int] = {}
    for details in table.details.values():
        counts.setdefault(details.get("split") or "?", int(details.get("counts", {}).get("examples") or 0))
    described = ", ".join(f"{split} ({n} examples)" if n else split for split, n in counts.items())
    return f"Automatic evaluation on {described}." if described else ""
