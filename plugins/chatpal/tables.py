"""Plain tables for pipeline reports and dataset statistics, rendered to the terminal (rich),
Markdown, CSV and JSON. Cells are strings or numbers; floats are shown with ``decimals``."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass
class SimpleTable:
    """``rows`` are lists aligned with ``columns``; ``name`` is a file-safe id (``table1``)."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    decimals: int = 2
    note: str = ""

    def cell(self, value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.{self.decimals}f}"
        return "" if value is None else str(value)

    def to_markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|")
        for row in self.rows:
            lines.append("| " + " | ".join(self.cell(v).replace("|", "\\|") for v in row) + " |")
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows([["" if v is None else v for v in row] for row in self.rows])
        return buffer.getvalue()

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "columns": self.columns, "rows": self.rows,
                "note": self.note}


def print_tables(tables: Sequence[SimpleTable], file: Any = None) -> None:
    """Print the tables with rich (to stdout unless ``file`` is given)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=file)
    for table in tables:
        shown = Table(title=table.title, caption=table.note or None)
        first = table.rows[0] if table.rows else []
        for index, column in enumerate(table.columns):
            textual = index == 0 or (index < len(first) and isinstance(first[index], str))
            shown.add_column(column, justify="left" if textual else "right")
        for row in table.rows:
            shown.add_row(*[table.cell(v) for v in row])
        console.print(shown)
