"""The HTML rating form in a real headless Chromium: the CSV it saves is a valid sheet, and
model replies in it are shown as text and never run."""
from __future__ import annotations

import csv
import io

from page_dom import Dom, dump_dom, needs_chromium, run_in_frame
from results_data import Hostile

FILL_SCRIPT = """
var units = Array.prototype.slice.call(d.querySelectorAll('fieldset.unit'));
units.forEach(function (unit, i) {
  var radios = Array.prototype.slice.call(unit.querySelectorAll('input[type=radio]'));
  var dimensions = [];
  radios.forEach(function (r) { var n = r.getAttribute('data-dimension'); if (dimensions.indexOf(n) < 0) { dimensions.push(n); } });
  dimensions.forEach(function (dimension, j) {
    radios.filter(function (r) { return r.getAttribute('data-dimension') === dimension && r.value === String((i + j) % 4); })[0].click();
  });
});
units[0].querySelector('input.comment').value = 'cut off, "odd", reply';
d.getElementById('show').click();
out.csv = d.getElementById('csv-out').value;
out.status = d.getElementById('status').textContent;
"""


@needs_chromium
def test_csv_saved_by_the_form_imports_with_the_chosen_scores(export, tmp_path):  # noqa: F811
    from escbench.plugins.human.analysis import read_key, read_ratings

    out = run_in_frame(export / "rater-1.html", tmp_path / "profile", FILL_SCRIPT)
    assert out["status"] == "30 of 30 complete"
    order = [row[0] for row in list(csv.reader((export / "rater-1.csv").open(encoding="utf-8")))[1:]]
    (export / "rater-1.csv").write_text(out["csv"], encoding="utf-8")
    key = read_key(export)
    ratings = read_ratings(export, key, ["rater-1.csv"])["rater-1.csv"]
    dimensions = [d["name"] for d in key["dimensions"]]
    assert ratings == {unit: {d: (i + j) % 4 for j, d in enumerate(dimensions)} for i, unit in enumerate(order)}
    rows = list(csv.DictReader(io.StringIO(out["csv"])))
    assert rows[0]["comment"] == 'cut off, "odd", reply'


@needs_chromium
def test_incomplete_form_says_which_reply_is_missing(export, tmp_path):  # noqa: F811
    out = run_in_frame(export / "rater-1.html", tmp_path / "profile", "d.getElementById('show').click();"
                                         "out.status = d.getElementById('status').textContent;"
                                         "out.flagged = d.querySelectorAll('fieldset.incomplete').length;")
    first = next(csv.reader((export / "rater-1.csv").open(encoding="utf-8").readlines()[1:2]))[0]
    assert out == {"status": f"0 of 30 complete; first incomplete: {first}", "flagged": 30}


@needs_chromium
def test_replies_in_the_form_are_text_and_nothing_runs(export, tmp_path):  # noqa: F811
    dom = Dom(dump_dom((export / "rater-1.html").as_uri(), tmp_path / "profile"))
    body = dom.tags("body")[0]
    assert body.get("data-ready") == "1" and "data-pwned" not in body
    assert dom.tags("img") == [] and len(dom.tags("script")) == 1
    assert dom.pre_texts.count(Hostile.PAYLOAD) == 10
