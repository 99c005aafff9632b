"""Results records -> the tables ``escbench leaderboard`` (and ``escbench plot``) render: one
per split, or one multi-split table (paper Table 12), with captions and comparability notes."""
from __future__ import annotations

from pathlib import Path

from escbench.harness.collect import newest_records
from escbench.harness.display import DisplaySchema, resolve_columns
from escbench.harness.results import record_label
from escbench.harness.table import Table, add_record_row, table_from_records


def split_table(
    records: list[dict], title: str = "", columns: list[str] | None = None,
    schema: DisplaySchema | None = None, sources: list[Path | None] | None = None,
) -> Table:
    """One row per system (the newest record wins when a system appears twice; see
    :func:`newest_records`), columns chosen by :func:`resolve_columns` (no ``schema``: every
    scored column, paper ones first)."""
    chosen = newest_records(records, sources)
    shown = resolve_columns([r for r, _ in chosen], columns, schema or DisplaySchema())
    return table_from_records([r for r, _ in chosen], title=title, columns=shown, sources=[s for _, s in chosen])


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
            add_record_row(table, f"{split} · {record_label(record)}", record, source)
        if pairs:
            table.groups.append((split, [f"{split} · {record_label(record)}" for record, _ in pairs]))
    return table


def leaderboard_tables(
    records: list[dict], sources: list[Path | None], splits: list[str] | None = None,
    columns: list[str] | None = None, schema: DisplaySchema | None = None, by_split: bool = False,
    second: bool = False, title: str | None = None, caption: str | None = None,
) -> list[Table]:
    """The tables ``escbench leaderboard`` renders: one per split (default every split found,
    sorted), or one multi-split table with ``by_split``. UnknownNameError for a split no
    record has."""
    from escbench.harness.errors import UnknownNameError

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
            tables.append(split_table([r for r, _ in pairs], title=title or f"escbench · split {split}",
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
