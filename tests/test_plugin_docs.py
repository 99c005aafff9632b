"""docs/plugins.md's example is a real plugin: its files are read from the page itself, built
and installed as a package, and run."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from conftest import REPO, run_cli

FILE_BLOCK = re.compile(r"<!-- file: (?P<path>[^ ]+) -->\n```[a-z]*\n(?P<body>.*?)```", re.S)


def documented_files() -> dict[str, str]:
    text = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    return {m["path"]: m["body"] for m in FILE_BLOCK.finditer(text)}


def test_the_page_holds_a_complete_package():
    files = documented_files()
    assert {"pyproject.toml", "escbench_kindness/__init__.py", "escbench_kindness/kindness_mini.yaml",
            "escbench_kindness/kindness_mini.jsonl"} <= set(files)


@pytest.fixture(scope="module")
def documented_site(tmp_path_factory):
    source = tmp_path_factory.mktemp("kindness-src")
    for relative, body in documented_files().items():
        (source / relative).parent.mkdir(parents=True, exist_ok=True)
        (source / relative).write_text(body, encoding="utf-8")
    site = tmp_path_factory.mktemp("kindness-site")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(source)], check=True, capture_output=True, text=True, timeout=300)
    return site


def test_the_documented_example_installs_with_its_data_and_runs(documented_site, tmp_path):
    installed = {p.name for p in (documented_site / "escbench_kindness").iterdir()}
    assert {"kindness_mini.yaml", "kindness_mini.jsonl"} <= installed  # package data shipped
    env = {"PYTHONPATH": str(documented_site)}
    rows = json.loads(run_cli("plugins", "--json", env=env).stdout)
    kindness = next(row for row in rows if row.get("name") == "kindness" and "provides" in row)
    assert kindness["distribution"] == "escbench-kindness" and kindness["version"] == "1.0.0"
    assert kindness["provides"] == {"systems": ["kind-echo"], "metrics": ["reply-words"], "splits": ["kindness_mini"]}
    result = run_cli("run", "--systems", "kind-echo", "--splits", "kindness_mini", "--metrics", "reply-words",
                     "--out", str(tmp_path), "--format", "csv", env=env)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "kind-echo__kindness_mini.json").read_text())
    # "It sounds like i failed my driving theory test again." (10 words), "It sounds like my sister
    # stopped answering my calls." (9), "It sounds like we argued about our parents' house." (9)
    assert record["scores"]["Reply words"] == pytest.approx(28 / 3)
    assert record["system"]["distribution"] == "escbench-kindness" and record["system"]["version"] == "1.0.0"
    samples = [json.loads(line) for line in (tmp_path / "kind-echo__kindness_mini.samples.jsonl").read_text().splitlines()]
    assert samples[0]["prediction"] == "It sounds like i failed my driving theory test again."
