"""Rating sheets for the human-evaluation tests: read and write a sheet, and play the raters
(scores near each system's quality, with noise). A helper module (not a test module)."""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path

SYSTEMS = ("oracle", "half", "hostile")
QUALITY = {"oracle": 3, "half": 2, "hostile": 0, "alpha": 2, "beta": 1}


def read_rows(sheet: Path) -> tuple[list[str], list[list[str]]]:
    with open(sheet, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def write_rows(sheet: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(sheet, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])


def fill(folder: Path, seed: int = 0, sheets: list[str] | None = None) -> dict[str, dict[str, dict[str, int]]]:
    """Play the raters: a score near each system's quality, with rater noise. Returns
    ``{sheet: {unit: {dimension: score}}}`` as written."""
    key = json.loads((folder / "key.json").read_text())
    dimensions = [d["name"] for d in key["dimensions"]]
    rng = random.Random(seed)
    written = {}
    for sheet in sheets or key["sheets"]:
        header, rows = read_rows(folder / sheet)
        written[sheet] = {}
        for row in rows:
            quality = QUALITY[key["units"][row[0]]["system"]]
            scores = {d: min(3, max(0, quality + rng.choice((-1, 0, 0, 0, 1)))) for d in dimensions}
            for name, score in scores.items():
                row[header.index(name)] = str(score)
            written[sheet][row[0]] = scores
        write_rows(folder / sheet, header, rows)
    return written
