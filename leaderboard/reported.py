"""Tables REPORTED in the ChatPal paper (``tasks/paper/*.yaml``), rendered as tables of
their own, never ranked together with escbench's rows, and ``escbench reported``.

A reported-table YAML holds ``title`` (says plainly it is the paper's), ``source`` (which
table of the paper), ``caption``, ``row_header``, ``split`` (what the CSV/JSON rows name as their split), ``columns`` (display-schema names) and
``rows`` (row name -> column -> number). :func:`write_formats` writes any :class:`Table` in
the published formats (md, LaTeX, HTML, CSV, JSON) through the registered renderers
(:func:`escbench.harness.table_files.write_formats`).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from escbench.harness.errors import ConfigError
from escbench.harness.paths import TASKS_DIR
from escbench.harness.table import Table, finite
from escbench.harness.table_files import write_formats

PAPER_DIR = TASKS_DIR / "paper"


def reported_path(name: str = "table5") -> Path:
    path = Path(name)
    return path if path.suffix in (".yaml", ".yml") else PAPER_DIR / f"{name}.yaml"


def load_reported(name: str = "table5") -> Table:
    """The reported table ``name`` (a file in ``tasks/paper/`` or a YAML path) as a Table;
    ConfigError naming the file and the row or column on a malformed entry."""
    import yaml

    from escbench.harness.display import read_display_schema

    path = reported_path(name)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"{path}: cannot read the reported table ({error})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("rows"), dict) or not isinstance(raw.get("columns"), list):
        raise ConfigError(f"{path}: expected a mapping with 'columns' (a list) and 'rows' (row -> column -> value)")
    schema = read_display_schema()
    table = Table(title=str(raw.get("title") or ""), columns=[schema.column(str(c)) for c in raw["columns"]],
                  rows=[], caption=str(raw.get("caption") or ""), row_header=str(raw.get("row_header") or "Method"))
    for row, values in raw["rows"].items():
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: rows.{row}: expected column -> number")
        for column, value in values.items():
            if column not in raw["columns"] or not finite(value):
                raise ConfigError(f"{path}: rows.{row}.{column}: expected a number of a listed column, got {value!r}")
        table.rows.append(str(row))
        table.values[str(row)] = {c.name: values.get(c.name) for c in table.columns}
        if raw.get("split"):
            table.details[str(row)] = {"split": str(raw["split"])}
    table.notes.append(f"Source: {raw.get('source') or path.name}.")
    return table


def configure_reported(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("table", nargs="?", default="table5",
                        help="a table of tasks/paper/ (default: table5) or a reported-table YAML")
    parser.add_argument("--format", default="md", help="md, latex, html, csv, json or terminal (default md)")
    parser.add_argument("--out", type=Path, help="write to this file instead of printing")
    parser.add_argument("--publish", type=Path, metavar="DIR",
                        help="write reported-TABLE.{md,tex,html,csv,json} into DIR")


def run_reported(args: argparse.Namespace) -> int:
    from escbench.harness.plugins import get_host

    table = load_reported(args.table)
    stem = f"reported-{reported_path(args.table).stem}"
    if args.publish:
        for path in write_formats(table, args.publish, stem):
            print(f"wrote {path}", file=sys.stderr)
        return 0
    text = get_host().renderers.get(args.format)().render(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 0
