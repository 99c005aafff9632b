"""Render a :class:`harness.table.Table` as terminal text, Markdown, CSV or JSON.

Every renderer shows the same decisions the Table makes (best / second best, ± half-width,
significance marks, groups, footer rows); only the markup differs.
"""
from __future__ import annotations

import csv
import io
import json

from harness.table import Column, Table


def body_and_footer(table: Table) -> list[tuple[str, list[str]]]:
    """Row groups in display order, the footer (if any) as a last group named ``"footer"``."""
    sections = [(label, [r for r in rows if r not in table.footer]) for label, rows in table.row_groups()]
    return sections + ([("footer", list(table.footer))] if table.footer else [])


def plain_cell(table: Table, row: str, column: Column) -> str:
    """Cell text with ± half-width and significance mark, no emphasis markup."""
    text = table.text(row, column)
    spread = table.spread(row, column)
    return f"{text} ± {spread}{table.mark(row, column)}" if spread else f"{text}{table.mark(row, column)}"


def legend(table: Table) -> list[str]:
    """Sentences explaining the markup (shown under the table / in the caption)."""
    lines = []
    along = "row" if table.compare == "row" else ("column within each group" if table.groups else "column")
    if any(table.emphasis(r, c) == "best" for r in table.rows for c in table.columns):
        lines.append(f"Bold: best per {along}." + (" Underlined: second best." if table.underline_second else ""))
    return lines + list(table.notes)


class TerminalRenderer:
    name = "terminal"
    description = "rich table for the terminal; best value bold, second best underlined"

    def render(self, table: Table, color: bool = False) -> str:
        from rich.console import Console
        from rich.table import Table as RichTable

        rich_table = RichTable(title=table.title or None, caption=" ".join(legend(table)) or None)
        if table.groups:
            rich_table.add_column(table.group_header or "Group", style="magenta")
        rich_table.add_column(table.row_header, style="cyan")
        for column in table.columns:
            arrow = "" if not column.ranked else (" ↑" if column.higher_is_better else " ↓")
            rich_table.add_column(f"{column.header}{arrow}", justify="right")
        sections = body_and_footer(table)
        for index, (group, rows) in enumerate(sections):
            for position, row in enumerate(rows):
                cells = []
                for column in table.columns:
                    text = plain_cell(table, row, column).replace("[", r"\[")
                    style = {"best": "bold", "second": "underline"}.get(table.emphasis(row, column) or "")
                    cells.append(f"[{style}]{text}[/{style}]" if style else text)
                label = table.label(row).replace("[", r"\[")
                lead = [group if position == 0 and group != "footer" else ""] if table.groups else []
                rich_table.add_row(*lead, label, *cells, end_section=position == len(rows) - 1 and index < len(sections) - 1)
        buffer = io.StringIO()
        width = max(100, 16 * (len(table.columns) + 2))
        Console(file=buffer, force_terminal=color, width=width).print(rich_table)
        return buffer.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("_", "\\_").replace("<", "&lt;")


class MarkdownRenderer:
    name = "md"
    description = "GitHub-flavoured Markdown table; best value **bold**, second best <u>underlined</u>"

    def render(self, table: Table) -> str:
        lead = [table.group_header or "Group"] if table.groups else []
        header = "| " + " | ".join([*lead, table.row_header, *[_md_escape(c.header) for c in table.columns]]) + " |"
        rule = "|" + "---|" * (len(lead) + 1) + "|".join("---:" for _ in table.columns) + "|"
        lines = [f"**{_md_escape(table.title)}**", ""] if table.title else []
        lines += [header, rule]
        for group, rows in body_and_footer(table):
            for position, row in enumerate(rows):
                cells = []
                for column in table.columns:
                    text = _md_escape(plain_cell(table, row, column))
                    emphasis = table.emphasis(row, column)
                    cells.append(f"**{text}**" if emphasis == "best" else f"<u>{text}</u>" if emphasis == "second" else text)
                first = [_md_escape(group) if position == 0 and group != "footer" else ""] if table.groups else []
                lines.append("| " + " | ".join([*first, _md_escape(table.label(row)), *cells]) + " |")
        notes = [table.caption, *legend(table)] if table.caption else legend(table)
        if notes:
            lines += ["", "_" + _md_escape(" ".join(notes)) + "_"]
        return "\n".join(lines) + "\n"


class CsvRenderer:
    name = "csv"
    description = "comma-separated values, full precision (confidence bounds as extra columns)"

    def render(self, table: Table) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        with_bounds = [c for c in table.columns if any(c.name in table.intervals.get(r, {}) for r in table.rows)]
        lead = [table.group_header or "group"] if table.groups else []
        header = [*lead, "system" if table.row_header == "System" else table.row_header, *[c.name for c in table.columns]]
        writer.writerow(header + [f"{c.name} {end}" for c in with_bounds for end in ("low", "high")])
        for group, rows in body_and_footer(table):
            for row in rows:
                values = ["" if (v := table.value(row, c)) is None else repr(v) for c in table.columns]
                bounds = [repr(v) if v != "" else "" for c in with_bounds
                          for v in table.intervals.get(row, {}).get(c.name, ("", ""))]
                first = [group if group != "footer" else ""] if table.groups else []
                writer.writerow([*first, table.label(row), *values, *bounds])
        return buffer.getvalue()


class JsonRenderer:
    name = "json"
    description = "JSON: columns (display name, direction, decimals), rows with scores, marks and intervals"

    def render(self, table: Table) -> str:
        return json.dumps(self.document(table), indent=2, ensure_ascii=False) + "\n"

    def render_many(self, tables: list[Table]) -> str:
        return json.dumps({"tables": [self.document(t) for t in tables]}, indent=2, ensure_ascii=False) + "\n"

    @staticmethod
    def document(table: Table) -> dict:
        group_of = {row: label for label, rows in table.groups for row in rows}
        return {
            "title": table.title,
            "caption": table.caption,
            "columns": [{"name": c.name, "display": c.header, "description": c.description,
                         "higher_is_better": c.higher_is_better, "decimals": c.decimals} for c in table.columns],
            "rows": [{
                "system": table.label(row), **({"group": group_of[row]} if row in group_of else {}),
                "scores": {c.name: table.value(row, c) for c in table.columns},
                **({"intervals": table.intervals[row]} if table.intervals.get(row) else {}),
                **({"marks": table.marks[row]} if table.marks.get(row) else {}),
                "best": [c.name for c in table.columns if table.emphasis(row, c) == "best"],
            } for row in table.rows],
            "footer": [{"label": table.label(row), "values": {c.name: table.value(row, c) for c in table.columns}}
                       for row in table.footer],
            "notes": legend(table),
        }
