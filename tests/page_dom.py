"""Headless Chromium for the page tests: the DOM after a page's scripts ran, and a parser for
it. A helper module (not a test module): tests import it."""
from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

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
