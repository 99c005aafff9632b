"""Leaderboard tables: record collection, display schema, emphasis, formats, multi-split view,
bootstrap marks. Records are made by the runner with small in-process systems (helpers here
are shared with the other leaderboard and human-evaluation tests)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from escbench.harness.errors import ConfigError, UnknownNameError
from escbench.harness.plugins import PluginHost
from escbench.harness.results import read_record
from escbench.harness.table import table_from_records
from escbench.harness.display import read_display_schema
from escbench.leaderboard.tables import leaderboard_tables

from conftest import run_cli
from results_data import ONLY_LEADERBOARD, make_results, markdown_cells, records_in, write_split

@pytest.fixture
def three_systems(host, tmp_path) -> Path:
    out = tmp_path / "results"
    make_results(host, out, [("parrot", {}), ("oracle", {}), ("half", {})])
    return out


def _shown(record: dict, column: str, decimals: int) -> str:
    return f"{record['scores'][column]:.{decimals}f}"


# -- collection -------------------------------------------------------------------------
def test_best_value_is_bold_and_second_best_underlined_in_markdown(three_systems):
    records, sources = records_in(three_systems)
    table = leaderboard_tables(records, sources, schema=read_display_schema(), second=True)[0]
    cells = markdown_cells(table_markdown(table))
    by_system = {r["system"]["name"]: r for r in records}
    assert by_system["oracle"]["scores"]["R-L"] > by_system["half"]["scores"]["R-L"] > by_system["parrot"]["scores"]["R-L"]
    assert cells["oracle"]["R-L"] == f"**{_shown(by_system['oracle'], 'R-L', 2)}**"
    assert cells["half"]["R-L"] == f"<u>{_shown(by_system['half'], 'R-L', 2)}</u>"
    assert cells["parrot"]["R-L"] == _shown(by_system["parrot"], "R-L", 2)
    assert cells["oracle"]["B-4"] == f"**{_shown(by_system['oracle'], 'B-4', 3)}**"


def table_markdown(table) -> str:
    from escbench.leaderboard.renderers import MarkdownRenderer

    return MarkdownRenderer().render(table)


def test_shipped_display_schema_shows_the_paper_columns_in_paper_order(three_systems):
    records, sources = records_in(three_systems)
    table = leaderboard_tables(records, sources, schema=read_display_schema())[0]
    # METEOR and Extrema were not run; D-1 and Words are scored but outside the default set.
    assert [c.name for c in table.columns] == ["B-4", "R-L", "D-2", "D-3"]
    assert [c.decimals for c in table.columns] == [3, 2, 2, 2]
    everything = leaderboard_tables(records, sources, columns=["all"], schema=read_display_schema())[0]
    # Columns keep their natural order: D-1 before D-2 and D-3 (issue #14).
    assert [c.name for c in everything.columns][:5] == ["B-4", "R-L", "D-1", "D-2", "D-3"]
    assert "Words" in {c.name for c in everything.columns}


def test_display_schema_renames_columns_and_can_flip_the_direction(three_systems, tmp_path):
    schema_file = tmp_path / "display.yaml"
    schema_file.write_text("default_columns: [Words, R-L]\nother_columns: false\ncolumns:\n"
                           "  R-L: {display: ROUGE-L, decimals: 1, description: longest common subsequence}\n"
                           "  Words: {display: Length, higher_is_better: false, decimals: 0}\n")
    records, sources = records_in(three_systems)
    table = leaderboard_tables(records, sources, schema=read_display_schema(schema_file))[0]
    assert [(c.header, c.decimals, c.higher_is_better) for c in table.columns] == [
        ("Length", 0, False), ("ROUGE-L", 1, True)]
    shortest = min(records, key=lambda r: r["scores"]["Words"])["system"]["name"]
    assert table.emphasis(shortest, table.columns[0]) == "best"
    text = table_markdown(table)
    assert "| System | Length | ROUGE-L |" in text


def test_malformed_display_schema_names_file_and_column(tmp_path):
    schema_file = tmp_path / "display.yaml"
    schema_file.write_text("columns:\n  B-4: {decimal: 3}\n")
    with pytest.raises(ConfigError, match=r"display.yaml: column 'B-4'.*decimals"):
        read_display_schema(schema_file)


def test_duplicate_records_resolve_to_the_newest(host, tmp_path):
    make_results(host, tmp_path / "a", [("oracle", {})])
    make_results(host, tmp_path / "b", [("oracle", {})])
    older = tmp_path / "a" / "oracle__parrot_mini.json"
    record = read_record(older)
    record["created_at"] = "2020-01-01T00:00:00+00:00"
    older.write_text(json.dumps(record))
    records, sources = records_in(tmp_path)
    table = leaderboard_tables(records, sources)[0]
    assert table.rows == ["oracle"]
    assert table.details["oracle"]["source"] == str(tmp_path / "b" / "oracle__parrot_mini.json")


def test_same_system_with_conflicting_configs_is_an_error_naming_both_files(host, tmp_path):
    make_results(host, tmp_path / "a", [("parrot", {})])
    make_results(host, tmp_path / "b", [("parrot", {"prefix": "You said: "})])
    records, sources = records_in(tmp_path)
    with pytest.raises(ConfigError) as caught:
        leaderboard_tables(records, sources)
    message = str(caught.value)
    assert "a/parrot__parrot_mini.json" in message and "b/parrot__parrot_mini.json" in message
    assert "system configuration" in message


def test_systems_scored_on_different_example_sets_get_a_warning(host, tmp_path):
    make_results(host, tmp_path / "a", [("oracle", {})])
    make_results(host, tmp_path / "b", [("half", {})], limit=2)
    records, sources = records_in(tmp_path)
    table = leaderboard_tables(records, sources)[0]
    assert table.notes == ["Warning: systems on split parrot_mini were scored on different example sets "
                           "(e.g. a different --limit); their scores are not comparable."]
    assert table.notes[0] in table_markdown(table).replace("\\_", "_")


def test_unknown_split_and_column_are_errors_listing_the_known_ones(three_systems):
    records, sources = records_in(three_systems)
    with pytest.raises(UnknownNameError, match="parrot_mini"):
        leaderboard_tables(records, sources, splits=["parot_mini"])
    with pytest.raises(UnknownNameError, match="Did you mean 'R-L'"):
        leaderboard_tables(records, sources, columns=["R-K"])


def test_multi_split_view_groups_rows_per_split_and_ranks_within_each(host, tmp_path):
    other = write_split(tmp_path / "data", "worries", dialogues=4)
    make_results(host, tmp_path / "results", [("parrot", {}), ("half", {})], splits=("parrot_mini", str(other)))
    records, sources = records_in(tmp_path / "results")
    table = leaderboard_tables(records, sources, splits=["worries", "parrot_mini"], by_split=True,
                               schema=read_display_schema())[0]
    assert [label for label, _ in table.groups] == ["worries", "parrot_mini"]
    assert [table.label(r) for r in table.rows] == ["half", "parrot", "half", "parrot"]
    rouge = next(c for c in table.columns if c.name == "R-L")
    for _, members in table.groups:
        winners = [r for r in members if table.emphasis(r, rouge) == "best"]
        best = max(members, key=lambda r: table.value(r, rouge))
        assert winners == [best]
    from escbench.leaderboard.latex import LatexRenderer

    latex = LatexRenderer().render(table)
    assert r"Test set & System & B-4" in latex
    assert "\nworries & half & " in latex and "\n & parrot & " in latex
    assert latex.count(r"\midrule") == 2  # after the header, between the two splits


def test_csv_and_json_keep_full_precision(three_systems):
    from escbench.leaderboard.renderers import CsvRenderer, JsonRenderer

    records, sources = records_in(three_systems)
    table = leaderboard_tables(records, sources, schema=read_display_schema())[0]
    oracle = next(r for r in records if r["system"]["name"] == "oracle")
    lines = CsvRenderer().render(table).splitlines()
    assert lines[0] == "split,system,column,value,low,high,n,higher_is_better,best,mark"
    assert f"parrot_mini,oracle,B-4,{oracle['scores']['B-4']!r},,,3,True,True," in lines
    document = json.loads(JsonRenderer().render(table))
    row = next(r for r in document["tables"][0]["rows"] if r["system"] == "oracle")
    assert row["scores"]["D-3"] == oracle["scores"]["D-3"]
    assert document["tables"][0]["columns"][0] == {"name": "B-4", "display": "B-4", "description": read_display_schema()
                                      .columns["B-4"]["description"], "higher_is_better": True, "decimals": 3}


def test_run_table_without_schema_still_shows_every_column(three_systems):
    records, _ = records_in(three_systems)
    table = table_from_records(records)
    assert [c.name for c in table.columns][:4] == ["B-4", "R-L", "D-2", "D-3"]
    assert "Words" in [c.name for c in table.columns]


# -- bootstrap marks ------------------------------------------------------------------------
def _corpus_scores(host, record_path: Path, metric: str):
    from escbench.harness.scoring import build_metric
    from escbench.harness.table import record_details
    from escbench.harness.collect import read_samples
    from escbench.leaderboard.significance import _samples

    record = read_record(record_path)
    rows = read_samples(record_details(record, record_path))
    return build_metric(host.metrics, metric, {}).score(_samples(rows))


def test_significance_mark_follows_the_paired_bootstrap_against_the_runner_up(host, tmp_path):
    from escbench.leaderboard.significance import MARK, annotate_uncertainty
    from escbench.harness.resampling import paired_bootstrap

    split = write_split(tmp_path / "data", "worries", dialogues=20)
    make_results(host, tmp_path / "a", [("oracle", {}), ("half", {})], splits=(str(split),))
    records, sources = records_in(tmp_path / "a")
    table = leaderboard_tables(records, sources, columns=["R-L", "B-4"], schema=read_display_schema())[0]
    annotate_uncertainty(table, host, intervals=True, significance=True, resamples=500, seed=3)
    for column in ("R-L", "B-4"):
        metric = {"R-L": "rouge-l", "B-4": "bleu"}[column]
        p = paired_bootstrap(_corpus_scores(host, tmp_path / "a" / "oracle__worries.json", metric),
                             _corpus_scores(host, tmp_path / "a" / "half__worries.json", metric),
                             resamples=500, seed=3)[column].p_value
        assert p < 0.05
        assert table.marks["oracle"][column] == MARK
    assert "half" not in table.marks
    low, high = table.intervals["half"]["R-L"]
    assert low <= table.values["half"]["R-L"] <= high and high > low

    # Two near-identical systems: the better one is bold but carries no mark.
    make_results(host, tmp_path / "b", [("half", {}), ("half-plus", {})], splits=(str(split),),
                 metrics=[("word-count", {})])
    records, sources = records_in(tmp_path / "b")
    table = leaderboard_tables(records, sources, columns=["Words"], schema=read_display_schema())[0]
    annotate_uncertainty(table, host, intervals=False, significance=True, resamples=500, seed=3)
    assert table.emphasis("half-plus", table.columns[0]) == "best" and table.marks == {}


def test_columns_that_cannot_be_resampled_are_named_in_a_note(three_systems, tmp_path):
    from escbench.leaderboard.significance import annotate_uncertainty

    records, sources = records_in(three_systems)
    table = leaderboard_tables(records, sources, schema=read_display_schema())[0]
    empty_host = PluginHost(load_entry_points=False)  # no metric plugin: B-4 cannot be re-scored
    annotate_uncertainty(table, empty_host, intervals=True, significance=False, resamples=50)
    assert "B-4" not in table.intervals["half"]  # corpus BLEU is not the mean of sentence BLEUs
    assert "R-L" in table.intervals["half"]  # ROUGE-L is the mean of per-sample scores
    assert any(note.startswith("Not annotated: B-4:") for note in table.notes)


# -- LaTeX ----------------------------------------------------------------------------------
def test_latex_is_a_complete_booktabs_table_that_compiles(three_systems, tmp_path):
    from escbench.leaderboard.latex import LatexRenderer

    records, sources = records_in(three_systems)
    table = leaderboard_tables(records, sources, schema=read_display_schema(), second=True,
                               caption="Seed split: 100% of examples & more_than_enough {yes} κ ± 0.1")[0]
    latex = LatexRenderer().render(table)
    lines = latex.strip().splitlines()
    assert lines[0] == r"\begin{table}[t]" and lines[-1] == r"\end{table}"
    assert [l for l in lines if l in (r"\toprule", r"\midrule", r"\bottomrule")] == [r"\toprule", r"\midrule", r"\bottomrule"]
    assert r"\begin{tabular}{lrrrr}" in latex
    best_cells = sum(table.emphasis(r, c) == "best" for r in table.rows for c in table.columns)
    assert best_cells >= 2 and latex.count(r"\textbf{") == best_cells and r"\underline{" in latex
    assert r"\caption{Seed split: 100\% of examples \& more\_than\_enough \{yes\} $\kappa$ $\pm$ 0.1" in latex
    assert r"\label{tab:escbench-split-parrot-mini}" in latex
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (Debian: texlive-latex-base texlive-latex-recommended; "
                    "`make test` installs them when run as root)")
    document = tmp_path / "doc.tex"
    document.write_text("\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n"
                        + latex + "\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", document.name],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


def test_latex_escapes_every_special_character_in_names():
    from escbench.leaderboard.latex import latex_escape

    assert latex_escape(r"r&d_50% #1 {x} ~ ^ \ $ < > |") == (
        r"r\&d\_50\% \#1 \{x\} \textasciitilde{} \textasciicircum{} \textbackslash{} \$ "
        r"\textless{} \textgreater{} \textbar{}")
    assert latex_escape("κ ± 日") == r"$\kappa$ $\pm$ \texttt{U+65E5}"


# -- command line ---------------------------------------------------------------------------
def test_leaderboard_command_prints_md_latex_and_html(three_systems):
    for fmt, expected in (("md", "| System | B-4 | R-L | D-2 | D-3 |"), ("latex", r"\begin{table}"),
                          ("html", "<!DOCTYPE html>")):
        done = run_cli("leaderboard", str(three_systems), "--format", fmt, env=ONLY_LEADERBOARD)
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout


def test_publish_writes_every_format_and_skips_non_record_json(three_systems, tmp_path):
    (three_systems / "notes.json").write_text('{"comment": "not a record"}')
    published = tmp_path / "published"
    done = run_cli("leaderboard", str(three_systems), "--publish", str(published), env=ONLY_LEADERBOARD)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in published.iterdir()) == [
        "index.html", "leaderboard-wide.csv", "leaderboard.csv", "leaderboard.json", "leaderboard.md",
        "leaderboard.tex"]
    assert "skipped" in done.stderr and "notes.json" in done.stderr
    assert json.loads((published / "leaderboard.json").read_text())["tables"][0]["rows"][0]["system"] in {
        "parrot", "oracle", "half"}


def test_multi_split_command_takes_the_row_header_from_the_command_line(host, tmp_path):
    other = write_split(tmp_path / "data", "worries", dialogues=2)
    make_results(host, tmp_path / "results", [("half", {})], splits=("parrot_mini", str(other)))
    done = run_cli("leaderboard", str(tmp_path / "results"), "--split", "worries,parrot_mini", "--by-split",
                   "--row-header", "Train set", "--format", "md", env=ONLY_LEADERBOARD)
    assert done.returncode == 0, done.stderr
    assert "| Test set | Train set | B-4 | R-L | D-2 | D-3 |" in done.stdout
    assert "| worries | half |" in done.stdout and "| parrot\\_mini | half |" in done.stdout


def test_leaderboard_command_without_records_fails_with_the_folder_named(tmp_path):
    done = run_cli("leaderboard", str(tmp_path), env=ONLY_LEADERBOARD)
    assert done.returncode == 1
    assert f"no results records under {tmp_path}" in done.stderr


def test_help_of_leaderboard_lists_the_new_options():
    done = subprocess.run([sys.executable, "-m", "escbench.harness.cli", "leaderboard", "--help"], capture_output=True,
                          text=True, env={**__import__("os").environ, **ONLY_LEADERBOARD}, timeout=60)
    for option in ("--by-split", "--second", "--ci", "--significance", "--display", "--publish"):
        assert option in done.stdout
