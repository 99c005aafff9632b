"""``escbench human import``: validated sheets -> per-system means and Fleiss' κ per dimension,
as a leaderboard Table (paper Table 6 for replies, Table 3 for datasets)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from escbench.harness.display import DisplaySchema
from escbench.harness.errors import DataError
from escbench.harness.guideline import Dimension
from escbench.harness.table import Column, Table

from .export import KEY_FILE, KEY_SCHEMA
from .sheets import read_sheet


@dataclass
class HumanResults:
    """Means ``means[system][dimension]`` over every rating of every sheet, Fleiss' κ per
    dimension over all units (None with fewer than two sheets); ``kappa_with`` holds κ
    recomputed with extra sheets (e.g. an LLM judge) added to the raters."""

    mode: str
    dimensions: list[Dimension]
    systems: list[str]
    sheets: list[str]
    means: dict[str, dict[str, float]]
    kappa: dict[str, float | None]
    n_units: int
    scale: list[int]
    kappa_with: dict[str, dict[str, float | None]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"mode": self.mode, "dimensions": [d.name for d in self.dimensions], "systems": self.systems,
                "sheets": self.sheets, "n_units": self.n_units, "scale": self.scale, "means": self.means, "fleiss_kappa": self.kappa,
                "fleiss_kappa_with": self.kappa_with}


def read_key(folder: Path) -> dict:
    """The export's key file; DataError naming the folder when it is absent or not a key."""
    path = Path(folder) / KEY_FILE
    try:
        key = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"no {KEY_FILE} here: is this a folder written by `escbench human export`?", path=str(folder)) from None
    except (OSError, json.JSONDecodeError) as error:
        raise DataError(f"cannot read the key: {error}", path=str(path)) from None
    if not isinstance(key, dict) or key.get("schema") != KEY_SCHEMA:
        raise DataError(f"not an escbench human-evaluation key (expected schema {KEY_SCHEMA!r})", path=str(path))
    return key


def read_ratings(folder: Path, key: dict, sheets: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    """``{sheet: {unit: {dimension: score}}}`` for the named sheets (relative to ``folder``)."""
    dimensions = [Dimension(d["name"], d["short"]) for d in key["dimensions"]]
    ratings = {}
    for sheet in sheets:
        path = Path(folder) / sheet
        if not path.exists():
            raise DataError("sheet not found (listed in key.json or --sheets)", path=str(path))
        ratings[sheet] = read_sheet(path, list(key["units"]), dimensions, key["scale"])
    return ratings


def fleiss_by_dimension(key: dict, ratings: dict[str, dict[str, dict[str, int]]]) -> dict[str, float | None]:
    """Fleiss' κ per dimension: items are the key's units, raters the given sheets."""
    from escbench.harness.agreement import fleiss_kappa, ratings_to_table

    out: dict[str, float | None] = {}
    for dimension in key["dimensions"]:
        name = dimension["name"]
        if len(ratings) < 2:
            out[name] = None
            continue
        per_unit = [[ratings[sheet][unit][name] for sheet in ratings] for unit in key["units"]]
        out[name] = fleiss_kappa(ratings_to_table(per_unit, key["scale"]))
    return out


def analyse(key: dict, ratings: dict[str, dict[str, dict[str, int]]]) -> HumanResults:
    dimensions = [Dimension(d["name"], d["short"]) for d in key["dimensions"]]
    totals: dict[str, dict[str, list[int]]] = {s: {d.name: [] for d in dimensions} for s in key["systems"]}
    for sheet_ratings in ratings.values():
        for unit, scores in sheet_ratings.items():
            system = key["units"][unit]["system"]
            for name, score in scores.items():
                totals[system][name].append(score)
    means = {system: {name: sum(v) / len(v) for name, v in by_dim.items() if v} for system, by_dim in totals.items()}
    return HumanResults(key["mode"], dimensions, list(key["systems"]), list(ratings), means,
                        fleiss_by_dimension(key, ratings), len(key["units"]), list(key["scale"]))


def results_table(results: HumanResults, schema: DisplaySchema, title: str = "") -> Table:
    """Paper Table 6 (rows: systems; columns: dimensions; a κ footer row) for replies, or
    paper Table 3 (rows: dimensions; columns: datasets then κ, best marked per row)."""
    kappa_rows = {"κ": results.kappa, **{f"κ with {label}": values for label, values in results.kappa_with.items()}}
    if results.mode == "dialogues":
        columns = [Column(system, decimals=2) for system in results.systems]
        columns += [Column(label, decimals=2, ranked=False) for label in kappa_rows]
        table = Table(title=title or "Human evaluation of dialogue quality", columns=columns,
                      rows=[d.name for d in results.dimensions], row_header="", compare="row")
        for dimension in results.dimensions:
            table.values[dimension.name] = {system: results.means[system].get(dimension.name) for system in results.systems}
            table.values[dimension.name].update({label: values.get(dimension.name) for label, values in kappa_rows.items()})
    else:
        columns = [schema.column(d.short) for d in results.dimensions]
        table = Table(title=title or "Human evaluation", columns=columns, rows=list(results.systems),
                      footer=list(kappa_rows))
        for system in results.systems:
            table.values[system] = {d.short: results.means[system].get(d.name) for d in results.dimensions}
        for label, values in kappa_rows.items():
            table.values[label] = {d.short: values.get(d.name) for d in results.dimensions}
    table.caption = (f"Scores from {min(results.scale)} to {max(results.scale)}, averaged over every rating in "
                     f"{len(results.sheets)} sheet(s) of {results.n_units} rated units; κ: Fleiss' kappa per dimension.")
    return table
