"""End to end with a real teacher: ``escbench serve`` running the embedded SmolLM2, then
``expand``, ``dri`` and ``stats`` on a tiny seed file (few tokens: the machinery is under test,
not SmolLM2's dialogues, which QA is expected to reject)."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from escbench.harness.cli import main

REPO = Path(__file__).resolve().parent.parent
SEED = [{"id": "tiny-1", "scene": "Academic Stress", "description": "A student dreads tomorrow's exam.",
         "content": [{"User": "My exam is tomorrow and I cannot focus."},
                     {"AI": "That sounds stressful. What feels hardest right now?", "AI Strategy": "Clarification"},
                     {"User": "Everything. I keep rereading the same page."},
                     {"AI": "Rereading when tired is very common; a short break may help.", "AI Strategy": "Normalize Experiences"}]}]


def served_url(process: subprocess.Popen, timeout_s: float = 300) -> str:
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not line or " at http" not in line[0]:
        process.kill()
        pytest.fail(f"escbench serve did not start: {process.stderr.read()[-2000:]}")
    return line[0].split(" at ", 1)[1].split()[0]


@pytest.mark.slow
def test_expand_dri_and_stats_run_against_smollm2_served_locally(tmp_path):
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps(SEED))
    server = subprocess.Popen([sys.executable, "-m", "escbench.harness.cli", "serve", "--model", "smollm2",
                               "--served-name", "teacher", "--port", "0"], cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = served_url(server)
        teacher = ["--teacher-url", url, "--teacher", "teacher", "--timeout", "300"]
        expand_out, dri_out = tmp_path / "expand", tmp_path / "dri"
        assert main(["expand", "--seeds", str(seeds), "--scenes", "Academic Stress", "--per-scene", "1",
                     "--max-tokens", "12", "--out", str(expand_out), *teacher]) == 0
        assert main(["dri", "--data", str(seeds), "--k", "2", "--max-tokens", "24", "--out", str(dri_out), *teacher]) == 0
    finally:
        server.terminate()
        server.wait(timeout=30)
    expand_report = json.loads((expand_out / "report.json").read_text())
    accepted = json.loads((expand_out / "dialogues.json").read_text())
    rejects = (expand_out / "rejects.jsonl").read_text().splitlines()
    assert len(accepted) + len(rejects) == 1
    usage = expand_report["usage"]["this_run"]
    assert usage["requests_sent"] == 1 and usage["prompt_tokens"] > 100 and 0 < usage["completion_tokens"] <= 12
    dri_lines = (dri_out / "dri.jsonl").read_text().splitlines() + (dri_out / "rejects.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["turn_index"] for line in dri_lines) == [1, 3]
    assert main(["stats", str(seeds), "--out", str(tmp_path / "stats")]) == 0
    assert (tmp_path / "stats" / "phases.png").exists()
