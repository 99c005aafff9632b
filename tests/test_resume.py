"""A real run killed with SIGKILL mid-way resumes without regenerating finished examples."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow

ARGS = ["run", "--systems", "llama", "--splits", "seed", "--limit", "10", "--batch-size", "2",
        "--max-new-tokens", "8", "--metrics", "distinct", "--format", "csv"]


def _cache_lines(out) -> list[dict]:
    files = list((out / "cache").glob("llama-*.jsonl")) if (out / "cache").exists() else []
    if not files:
        return []
    data = files[0].read_bytes()
    complete = data[: data.rfind(b"\n") + 1].decode()
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def test_killed_run_resumes_from_the_cache(tmp_path):
    command = [sys.executable, "-m", "escbench.harness.cli", *ARGS, "--out", str(tmp_path)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and len(_cache_lines(tmp_path)) < 4 and process.poll() is None:
        time.sleep(0.05)
    if process.poll() is not None:
        pytest.fail(f"the run ended before it could be killed: {process.stderr.read().decode()[-2000:]}")
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = _cache_lines(tmp_path)
    assert 4 <= len(before) < 10, "the run must be killed mid-way"
    assert not (tmp_path / "llama__seed.json").exists()

    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    record = json.loads((tmp_path / "llama__seed.json").read_text())
    assert record["counts"]["cached"] == len(before)
    assert record["counts"]["generated"] == 10 - len(before)
    after = _cache_lines(tmp_path)
    assert len(after) == 10 and len({line["key"] for line in after}) == 10
    assert after[: len(before)] == before  # nothing finished was rewritten
    samples = [json.loads(line) for line in (tmp_path / "llama__seed.samples.jsonl").read_text().splitlines()]
    by_id = {line["example_id"]: line["text"] for line in after}
    assert [s["prediction"] for s in samples] == [by_id[s["id"]] for s in samples]
    assert all(s["prediction"].strip() for s in samples)
