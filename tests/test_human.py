"""Human evaluation: export anonymised sheets, fill them (here the test plays the raters),
import them into means and Fleiss' kappa that match statsmodels, in every table format."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from escbench.harness.errors import DataError

from human_sheets import SYSTEMS, fill, read_rows, write_rows
from results_data import markdown_cells, write_split


# -- export -----------------------------------------------------------------------------------
def test_export_writes_a_sheet_and_form_per_rater_and_a_key(export):
    key = json.loads((export / "key.json").read_text())
    assert sorted(p.name for p in export.iterdir()) == [
        "guideline.md", "key.json", "rater-1.csv", "rater-1.html", "rater-2.csv", "rater-2.html",
        "rater-3.csv", "rater-3.html", "units.jsonl"]
    assert key["mode"] == "responses" and key["sheets"] == ["rater-1.csv", "rater-2.csv", "rater-3.csv"]
    assert [d["name"] for d in key["dimensions"]] == [
        "Informativeness", "Understanding", "Helpfulness", "Consistency", "Coherence", "Overall"]
    assert len(key["units"]) == 10 * len(SYSTEMS)
    conversations = {}
    for unit in key["units"].values():
        conversations.setdefault(unit["conversation"], []).append(unit)
    assert len(conversations) == 10
    # one reply per system per conversation, all to the same example; ten different dialogues
    assert all(sorted(u["system"] for u in units) == sorted(SYSTEMS) for units in conversations.values())
    assert all(len({u["source_id"] for u in units}) == 1 for units in conversations.values())
    assert len({units[0]["source_id"].rsplit(":", 1)[0] for units in conversations.values()}) == 10


def test_sheets_hide_the_systems_and_shuffle_per_rater(export):
    key = json.loads((export / "key.json").read_text())
    for name in ("rater-1.csv", "rater-1.html", "rater-2.csv", "units.jsonl"):
        text = (export / name).read_text()
        assert not re.search(r"\b(oracle|half|hostile)\b", text), name
    orders = [[row[0] for row in read_rows(export / f"rater-{k}.csv")[1]] for k in (1, 2, 3)]
    assert all(sorted(order) == sorted(key["units"]) for order in orders)
    assert len({tuple(order) for order in orders}) == 3
    # reply order inside a conversation is not the system order
    first_systems = [key["units"][orders[0][i]]["system"] for i in range(0, 30, 3)]
    assert len(set(first_systems)) > 1


def test_same_seed_gives_the_same_export_and_another_seed_another(human, results, export, tmp_path):
    human("human", "export", "--results", results, "--split", "worries", "--n", 10, "--out", tmp_path / "again",
          "--seed", 7)
    human("human", "export", "--results", results, "--split", "worries", "--n", 10, "--out", tmp_path / "other",
          "--seed", 8)
    assert (tmp_path / "again" / "rater-2.csv").read_text() == (export / "rater-2.csv").read_text()
    assert (tmp_path / "again" / "units.jsonl").read_text() == (export / "units.jsonl").read_text()
    assert (tmp_path / "other" / "units.jsonl").read_text() != (export / "units.jsonl").read_text()


def test_export_refuses_a_folder_that_already_holds_one(human, results, export):
    before = (export / "rater-1.csv").read_text()
    status, _, err = human("human", "export", "--results", results, "--split", "worries", "--n", 2, "--out", export)
    assert status == 2
    assert f"{export} already holds an export" in err
    assert (export / "rater-1.csv").read_text() == before


def test_export_needing_more_examples_than_exist_says_so(human, results, tmp_path):
    status, _, err = human("human", "export", "--results", results, "--split", "worries", "--n", 500,
                      "--out", tmp_path / "big")
    assert status == 2
    assert "--n 500: only 24 examples of split 'worries'" in err


def test_sheet_cells_that_look_like_formulas_are_kept_as_text(tmp_path):
    from escbench.harness.guideline import Dimension
    from escbench.plugins.human.sheets import Unit, write_sheet

    unit = Unit("u1", "c01", ({"role": "user", "text": "hi"},), "=HYPERLINK(\"x\")", "s", "d:1")
    write_sheet(tmp_path / "s.csv", [unit], [Dimension("Overall", "Ove.")])
    assert read_rows(tmp_path / "s.csv")[1][0][3] == "'=HYPERLINK(\"x\")"


# -- import -----------------------------------------------------------------------------------
def test_import_gives_means_and_fleiss_kappa_matching_statsmodels(human, export):
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    written = fill(export)
    status, _, _ = human("human", "import", export, "--format", "json")
    assert status == 0
    summary = json.loads((export / "summary.json").read_text())
    key = json.loads((export / "key.json").read_text())
    for dimension in (d["name"] for d in key["dimensions"]):
        for system in SYSTEMS:
            scores = [s[dimension] for sheet in written.values() for unit, s in sheet.items()
                      if key["units"][unit]["system"] == system]
            assert summary["means"][system][dimension] == pytest.approx(sum(scores) / len(scores))
        matrix = [[written[sheet][unit][dimension] for sheet in key["sheets"]] for unit in key["units"]]
        expected = fleiss_kappa(aggregate_raters(matrix, n_cat=4)[0], method="fleiss")
        assert summary["fleiss_kappa"][dimension] == pytest.approx(expected, abs=1e-12)
    assert summary["means"]["oracle"]["Overall"] > summary["means"]["half"]["Overall"] > summary["means"]["hostile"]["Overall"]


@pytest.mark.parametrize("fmt,kappa_label", [("terminal", "κ"), ("md", "| κ |"), ("latex", r"$\kappa$ &"),
                                             ("csv", "\n,κ,"), ("json", '"label": "κ"'), ("html", "<td class=\"system\" data-value=\"κ\">κ</td>")])
def test_table_6_with_its_kappa_row_renders_in_every_format(human, export, fmt, kappa_label):
    fill(export)
    status, out, _ = human("human", "import", export, "--format", fmt)
    assert status == 0
    assert kappa_label in out
    assert "Inf." in out and "Ove." in out and "oracle" in out


def test_table_6_rows_are_systems_and_kappa_is_never_bold(human, export):
    fill(export)
    _, out, _ = human("human", "import", export, "--format", "md")
    cells = markdown_cells(out)
    summary = json.loads((export / "summary.json").read_text())
    assert set(cells) == {"oracle", "half", "hostile", "κ"}
    assert cells["oracle"]["Hel."] == f"**{summary['means']['oracle']['Helpfulness']:.2f}**"
    assert cells["κ"]["Hel."] == f"{summary['fleiss_kappa']['Helpfulness']:.2f}"


def _corrupt(export: Path, sheet: str, row_index: int, column: str, value: str) -> None:
    header, rows = read_rows(export / sheet)
    rows[row_index][header.index(column)] = value
    write_rows(export / sheet, header, rows)


@pytest.mark.parametrize("column,value,message", [
    ("Helpfulness", "", r"row 4, column 'Helpfulness' \(id u\w+\): empty score"),
    ("Coherence", "4", r"row 4, column 'Coherence' \(id u\w+\): score '4' is outside the scale 0-3"),
    ("Overall", "2.5", r"row 4, column 'Overall' \(id u\w+\): score '2.5' is outside the scale"),
    ("Consistency", "good", r"row 4, column 'Consistency' \(id u\w+\): 'good' is not a number"),
    ("id", "u0000000", r"row 4, column 'id': unknown id 'u0000000'"),
])
def test_bad_cells_are_reported_with_sheet_row_and_column(export, column, value, message):
    from escbench.plugins.human.analysis import read_key, read_ratings

    fill(export)
    _corrupt(export, "rater-2.csv", 2, column, value)
    key = read_key(export)
    with pytest.raises(DataError, match=message) as caught:
        read_ratings(export, key, key["sheets"])
    assert str(export / "rater-2.csv") in str(caught.value)


def test_missing_rows_and_repeated_ids_are_reported_together(export):
    from escbench.plugins.human.analysis import read_key, read_ratings

    fill(export)
    header, rows = read_rows(export / "rater-3.csv")
    dropped = rows[5][0]
    rows[5] = list(rows[6])
    write_rows(export / "rater-3.csv", header, rows)
    key = read_key(export)
    with pytest.raises(DataError) as caught:
        read_ratings(export, key, key["sheets"])
    message = str(caught.value)
    assert "2 problem(s)" in message
    assert f"row 8, column 'id': id {rows[6][0]!r} appears a second time" in message  # copy sits in row 7
    assert f"no row for 1 id(s) of the key: {dropped}" in message


def test_missing_dimension_column_and_missing_key_are_clear(export, tmp_path):
    from escbench.plugins.human.analysis import read_key, read_ratings

    header, rows = read_rows(export / "rater-1.csv")
    index = header.index("Understanding")
    write_rows(export / "rater-1.csv", header[:index] + header[index + 1:], [r[:index] + r[index + 1:] for r in rows])
    key = read_key(export)
    with pytest.raises(DataError, match=r"rater-1.csv: row 1 \(header\): missing column\(s\) 'Understanding'"):
        read_ratings(export, key, ["rater-1.csv"])
    with pytest.raises(DataError, match="no key.json here"):
        read_key(tmp_path)


def test_one_sheet_gives_means_and_no_kappa(human, export):
    fill(export, sheets=["rater-1.csv"])
    status, out, _ = human("human", "import", export, "--sheets", "rater-1.csv", "--format", "md")
    assert status == 0
    assert json.loads((export / "summary.json").read_text())["fleiss_kappa"]["Overall"] is None
    assert "| κ | – | – |" in out


# -- dataset quality (paper Table 3) ----------------------------------------------------------
def test_dataset_quality_export_and_import_compare_two_datasets(human, tmp_path):
    alpha = write_split(tmp_path / "data", "alpha", dialogues=6)
    beta = write_split(tmp_path / "data", "beta", dialogues=5, offset=2)
    status, _, _ = human("human", "export", "--datasets", f"{alpha},{beta}", "--n", 4, "--raters", 2,
                      "--out", tmp_path / "quality")
    assert status == 0
    key = json.loads((tmp_path / "quality" / "key.json").read_text())
    assert key["mode"] == "dialogues" and key["systems"] == ["alpha", "beta"]
    assert [d["name"] for d in key["dimensions"]] == [
        "Informativeness", "Understanding", "Helpfulness", "Consistency", "Coherence"]
    assert sorted(u["system"] for u in key["units"].values()) == ["alpha"] * 4 + ["beta"] * 4
    header, _ = read_rows(tmp_path / "quality" / "rater-1.csv")
    assert "reply" not in header and "context" in header
    fill(tmp_path / "quality")
    status, out, _ = human("human", "import", tmp_path / "quality", "--format", "md")
    cells = markdown_cells(out)
    assert list(cells) == ["Informativeness", "Understanding", "Helpfulness", "Consistency", "Coherence"]
    summary = json.loads((tmp_path / "quality" / "summary.json").read_text())
    row = cells["Helpfulness"]
    assert set(row) == {"alpha", "beta", "κ"}
    a, b = summary["means"]["alpha"]["Helpfulness"], summary["means"]["beta"]["Helpfulness"]
    assert row["alpha"].startswith("**") == (round(a, 2) > round(b, 2))
    assert not row["κ"].startswith("**")
