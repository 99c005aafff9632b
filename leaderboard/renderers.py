"""Render a :class:`harness.table.Table` as terminal text, Markdown, CSV or JSON."""
from __future__ import annotations

import csv
import io
import json

from harness.table import Column, Table


def _cell(value: float | None, column: Column) -> str:
    return "–" if value is None else f"{value:.{column.decimals}f}"


class TerminalRenderer:
    name = "terminal"
    description = "rich table for the terminal; best value per column in bold"

    def render(self, table: Table, color: bool = False) -> str:
        from rich.console import Console
        from rich.table import Table as RichTable

        rich_table = RichTable(title=table.title or None)
        rich_table.add_column("System", style="cyan")
        for column in table.columns:
            arrow = "↑" if column.higher_is_better else "↓"
            rich_table.add_column(f"{column.name} {arrow}", justify="right")
        for row in table.rows:
            cells = []
            for column in table.columns:
                value = table.values[row].get(column.name)
                text = _cell(value, column)
                cells.append(f"[bold]{text}[/bold]" if value is not None and value == table.best(column) else text)
            rich_table.add_row(row, *cells)
        buffer = io.StringIO()
        Console(file=buffer, force_terminal=color, width=max(100, 14 * (len(table.columns) + 2))).print(rich_table)
        return buffer.getvalue()


class MarkdownRenderer:
    name = "md"
    description = "GitHub-flavoured Markdown table; best value per column in **bold**"

    def render(self, table: Table) -> str:
        header = "| System | " + " | ".join(c.name for c in table.columns) + " |"
        rule = "|---|" + "|".join("---:" for _ in table.columns) + "|"
        lines = [f"**{table.title}**\n" if table.title else "", header, rule]
        for row in table.rows:
            cells = []
            for column in table.columns:
                value = table.values[row].get(column.name)
                text = _cell(value, column)
                cells.append(f"**{text}**" if value is not None and value == table.best(column) else text)
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        return "\n".join(line for line in lines if line) + "\n"


class CsvRenderer:
    name = "csv"
    description = "comma-separated values, full precision"

    def render(self, table: Table) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["system", *[c.name for c in table.columns]])
        for row in table.rows:
            writer.writerow([row, *["" if (v := table.values[row].get(c.name)) is None else repr(v) for c in table.columns]])
        return buffer.getvalue()


class JsonRenderer:
    name = "json"
    description = "JSON: columns (with higher_is_better) and rows"

    def render(self, table: Table) -> str:
        return json.dumps({
            "title": table.title,
            "columns": [{"name": c.name, "higher_is_better": c.higher_is_better} for c in table.columns],
            "rows": [{"system": row, "scores": table.values[row]} for row in table.rows],
        }, indent=2) + "\n"
