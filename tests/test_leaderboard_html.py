"""The static HTML page, checked in a real headless Chromium (Debian package ``chromium``):
model outputs are shown as text and never run; sorting and the split switcher work offline."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from leaderboard.collect import attach_samples, collect_records
from leaderboard.html import HtmlRenderer
from leaderboard.schema import read_display_schema
from leaderboard.tables import leaderboard_tables

from test_leaderboard import Hostile, make_results, results_host, write_split

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed "
                                    "(Debian package 'chromium': apt-get install chromium)")


def dump_dom(url: str, profile: Path, *flags: str) -> str:
    """The DOM after the page's scripts ran, serialised by Chromium."""
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
         "--virtual-time-budget=5000", *flags, "--dump-dom", url],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(HTMLParser):
    """Elements (tag, attributes) and the text inside each ``<pre>`` of a serialised DOM."""

    def __init__(self, markup: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.pre_texts: list[str] = []
        self._pre: list[str] | None = None
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))
        if tag == "pre":
            self._pre = []

    def handle_endtag(self, tag):
        if tag == "pre" and self._pre is not None:
            self.pre_texts.append("".join(self._pre))
            self._pre = None

    def handle_data(self, data):
        if self._pre is not None:
            self._pre.append(data)

    def tags(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.elements if tag == name]


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


def run_in_frame(page: Path, profile: Path, script: str) -> dict:
    """Load ``page`` in a frame of a driver page beside it, run ``script`` on the frame's
    document (``d``), filling the object ``out``; return ``out`` as Chromium left it."""
    driver = page.parent / "driver.html"
    driver.write_text(
        f"<!DOCTYPE html><html><body><pre id='out'></pre><iframe id='frame' src='{page.name}'></iframe><script>"
        "var frame = document.getElementById('frame');"
        "frame.addEventListener('load', function () { var d = frame.contentDocument; var out = {};"
        f"{script}"
        "document.getElementById('out').textContent = JSON.stringify(out); });"
        "</script></body></html>")
    dom = Dom(dump_dom(driver.as_uri(), profile, "--allow-file-access-from-files"))
    return json.loads(dom.pre_texts[0])


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
