"""Paper Table 8 from an experiment's variant students: one group of rows per fine-tuning
method (and DRI use), a row without (✗) and with (✓) strategy tags, the paper's columns
(METEOR, B-4, R-L, Extrema, D-2, D-3; those the experiment scored). Values come from the
variants' results records on the first test split; a variant equal to a main student is read
from that student's records."""
from __future__ import annotations

import json
from pathlib import Path

from escbench.harness.table import PAPER_COLUMNS, Table

from .invoke import StageError
from .stage_models import METHOD_NAMES


def _record(folder: Path, split: str) -> dict:
    for path in sorted(folder.glob("*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("schema") and record["split"]["name"] == split:
            return record
    raise StageError(f"Table 8: no results record of split {split!r} in {folder}")


def group_name(variant: dict) -> str:
    return METHOD_NAMES[variant["method"]] + ("" if variant["dri"] else ", w/o DRI")


def table8(ctx, variants: list[dict], split: str) -> Table:
    """The Table 8 of ``variants`` (see module doc)."""
    from escbench.harness.display import read_display_schema

    from .units import variant_folder
    from .stage_models import variant_student

    method = str(ctx.experiment.stage("train").get("method", "lora"))
    records = {}
    for variant in variants:
        folder = ctx.folder(f"evaluate/{variant_folder(variant, variant_student(variant, method))}")
        records[(group_name(variant), variant["tags"])] = _record(folder, split)
    scored = {c for r in records.values() for c, v in r["scores"].items() if v is not None}
    schema = read_display_schema()
    table = Table(title="Table 8: fine-tuning methods without (✗) and with (✓) strategy tags",
                  columns=[schema.column(c) for c in PAPER_COLUMNS if c in scored], rows=[],
                  row_header="Stra?", group_header="Method")
    for group in dict.fromkeys(g for g, _ in records):
        keys = []
        for tags in (False, True):
            if (group, tags) in records:
                key = f"{group} · {'✓' if tags else '✗'}"
                record = records[(group, tags)]
                table.rows.append(key)
                table.row_labels[key] = "✓" if tags else "✗"
                table.values[key] = {c.name: record["scores"].get(c.name) for c in table.columns}
                keys.append(key)
        table.groups.append((group, keys))
    n = next(iter(records.values()))["split"]["n_examples"]
    base = ctx.experiment.stage("train").get("base", "smollm2")
    table.caption = (f"ChatPal students of base {base} on split {split} ({n} examples), experiment "
                     f"{ctx.experiment.name}.")
    return table
