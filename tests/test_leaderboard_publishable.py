"""Issue #14: numbers a leaderboard can publish. Intervals only from samples that reproduce
the record, non-finite values, tidy CSV/JSON, escaping in every format (checked by pdflatex,
markdown-it and pandas rather than by our own string tests), terminal emphasis on a TTY,
tolerant and precise reading of results folders."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from escbench.harness.errors import DataError
from escbench.harness.display import read_display_schema
from escbench.leaderboard.tables import leaderboard_tables

from conftest import run_cli
from results_data import ONLY_LEADERBOARD, make_results, records_in, write_split

COLUMNS = ["METEOR", "B-4", "R-L", "Extrema", "D-1", "D-2", "D-3"]


def _record(name: str, split: str = "test", **scores) -> dict:
    values = {c: 10.0 + len(name) + i for i, c in enumerate(COLUMNS)}
    values.update(scores)
    return {"schema": "escbench.results/1", "system": {"name": name}, "split": {"name": split},
            "scores": values, "counts": {"examples": 42}}


def _tables(records: list[dict], **options):
    return leaderboard_tables(records, [None] * len(records), schema=read_display_schema(), **options)


# -- 2. intervals only from samples that reproduce the record ------------------------------
@pytest.fixture
def two_systems(host, tmp_path) -> Path:
    split = write_split(tmp_path / "data", "worries", dialogues=12)
    out = tmp_path / "results"
    make_results(host, out, [("oracle", {}), ("half", {})], splits=(str(split),))
    return out


def _annotated(host, folder: Path):
    from escbench.leaderboard.significance import annotate_uncertainty

    records, sources = records_in(folder)
    table = leaderboard_tables(records, sources, columns=["R-L", "B-4", "D-2"], schema=read_display_schema())[0]
    annotate_uncertainty(table, host, intervals=True, significance=True, resamples=200, seed=1)
    return table


def test_an_edited_score_gets_no_interval_and_a_note_naming_the_record(host, two_systems):
    path = two_systems / "half__worries.json"
    record = json.loads(path.read_text())
    record["scores"]["R-L"] = 99.0
    path.write_text(json.dumps(record))
    table = _annotated(host, two_systems)
    assert "R-L" not in table.intervals.get("half", {})
    assert "B-4" in table.intervals["half"] and "R-L" in table.intervals["oracle"]
    assert "R-L" not in table.marks.get("half", {}) and "R-L" not in table.marks.get("oracle", {})
    note = next(n for n in table.notes if n.startswith("No interval"))
    assert str(path) in note and "99" in note and "R-L" in note


def test_a_truncated_samples_file_gives_no_interval_for_its_row(host, two_systems):
    samples = two_systems / "half__worries.samples.jsonl"
    lines = samples.read_text().splitlines()
    samples.write_text("\n".join(lines[: len(lines) // 2]) + "\n")
    table = _annotated(host, two_systems)
    assert table.intervals.get("half", {}) == {} and "half" not in table.marks
    assert table.intervals["oracle"]
    note = next(n for n in table.notes if n.startswith("No interval"))
    assert "half__worries.json" in note and f"{len(lines) // 2} examples" in note and f"counts {len(lines)}" in note


def test_samples_of_other_examples_are_refused_by_their_hash(host, two_systems):
    samples = two_systems / "half__worries.samples.jsonl"
    rows = [json.loads(line) for line in samples.read_text().splitlines()]
    rows[0]["reference"] = "A different reference entirely."
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = _annotated(host, two_systems)
    assert table.intervals.get("half", {}) == {}
    assert any("hash differs" in n for n in table.notes)


def test_distinct_intervals_printed_beside_a_value_contain_it(host, two_systems):
    table = _annotated(host, two_systems)
    for row in table.rows:
        low, high = table.intervals[row]["D-2"]
        assert low <= table.values[row]["D-2"] <= high


# -- 3. non-finite values ----------------------------------------------------------------
def _strict_loads(text: str):
    def refuse(constant):
        raise ValueError(f"non-strict JSON constant {constant}")
    return json.loads(text, parse_constant=refuse)


def test_non_finite_scores_are_dashes_never_bold_and_json_stays_strict():
    from escbench.leaderboard.renderers import JsonRenderer, MarkdownRenderer

    records = [_record("alpha", METEOR=float("nan")), _record("beta", METEOR=float("inf")),
               _record("gamma", METEOR=30.0), _record("delta", METEOR=20.0)]
    table = _tables(records, columns=["METEOR"])[0]
    column = table.columns[0]
    assert table.text("alpha", column) == "–" and table.text("beta", column) == "–"
    assert table.emphasis("beta", column) is None and table.emphasis("gamma", column) == "best"
    assert any("alpha" in n and "nan" in n for n in table.notes) and any("inf" in n for n in table.notes)
    document = _strict_loads(JsonRenderer().render(table))
    scores = {r["system"]: r["scores"]["METEOR"] for r in document["tables"][0]["rows"]}
    assert scores == {"alpha": None, "beta": None, "gamma": 30.0, "delta": 20.0}
    assert "**30.00**" in MarkdownRenderer().render(table)


# -- 4. tidy exports ---------------------------------------------------------------------
def test_multi_split_csv_is_long_form_with_numeric_values_and_a_wide_file_beside_it():
    pandas = pytest.importorskip("pandas")
    from escbench.leaderboard.renderers import CsvRenderer, WideCsvRenderer

    records = [_record("alpha", "one"), _record("beta", "one"), _record("alpha", "two")]
    tables = _tables(records, columns=["METEOR", "D-2"])
    long = pandas.read_csv(io.StringIO(CsvRenderer().render_many(tables)))
    assert len(long) == 3 * 2 and set(long["split"]) == {"one", "two"}
    assert long["value"].dtype.kind == "f" and long["n"].dtype.kind == "i"
    row = long[(long.split == "two") & (long.system == "alpha") & (long.column == "D-2")].iloc[0]
    assert row["value"] == records[2]["scores"]["D-2"] and bool(row["higher_is_better"])
    wide = pandas.read_csv(io.StringIO(WideCsvRenderer().render_many(tables)))
    assert list(wide.columns) == ["split", "system", "METEOR", "D-2"] and len(wide) == 3
    assert wide["METEOR"].dtype.kind == "f"


def test_json_has_one_shape_for_one_split_or_several():
    from escbench.leaderboard.renderers import JsonRenderer

    records = [_record("alpha", "one"), _record("alpha", "two")]
    one = _strict_loads(JsonRenderer().render(_tables(records, splits=["one"])[0]))
    both = _strict_loads(JsonRenderer().render_many(_tables(records)))
    assert set(one) == set(both) == {"tables", "rows"}
    assert len(one["tables"]) == 1 and len(both["tables"]) == 2
    assert {r["split"] for r in both["rows"]} == {"one", "two"}
    assert set(one["rows"][0]) == {"split", "system", "column", "value", "low", "high", "n",
                                   "higher_is_better", "best", "mark"}


def test_publish_writes_long_and_wide_csv_that_pandas_reads_as_numbers(tmp_path, host):
    pandas = pytest.importorskip("pandas")
    first = write_split(tmp_path / "data", "worries", dialogues=3)
    second = write_split(tmp_path / "data", "troubles", dialogues=3, offset=2)
    make_results(host, tmp_path / "results", [("half", {})], splits=(str(first), str(second)))
    done = run_cli("leaderboard", str(tmp_path / "results"), "--publish", str(tmp_path / "pub"), env=ONLY_LEADERBOARD)
    assert done.returncode == 0, done.stderr
    long = pandas.read_csv(tmp_path / "pub" / "leaderboard.csv")
    assert long["value"].dtype.kind == "f" and set(long["split"]) == {"worries", "troubles"}
    wide = pandas.read_csv(tmp_path / "pub" / "leaderboard-wide.csv")
    assert wide["B-4"].dtype.kind == "f" and list(wide["split"]) == ["troubles", "worries"]


# -- 5. LaTeX, Markdown, CSV, terminal ------------------------------------------------------
def _pdflatex(tmp_path: Path, body: str, options: str = "", packages: str = "booktabs,graphicx"):
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (Debian: texlive-latex-base texlive-latex-recommended; "
                    "`make test` installs them when run as root)")
    document = tmp_path / "doc.tex"
    document.write_text(f"\\documentclass[{options}]{{article}}\n\\usepackage{{{packages}}}\n"
                        f"\\begin{{document}}\n{body}\n\\end{{document}}\n", encoding="utf-8")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", document.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180, errors="replace")
    log = (tmp_path / "doc.log").read_text(errors="replace")
    return done.returncode, log


def test_latex_keeps_every_character_and_compiles_names_starting_with_a_bracket(tmp_path):
    from escbench.leaderboard.latex import LatexRenderer, latex_escape

    names = ["[baseline] model", "Café-naïve Ångström ß", "日本語モデル", "α-β ł 😀", "100% & #1 {x}_y"]
    escaped = [latex_escape(n) for n in names]
    assert not any("?" in e for e in escaped)
    assert r"\texttt{U+65E5}" in escaped[2] and r"\texttt{U+1F600}" in escaped[3] and r"\'{e}" in escaped[1]
    records = [_record(name, METEOR=50.0 - i) for i, name in enumerate(names)]
    table = _tables(records, columns=["METEOR", "B-4"], caption="Systems: 日本, [x] & Ω")[0]
    latex = LatexRenderer().render(table)
    code, log = _pdflatex(tmp_path, latex)
    assert code == 0, log[-3000:]
    assert "Missing character" not in log and "not set up for use with LaTeX" not in log


def _ci_table():
    records = [_record(f"system-{i}") for i in range(4)]
    table = _tables(records, columns=COLUMNS)[0]
    for row in table.rows:
        table.intervals[row] = {c: (table.values[row][c] - 1.23456, table.values[row][c] + 1.23456) for c in COLUMNS}
    table.marks[table.rows[0]] = {"METEOR": "†"}
    return table


def test_latex_width_option_makes_a_ci_table_fit_one_and_two_column_papers(tmp_path):
    from escbench.leaderboard.latex import LatexRenderer

    table = _ci_table()
    code, log = _pdflatex(tmp_path, LatexRenderer().render(table))
    assert code == 0 and "Overfull \\hbox" in log  # the plain table is too wide for one column
    code, log = _pdflatex(tmp_path, LatexRenderer(width="fit").render(table))
    assert code == 0 and "Overfull \\hbox" not in log, log[-2000:]
    code, log = _pdflatex(tmp_path, "Text.\n" + LatexRenderer(width="page").render(table),
                          options="twocolumn")
    assert code == 0 and "Overfull \\hbox" not in log, log[-2000:]


def test_latex_labels_are_unique_when_two_splits_share_a_title(tmp_path):
    import re

    from escbench.leaderboard.latex import LatexRenderer

    records = [_record("alpha", "one"), _record("alpha", "two")]
    latex = LatexRenderer().render_many(_tables(records, title="Results"))
    labels = re.findall(r"\\label\{([^}]*)\}", latex)
    assert len(labels) == 2 and len(set(labels)) == 2
    code, log = _pdflatex(tmp_path, latex)
    assert code == 0 and "multiply defined" not in log


def test_markdown_escapes_pipes_newlines_backticks_and_links():
    from markdown_it import MarkdownIt

    from escbench.leaderboard.renderers import MarkdownRenderer

    names = ["a|b", "two\nlines", "`code` *star* _under_", "[click](http://x.invalid)"]
    records = [_record(name, METEOR=40.0 - i) for i, name in enumerate(names)]
    table = _tables(records, columns=["METEOR", "B-4"])[0]
    html = MarkdownIt("commonmark").enable("table").render(MarkdownRenderer().render(table))
    assert html.count("<tr>") == len(names) + 1
    assert html.count("<td") == 3 * len(names)  # every row kept its three cells
    body = html.split("<table>")[1].split("</table>")[0]
    assert "<a " not in body and "<code>" not in body and "<em>" not in body
    assert "a|b" in html and "two<br>lines" in html.replace("&lt;br&gt;", "<br>")
    assert "[click](http://x.invalid)" in html and "`code` *star* _under_" in html


def test_csv_text_cells_cannot_become_spreadsheet_formulas():
    import csv

    from escbench.leaderboard.renderers import CsvRenderer, WideCsvRenderer

    names = ["=HYPERLINK(\"http://x.invalid\")", "+1", "-cmd", "@SUM(A1)", "plain"]
    records = [_record(name, METEOR=-5.0 + i) for i, name in enumerate(names)]
    table = _tables(records, columns=["METEOR"])[0]
    for renderer in (CsvRenderer(), WideCsvRenderer()):
        rows = list(csv.DictReader(io.StringIO(renderer.render(table))))
        systems = {r["system"] for r in rows}
        assert systems == {"'" + n for n in names[:4]} | {"plain"}
    long = list(csv.DictReader(io.StringIO(CsvRenderer().render(table))))
    assert sorted(float(r["value"]) for r in long) == [-5.0, -4.0, -3.0, -2.0, -1.0]  # numbers untouched


def test_terminal_renderer_shows_bold_and_underline_on_a_tty(tmp_path):
    import pty
    import select

    from escbench.leaderboard.renderers import TerminalRenderer

    table = _tables([_record("alpha", METEOR=3.0), _record("beta", METEOR=2.0), _record("gamma", METEOR=1.0)],
                    columns=["METEOR"], second=True)[0]
    shown = TerminalRenderer().render(table, color=True)
    assert "\x1b[1m" in shown and "\x1b[4m" in shown
    plain = TerminalRenderer().render(table)
    assert "\x1b[" not in plain and "3.00*" in plain and "2.00°" in plain
    # The command on a real terminal (a pty) shows them too.
    folder = tmp_path / "results"
    folder.mkdir()
    for record in (_record("alpha", METEOR=3.0), _record("beta", METEOR=2.0), _record("gamma", METEOR=1.0)):
        (folder / f"{record['system']['name']}.json").write_text(json.dumps(record))
    leader, follower = pty.openpty()
    env = {**os.environ, **ONLY_LEADERBOARD, "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "escbench.harness.cli", "leaderboard", str(folder), "--second",
                                "--columns", "METEOR"], stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    output = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=60)
    os.close(leader)
    assert process.returncode == 0, process.stderr.read()
    assert b"\x1b[1m" in output and b"\x1b[4m" in output


# -- 9. tolerant and precise input -----------------------------------------------------------
def test_unreadable_empty_and_future_schema_files_are_skipped_with_a_warning(tmp_path, capsys):
    from escbench.harness.collect import collect_records

    (tmp_path / "good.json").write_text(json.dumps(_record("alpha")))
    (tmp_path / "truncated.json").write_text(json.dumps(_record("beta"))[:40])
    (tmp_path / "empty.json").write_text("")
    future = _record("gamma")
    future["schema"] = "escbench.results/99"
    (tmp_path / "future.json").write_text(json.dumps(future))
    records, sources = collect_records([tmp_path])
    assert [r["system"]["name"] for r in records] == ["alpha"]
    warnings = capsys.readouterr().err
    for name in ("truncated.json", "empty.json", "future.json"):
        assert f"warning: skipped {tmp_path / name}" in warnings
    assert "escbench.results/99" in warnings


@pytest.mark.parametrize("edit, field", [
    (lambda r: r["scores"].update({"METEOR": "52.1"}), "scores.METEOR"),
    (lambda r: r.pop("split"), "split.name"),
    (lambda r: r.update({"scores": [1.0, 2.0]}), "'scores'"),
    (lambda r: r.update({"system": {"name": 7}}), "system.name"),
])
def test_a_malformed_record_is_an_error_naming_the_file_and_field(tmp_path, edit, field):
    from escbench.harness.collect import collect_records

    record = _record("alpha")
    edit(record)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(record))
    with pytest.raises(DataError) as caught:
        collect_records([tmp_path])
    assert str(path) in str(caught.value) and field in str(caught.value)


def test_the_leaderboard_command_renders_the_rest_when_one_file_is_truncated(tmp_path):
    (tmp_path / "good.json").write_text(json.dumps(_record("alpha")))
    (tmp_path / "cut.json").write_text("{\"schema\": \"escbench.res")
    done = run_cli("leaderboard", str(tmp_path), "--format", "md", env=ONLY_LEADERBOARD)
    assert done.returncode == 0, done.stderr
    assert "| alpha |" in done.stdout and "cut.json" in done.stderr
