"""The static HTML page, checked in a real headless Chromium (Debian package ``chromium``):
model outputs are shown as text and never run; sorting and the split switcher work offline."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from escbench.harness.collect import attach_samples, collect_records
from escbench.leaderboard.html import HtmlRenderer
from escbench.harness.display import read_display_schema
from escbench.leaderboard.tables import leaderboard_tables

from page_dom import Dom, dump_dom, needs_chromium, run_in_frame
from results_data import Hostile, make_results, results_host, write_split

@pytest.fixture
def page(parrot_module, tmp_path) -> Path:
    host = results_host(parrot_module)
    second = write_split(tmp_path / "data", "worries", dialogues=3)
    make_results(host, tmp_path / "results", [("hostile", {}), ("oracle", {}), ("half", {})],
                 splits=("parrot_mini", str(second)))
    records, sources = collect_records([tmp_path / "results"])
    tables = leaderboard_tables(records, sources, schema=read_display_schema())
    for table in tables:
        attach_samples(table, 20)
    path = tmp_path / "site" / "index.html"
    path.parent.mkdir()
    path.write_text(HtmlRenderer().render_many(tables), encoding="utf-8")
    return path


def test_page_needs_nothing_from_the_network(page):
    html = page.read_text()
    assert "default-src 'none'" in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"@import|url\(", html)


def test_page_shows_system_details_and_every_split(page):
    html = page.read_text()
    assert html.count('<section class="board"') == 2
    assert html.count('<button type="button" data-board=') == 2
    assert "reference-copy" in html and "0f1e2d3c" in html  # oracle's model and prompt hash
    assert "transformers" in html or "pluggy" in html  # recorded package versions


@needs_chromium
def test_model_output_is_shown_literally_and_nothing_from_it_runs(page, tmp_path):
    dom = Dom(dump_dom(page.as_uri(), tmp_path / "profile"))
    body = dom.tags("body")[0]
    assert body.get("data-ready") == "1"  # the page's own script ran (allowed by its hash)
    assert "data-pwned" not in body  # neither injected script nor onerror ran
    assert dom.tags("img") == [] and len(dom.tags("script")) == 1 and dom.tags("b") == []
    assert dom.pre_texts.count(Hostile.PAYLOAD) == 3 + 6  # every hostile reply, shown as text
    assert any("<b>bold-model</b>" in text for text in dom.pre_texts)  # a config string, as text


@needs_chromium
def test_switcher_shows_one_split_at_a_time(page, tmp_path):
    out = run_in_frame(page, tmp_path / "profile", """
        var boards = Array.prototype.slice.call(d.querySelectorAll('.board'));
        out.before = boards.map(function (b) { return b.hidden; });
        d.querySelectorAll('.switcher button')[1].click();
        out.after = boards.map(function (b) { return b.hidden; });
        out.pressed = d.querySelectorAll('.switcher button')[1].getAttribute('aria-pressed');
    """)
    assert out == {"before": [False, True], "after": [True, False], "pressed": "true"}


@needs_chromium
def test_clicking_a_header_sorts_rows_best_first_then_reverses(page, tmp_path):
    out = run_in_frame(page, tmp_path / "profile", """
        var table = d.querySelector('.board table.scores');
        var headers = Array.prototype.slice.call(table.querySelectorAll('thead th'));
        var index = headers.findIndex(function (th) { return th.textContent.indexOf('R-L') === 0; });
        function order() {
          return Array.prototype.slice.call(table.querySelectorAll('tbody td.system'))
            .map(function (td) { return td.getAttribute('data-value'); });
        }
        headers[index].querySelector('button').click();
        out.first = order();
        headers[index].querySelector('button').click();
        out.second = order();
    """)
    records, _ = collect_records([page.parent.parent / "results"])
    by_rouge = sorted((r for r in records if r["split"]["name"] == "parrot_mini"),
                      key=lambda r: r["scores"]["R-L"], reverse=True)
    assert out["first"] == [r["system"]["name"] for r in by_rouge]
    assert out["second"] == out["first"][::-1]
