"""Render a :class:`escbench.harness.table.Table` as terminal text, Markdown, CSV or JSON.

Every renderer shows the same decisions the Table makes (best / second best, ± half-width,
significance marks, groups, footer rows); only the markup differs. Text from records (system
names, splits, titles, notes) is escaped for each format: Markdown specials and newlines,
spreadsheet formula prefixes in CSV (``= + - @``, tab, carriage return get a leading ``'``),
Rich markup in the terminal. CSV and JSON are tidy: one row per system x split x column
(:func:`long_rows`); ``csv-wide`` is the table as shown, one row per system with a split
column. JSON is strict (non-finite numbers become null) and has one shape for any number
of tables.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re

from escbench.harness.table import Column, Table, finite


def body_and_footer(table: Table) -> list[tuple[str, list[str]]]:
    """Row groups in display order, the footer (if any) as a last group named ``"footer"``."""
    sections = [(label, [r for r in rows if r not in table.footer]) for label, rows in table.row_groups()]
    return sections + ([("footer", list(table.footer))] if table.footer else [])


def plain_cell(table: Table, row: str, column: Column) -> str:
    """Cell text with ± half-width and significance mark, no emphasis markup."""
    text = table.text(row, column)
    spread = table.spread(row, column) if table.value(row, column) is not None else None
    return f"{text} ± {spread}{table.mark(row, column)}" if spread else f"{text}{table.mark(row, column)}"


def legend(table: Table, emphasis: tuple[str, str] = ("Bold", "Underlined")) -> list[str]:
    """Sentences explaining the markup (shown under the table / in the caption); ``emphasis``
    names how this format shows best and second best."""
    lines = []
    along = "row" if table.compare == "row" else ("column within each group" if table.groups else "column")
    if any(table.emphasis(r, c) == "best" for r in table.rows for c in table.columns):
        lines.append(f"{emphasis[0]}: best per {along}."
                     + (f" {emphasis[1]}: second best." if table.underline_second else ""))
    return lines + list(table.notes)


def strict_number(value: object) -> float | None:
    """A finite float, or None (JSON has no NaN or Infinity)."""
    return float(value) if finite(value) else None


def long_rows(tables: list[Table]) -> list[dict]:
    """Tidy form: one dict per system x split x column with value, interval, n and direction."""
    out = []
    for table in tables:
        for group, rows in body_and_footer(table):
            for row in rows:
                details = table.details.get(row, {})
                bounds_of = table.intervals.get(row, {})
                for column in table.columns:
                    value = table.value(row, column)
                    bounds = bounds_of.get(column.name) if value is not None else None
                    out.append({
                        "split": details.get("split") or (group if group not in ("", "footer") else None),
                        "system": table.label(row), "column": column.name, "value": strict_number(value),
                        "low": strict_number(bounds[0]) if bounds else None,
                        "high": strict_number(bounds[1]) if bounds else None,
                        "n": (details.get("counts") or {}).get("examples"),
                        "higher_is_better": column.higher_is_better,
                        "best": table.emphasis(row, column) == "best", "mark": table.mark(row, column),
                    })
    return out


def _safe_json(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _safe_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_safe_json(v) for v in value]
    return value


class TerminalRenderer:
    name = "terminal"
    description = "rich table for the terminal; best value bold, second best underlined (on a TTY)"

    def render(self, table: Table, color: bool | None = None) -> str:
        """``color``: emit bold/underline (ANSI); without it best/second best get ``*``/``°``.
        None (default): colour when standard output is a terminal and ``NO_COLOR`` is unset."""
        import os
        import sys

        if color is None:
            color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table as RichTable

        words = ("Bold", "Underlined") if color else ("*", "°")
        rich_table = RichTable(title=escape(table.title) if table.title else None,
                               caption=escape(" ".join(legend(table, words))) or None)
        if table.groups:
            rich_table.add_column(escape(table.group_header or "Group"), style="magenta")
        rich_table.add_column(escape(table.row_header), style="cyan")
        for column in table.columns:
            arrow = "" if not column.ranked else (" ↑" if column.higher_is_better else " ↓")
            rich_table.add_column(escape(f"{column.header}{arrow}"), justify="right")
        sections = body_and_footer(table)
        for index, (group, rows) in enumerate(sections):
            for position, row in enumerate(rows):
                cells = []
                for column in table.columns:
                    text = escape(plain_cell(table, row, column))
                    emphasis = table.emphasis(row, column)
                    if color and emphasis:
                        style = "bold" if emphasis == "best" else "underline"
                        text = f"[{style}]{text}[/{style}]"
                    elif emphasis:
                        text += "*" if emphasis == "best" else "°"
                    cells.append(text)
                lead = [escape(group) if position == 0 and group != "footer" else ""] if table.groups else []
                rich_table.add_row(*lead, escape(table.label(row)), *cells,
                                   end_section=position == len(rows) - 1 and index < len(sections) - 1)
        buffer = io.StringIO()
        width = max(100, 16 * (len(table.columns) + 2))
        Console(file=buffer, force_terminal=color, color_system="standard" if color else None,
                width=width).print(rich_table)
        return buffer.getvalue()


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md_escape(text: str) -> str:
    """Text that stays inside one GitHub Markdown table cell and shows as written: specials
    backslash-escaped, ``<`` and ``&`` as entities, line breaks as ``<br>``."""
    text = str(text).replace("&", "&amp;").replace("<", "&lt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return re.sub(r"\r\n|\r|\n", "<br>", text)


_md_escape = md_escape  # older name


class MarkdownRenderer:
    name = "md"
    description = "GitHub-flavoured Markdown table; best value **bold**, second best <u>underlined</u>"

    def render(self, table: Table) -> str:
        lead = [md_escape(table.group_header or "Group")] if table.groups else []
        header = "| " + " | ".join([*lead, md_escape(table.row_header), *[md_escape(c.header) for c in table.columns]]) + " |"
        rule = "|" + "---|" * (len(lead) + 1) + "|".join("---:" for _ in table.columns) + "|"
        lines = [f"**{md_escape(table.title)}**", ""] if table.title else []
        lines += [header, rule]
        for group, rows in body_and_footer(table):
            for position, row in enumerate(rows):
                cells = []
                for column in table.columns:
                    text = md_escape(plain_cell(table, row, column))
                    emphasis = table.emphasis(row, column)
                    cells.append(f"**{text}**" if emphasis == "best" else f"<u>{text}</u>" if emphasis == "second" else text)
                first = [md_escape(group) if position == 0 and group != "footer" else ""] if table.groups else []
                lines.append("| " + " | ".join([*first, md_escape(table.label(row)), *cells]) + " |")
        notes = [table.caption, *legend(table)] if table.caption else legend(table)
        if notes:
            lines += ["", "_" + md_escape(" ".join(notes)) + "_"]
        return "\n".join(lines) + "\n"


def csv_text(value: object) -> str:
    """A text cell no spreadsheet runs as a formula (a leading ``'`` before ``= + - @``, tab, CR)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_number(value: object) -> str:
    return repr(float(value)) if finite(value) else ""


LONG_FIELDS = ("split", "system", "column", "value", "low", "high", "n", "higher_is_better", "best", "mark")


class CsvRenderer:
    name = "csv"
    description = "tidy CSV: one row per system x split x column (value, low, high, n, direction), full precision"

    def render(self, table: Table) -> str:
        return self.render_many([table])

    def render_many(self, tables: list[Table]) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(LONG_FIELDS)
        for row in long_rows(tables):
            writer.writerow([csv_text(row["split"]), csv_text(row["system"]), csv_text(row["column"]),
                             _csv_number(row["value"]), _csv_number(row["low"]), _csv_number(row["high"]),
                             "" if row["n"] is None else row["n"], row["higher_is_better"], row["best"],
                             row["mark"]])
        return buffer.getvalue()


class WideCsvRenderer:
    name = "csv-wide"
    description = "CSV as the table is shown: one row per system and split, a column per score (bounds as extra columns)"

    def render(self, table: Table) -> str:
        return self.render_many([table])

    def render_many(self, tables: list[Table]) -> str:
        columns: list[str] = []
        for table in tables:
            columns += [c.name for c in table.columns if c.name not in columns]
        bounded = [name for name in columns if any(name in t.intervals.get(r, {}) for t in tables for r in t.rows)]
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["split", "system", *map(csv_text, columns),
                         *[csv_text(f"{name} {end}") for name in bounded for end in ("low", "high")]])
        for table in tables:
            by_name = {c.name: c for c in table.columns}
            for group, rows in body_and_footer(table):
                for row in rows:
                    split = table.details.get(row, {}).get("split") or (group if group not in ("", "footer") else "")
                    values = [_csv_number(table.value(row, by_name[n])) if n in by_name else "" for n in columns]
                    shown = {n: table.intervals.get(row, {}).get(n) for n in bounded}
                    bounds = [_csv_number(b[i]) if (b := shown[n]) and n in by_name and table.value(row, by_name[n]) is not None
                              else "" for n in bounded for i in (0, 1)]
                    writer.writerow([csv_text(split), csv_text(table.label(row)), *values, *bounds])
        return buffer.getvalue()


class JsonRenderer:
    name = "json"
    description = ("JSON {tables: [...], rows: [...]}: each table's columns and rows with scores, marks and "
                   "intervals, plus the tidy rows (system x split x column); strict JSON")

    def render(self, table: Table) -> str:
        return self.render_many([table])

    def render_many(self, tables: list[Table]) -> str:
        document = {"tables": [self.document(t) for t in tables], "rows": long_rows(tables)}
        return json.dumps(_safe_json(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @staticmethod
    def document(table: Table) -> dict:
        group_of = {row: label for label, rows in table.groups for row in rows}
        return {
            "title": table.title,
            "caption": table.caption,
            "columns": [{"name": c.name, "display": c.header, "description": c.description,
                         "higher_is_better": c.higher_is_better, "decimals": c.decimals} for c in table.columns],
            "rows": [{
                "system": table.label(row), "split": table.details.get(row, {}).get("split"),
                **({"group": group_of[row]} if row in group_of else {}),
                "scores": {c.name: strict_number(table.value(row, c)) for c in table.columns},
                **({"intervals": {k: [strict_number(v[0]), strict_number(v[1])]
                                  for k, v in table.intervals[row].items()}} if table.intervals.get(row) else {}),
                **({"marks": table.marks[row]} if table.marks.get(row) else {}),
                "best": [c.name for c in table.columns if table.emphasis(row, c) == "best"],
            } for row in table.rows],
            "footer": [{"label": table.label(row), "values": {c.name: strict_number(table.value(row, c)) for c in table.columns}}
                       for row in table.footer],
            "notes": legend(table),
        }
