"""The paper's reported Table 5 (tasks/paper/table5.yaml) is checked against the paper's
own text, and rendered as a table of its own, clearly labelled, in every published format."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import run_cli

REPO = Path(__file__).resolve().parent.parent
# The paper lives beside the repository (../shared/paper) in the developers' checkout; a
# worktree one folder deeper finds it one level further up.
PAPER_CANDIDATES = [REPO.parent / "shared/paper/chatpal-paper.txt", REPO.parent.parent / "shared/paper/chatpal-paper.txt"]
TITLE = "Reported in the paper: LLaMA-7B students, ChatGPT teacher, ExTES test"
# The paper's row names -> ours (its "ChatPal / DRI" is the variant without DRI)
PAPER_ROWS = {"ChatGPT": "ChatGPT", "Ask-Expert": "Ask-Expert", "LLaMA": "LLaMA", "AUGESC": "AugESC",
              "AUGESC+DRI": "AugESC+DRI", "ChatPal / DRI": "ChatPal w/o DRI", "ChatPal": "ChatPal"}


def paper_table5() -> dict[str, dict[str, float]]:
    """Table 5 as printed in the paper text: the tab-separated block above its caption."""
    path = next((p for p in PAPER_CANDIDATES if p.is_file()), None)
    if path is None:
        pytest.skip(f"the paper text is not here (looked for {', '.join(map(str, PAPER_CANDIDATES))})")
    text = path.read_text(encoding="utf-8")
    block = text[:text.index("Table 5: Results of automatic evaluation")]
    block = block[block.rindex("Methods\tMETEOR"):]
    lines = [re.sub(r"</?b>", "", line).split("\t") for line in block.strip().splitlines()]
    header, rows = lines[0][1:], lines[1:]
    return {PAPER_ROWS[row[0]]: dict(zip(header, map(float, row[1:]))) for row in rows}


def test_reported_table5_matches_the_paper_text():
    from escbench.leaderboard.reported import load_reported

    paper = paper_table5()
    table = load_reported("table5")
    assert [c.name for c in table.columns] == ["METEOR", "B-4", "R-L", "Extrema", "D-2", "D-3"]
    assert table.rows == list(paper)  # the paper's row order
    assert {row: table.values[row] for row in table.rows} == paper
    # a few spelled out, as printed: ChatPal's METEOR, LLaMA's ROUGE-L, ChatGPT's Distinct-3
    assert paper["ChatPal"]["METEOR"] == 33.12 and paper["LLaMA"]["R-L"] == 9.834 and paper["ChatGPT"]["D-3"] == 95.29


def test_reported_command_publishes_every_format_with_the_label(tmp_path):
    done = run_cli("reported", "--publish", str(tmp_path), env={"ESCBENCH_PLUGINS": "leaderboard"})
    assert done.returncode == 0, done.stderr
    files = {p.name for p in tmp_path.iterdir()}
    assert files == {f"reported-table5.{s}" for s in ("md", "tex", "html", "csv", "json")}
    for path in tmp_path.iterdir():
        assert TITLE in path.read_text(encoding="utf-8") or path.suffix == ".csv", path.name
    rows = json.loads((tmp_path / "reported-table5.json").read_text(encoding="utf-8"), parse_constant=pytest.fail)
    assert "33.12" in json.dumps(rows)
    csv_text = (tmp_path / "reported-table5.csv").read_text(encoding="utf-8")
    assert "ExTES test (reported in the paper),ChatPal w/o DRI,METEOR,30.67" in csv_text


def test_a_malformed_reported_table_names_the_file_and_cell(tmp_path):
    from escbench.harness.errors import ConfigError
    from escbench.leaderboard.reported import load_reported

    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\ncolumns: [METEOR]\nrows:\n  ChatPal: {METEOR: high}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.yaml: rows\.ChatPal\.METEOR: expected a number"):
        load_reported(str(bad))
