"""Rating sheets: one CSV per rater, one row per rated unit (a reply, or a whole dialogue).

Columns: ``id`` (anonymous unit id), ``conversation`` (label shared by the replies to one
conversation), ``context`` and ``reply`` (text; only ``context`` in dialogue mode), one
column per dimension (whole numbers on the scale), ``comment``. Reading needs only ``id``
and the dimension columns, so the CSV the HTML form saves is a valid sheet too.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from escbench.harness.errors import DataError
from escbench.harness.guideline import Dimension

ROLE_NAMES = {"user": "Seeker", "ai": "Supporter"}
MAX_LISTED = 20


@dataclass(frozen=True)
class Unit:
    """One thing raters score. ``system`` and ``source_id`` go to the key file only."""

    id: str
    item: str
    context: tuple[dict, ...]
    reply: str | None
    system: str
    source_id: str

    def public(self) -> dict:
        """What raters and judges may see (no system name)."""
        return {"id": self.id, "conversation": self.item, "context": list(self.context), "reply": self.reply}


def conversation_text(turns: Sequence[dict]) -> str:
    return "\n".join(f"{ROLE_NAMES.get(t.get('role'), t.get('role'))}: {t.get('text', '')}" for t in turns)


def _as_text_cell(text: str) -> str:
    """Text a spreadsheet will not read as a formula (model output may start with ``=``)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_sheet(path: Path, units: Sequence[Unit], dimensions: Sequence[Dimension],
                scores: dict[str, dict[str, int]] | None = None) -> None:
    """Write a sheet with empty score cells (or ``scores[unit id][dimension]`` filled in)."""
    with_reply = any(u.reply is not None for u in units)
    header = ["id", "conversation", "context", *(["reply"] if with_reply else []),
              *[d.name for d in dimensions], "comment"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for unit in units:
            filled = (scores or {}).get(unit.id, {})
            writer.writerow([unit.id, unit.item, _as_text_cell(conversation_text(unit.context)),
                             *([_as_text_cell(unit.reply or "")] if with_reply else []),
                             *[filled.get(d.name, "") for d in dimensions], ""])


def _score(raw: str, scale: Sequence[int]) -> int | str:
    """The score in a cell, or the problem with it."""
    text = (raw or "").strip()
    if not text:
        return f"empty score; fill in one of {', '.join(map(str, scale))}"
    try:
        number = float(text)
    except ValueError:
        return f"{text!r} is not a number; use one of {', '.join(map(str, scale))}"
    if number != int(number) or int(number) not in scale:
        return f"score {text!r} is outside the scale {min(scale)}-{max(scale)} (whole numbers only)"
    return int(number)


def read_sheet(path: Path, expected_ids: Sequence[str], dimensions: Sequence[Dimension],
               scale: Sequence[int]) -> dict[str, dict[str, int]]:
    """``{unit id: {dimension: score}}`` from a filled sheet. Every problem (missing column,
    unknown or repeated id, empty or out-of-range cell, ids with no row) is collected and
    raised as one DataError naming the sheet, the row (header = row 1) and the column."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except OSError as error:
        raise DataError(f"cannot read sheet: {error}", path=str(path)) from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"not a UTF-8 CSV file ({error})", path=str(path)) from None
    if not rows:
        raise DataError("empty sheet (no header row)", path=str(path))
    header = [cell.strip() for cell in rows[0]]
    missing_columns = [name for name in ["id", *[d.name for d in dimensions]] if name not in header]
    if missing_columns:
        raise DataError(f"row 1 (header): missing column(s) {', '.join(map(repr, missing_columns))}; "
                        f"the header has {header}", path=str(path))
    position = {name: header.index(name) for name in header[::-1]}
    known = set(expected_ids)
    problems: list[str] = []
    ratings: dict[str, dict[str, int]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = row + [""] * (len(header) - len(row))
        unit = cells[position["id"]].strip()
        if unit not in known:
            problems.append(f"row {number}, column 'id': unknown id {unit!r} (not in this export's key.json)")
            continue
        if unit in ratings:
            problems.append(f"row {number}, column 'id': id {unit!r} appears a second time")
            continue
        scores = {}
        for dimension in dimensions:
            score = _score(cells[position[dimension.name]], scale)
            if isinstance(score, str):
                problems.append(f"row {number}, column {dimension.name!r} (id {unit}): {score}")
            else:
                scores[dimension.name] = score
        ratings[unit] = scores
    absent = [unit for unit in expected_ids if unit not in ratings]
    if absent:
        listed = ", ".join(absent[:MAX_LISTED]) + (" ..." if len(absent) > MAX_LISTED else "")
        problems.append(f"no row for {len(absent)} id(s) of the key: {listed}")
    if problems:
        shown = problems[:MAX_LISTED] + ([f"... and {len(problems) - MAX_LISTED} more"] if len(problems) > MAX_LISTED else [])
        raise DataError(f"{len(problems)} problem(s):\n  " + "\n  ".join(shown), path=str(path))
    return ratings
