"""Figures: metric bars across systems and the DRI k-sweep (paper Figure 4), as PNG or SVG."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="plots need matplotlib (pip install matplotlib)")

from escbench.harness.errors import ConfigError
from escbench.harness.collect import collect_records
from escbench.leaderboard.plots import bar_chart, sweep_chart, sweep_points
from escbench.harness.display import read_display_schema, resolve_columns
from escbench.leaderboard.tables import leaderboard_tables

from conftest import run_cli
from results_data import ONLY_LEADERBOARD, make_results, results_host


@pytest.fixture
def host(parrot_module):
    return results_host(parrot_module)


@pytest.fixture
def sweep(host, tmp_path) -> Path:
    """The same system at k = 0..3, one run folder each (as a real sweep would be run)."""
    for k in range(4):
        make_results(host, tmp_path / "sweep" / f"k{k}", [("knob", {"k": k})])
    return tmp_path / "sweep"


def test_sweep_points_follow_k_in_order_with_each_records_scores(sweep):
    records, sources = collect_records([sweep])
    columns = resolve_columns(records, ["R-L", "Words"], read_display_schema())
    series = sweep_points(records, sources, "system.config.dri_k", None, columns)
    by_k = {r["system"]["config"]["dri_k"]: r["scores"] for r in records}
    assert [x for x, _ in series[""]] == [0.0, 1.0, 2.0, 3.0]
    assert [values["Words"] for _, values in series[""]] == [by_k[k]["Words"] for k in range(4)]
    words = [values["Words"] for _, values in series[""]]
    assert words == sorted(words) and words[0] < words[-1]  # longer prefixes as k grows


def test_sweep_svg_has_one_panel_per_metric_with_k_on_the_x_axis(sweep, tmp_path):
    records, sources = collect_records([sweep])
    columns = resolve_columns(records, ["B-4", "R-L", "D-2"], read_display_schema())
    out = sweep_chart(sweep_points(records, sources, "system.config.dri_k", None, columns), columns,
                      tmp_path / "figure4.svg", x_label="k")
    svg = out.read_text()
    assert svg.startswith("<?xml") and "<svg" in svg
    for header in ("B-4", "R-L", "D-2"):
        assert re.search(rf">\s*{re.escape(header)}\s*<", svg)
    assert svg.count(">k<") == 3


def test_a_record_without_the_sweep_key_is_an_error_naming_its_file_and_keys(sweep):
    records, sources = collect_records([sweep])
    with pytest.raises(ConfigError) as caught:
        sweep_points(records, sources, "system.config.k", None, [])
    assert "k0/knob__parrot_mini.json" in str(caught.value) and "system.config.dri_k" in str(caught.value)


def test_two_records_at_the_same_k_are_an_error(host, sweep, tmp_path):
    make_results(host, tmp_path / "sweep" / "again", [("knob", {"k": 2})])
    records, sources = collect_records([sweep])
    with pytest.raises(ConfigError, match="dri_k=2"):
        sweep_points(records, sources, "system.config.dri_k", None, [])


def test_bar_chart_png_is_written(host, tmp_path):
    make_results(host, tmp_path / "results", [("oracle", {}), ("half", {}), ("parrot", {})])
    records, sources = collect_records([tmp_path / "results"])
    table = leaderboard_tables(records, sources, schema=read_display_schema())[0]
    out = bar_chart(table, tmp_path / "bars.png")
    from matplotlib.image import imread

    image = imread(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.shape[0] > 200 and image.shape[1] > 400


def test_unsupported_figure_suffix_is_an_error(host, tmp_path):
    make_results(host, tmp_path / "results", [("oracle", {})])
    records, sources = collect_records([tmp_path / "results"])
    table = leaderboard_tables(records, sources)[0]
    with pytest.raises(ConfigError, match=r"\.png or \.svg"):
        bar_chart(table, tmp_path / "bars.jpg")


def test_plot_command_writes_the_sweep_figure(sweep, tmp_path):
    out = tmp_path / "fig.svg"
    done = run_cli("plot", "sweep", str(sweep), "--split", "parrot_mini", "--columns", "R-L,Words",
                   "--out", str(out), env=ONLY_LEADERBOARD)
    assert done.returncode == 0, done.stderr
    assert "<svg" in out.read_text()
