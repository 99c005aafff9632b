"""``expand``: quotas, the iterative pool, QA under injected faults, and resuming after SIGKILL."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from fake_openai_server import Faults, FakeServer, FakeTeacher
from escbench.harness.catalogs import load_scenes
from escbench.harness.loaders import load_dialogues
from escbench.plugins.chatpal.expand import load_weights, scene_quotas, select_scenes
from escbench.harness.cli import main

REPO = Path(__file__).resolve().parent.parent
FOUR_SCENES = "Academic Stress,Caregiver Support,Anxiety and Panic,Career Transitions"


def expand_args(server: FakeServer, out: Path, *extra: str) -> list[str]:
    return ["expand", "--teacher-url", server.url, "--out", str(out), "--scenes", FOUR_SCENES,
            "--distribution", "uniform", "--concurrency", "4", "--max-retries", "5", *extra]


def read_out(out: Path) -> tuple[list, list, dict]:
    rejects = [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]
    return json.loads((out / "dialogues.json").read_text()), rejects, json.loads((out / "report.json").read_text())


def test_quotas_follow_table_10_with_largest_remainders():
    scenes = load_scenes()
    quotas = scene_quotas(load_weights("table10", scenes), 100)
    assert sum(quotas.values()) == 100
    assert quotas["Conflicts or Communication Problems"] == 10  # 1109 of 11177 dialogues: 9.9%
    assert quotas["Breakups or Divorce"] == 6 and quotas["LGBTQ+ Identity"] == 1
    assert scene_quotas({"a": 1, "b": 1, "c": 1}, 4) == {"a": 2, "b": 1, "c": 1}


def test_a_distribution_file_must_name_selected_scenes(tmp_path):
    scenes = select_scenes("Academic Stress,Caregiver Support")
    good = tmp_path / "good.yaml"
    good.write_text("academic stress: 3\nCaregiver Support: 1\n")
    assert scene_quotas(load_weights(str(good), scenes), 8) == {"Academic Stress": 6, "Caregiver Support": 2}
    bad = tmp_path / "bad.yaml"
    bad.write_text("Pet Grooming: 1\n")
    with pytest.raises(Exception, match="Pet Grooming"):
        load_weights(str(bad), scenes)


def test_iterations_grow_the_pool_and_write_extes_data(tmp_path):
    out = tmp_path / "out"
    with FakeServer() as server:
        assert main(expand_args(server, out, "--per-scene", "2", "--iterations", "2")) == 0
    dialogues, rejects, report = read_out(out)
    assert (len(dialogues), rejects) == (16, [])
    assert [i["accepted"] for i in report["iterations"]] == [8, 8]
    assert report["summary"]["pool size"] == len(json.loads((REPO / "tasks/seed/seed_dialogues.json").read_text())) + 16
    assert Counter(d["scene"] for d in dialogues) == {scene: 4 for scene in FOUR_SCENES.split(",")}
    second_round_examples = {d["provenance"]["example"] for d in dialogues if d["provenance"]["iteration"] == 2}
    assert all(example.startswith(("seed-", "expand-1-")) for example in second_round_examples)
    loaded = load_dialogues(out / "dialogues.json").dialogues  # the ExTES loader reads the output back
    assert len(loaded) == 16 and all(t.strategy for d in loaded for t in d.turns if t.role == "ai")


def test_injected_faults_end_in_the_rejects_file_with_their_reasons(tmp_path):
    faults = Faults(content={"prose": 0.2, "truncated": 0.15, "wrong_roles": 0.15, "duplicate": 0.15},
                    burst_429=(2, 9), first_attempt_500=0.2, first_attempt_timeout=0.1, timeout_sleep_s=2.5)
    out = tmp_path / "out"
    teacher = FakeTeacher(faults)
    with FakeServer(teacher) as server:
        code = main(expand_args(server, out, "--per-scene", "10", "--timeout", "1.0"))
    dialogues, rejects, report = read_out(out)
    assert code == 0
    assert len(dialogues) + len(rejects) == 40  # nothing lost
    served = Counter(teacher.content_faults.values())
    by_reason = Counter(r["reason"] for r in rejects)
    assert by_reason["truncated"] == served["truncated"] > 0
    assert by_reason["wrong_roles"] == served["wrong_roles"] > 0
    assert by_reason["exact_duplicate"] == served["duplicate"] - 1  # the first copy is kept
    assert "request_failed" not in by_reason
    marker = {"truncated": "fault=truncated", "wrong_roles": "fault=wrong_roles", "exact_duplicate": "fault=duplicate"}
    assert all(marker[r["reason"]] in r["answer"] for r in rejects)
    assert sum("fault=prose" in d["description"] for d in dialogues) == served["prose"] > 0  # extracted from prose
    assert set(server.answered.values()) == {1}  # every answer delivered once, retries included
    assert report["summary"]["rejected"] == len(rejects)
    assert report["usage"]["this_run"]["retries"] >= 7


def _resume_args(server_url: str, out: Path) -> list[str]:
    return ["expand", "--teacher-url", server_url, "--out", str(out), "--per-scene", "0.5", "--iterations", "2",
            "--concurrency", "1", "--max-retries", "0"]


def _run_expand_process(server_url: str, out: Path) -> subprocess.Popen:
    args = _resume_args(server_url, out)
    return subprocess.Popen([sys.executable, "-m", "escbench.harness.cli", *args], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_a_run_killed_with_sigkill_resumes_without_resending_anything(tmp_path):
    faults = Faults(content={"wrong_roles": 0.1, "duplicate": 0.1})
    with FakeServer(FakeTeacher(faults), latency_s=0.01) as server:
        killed = _run_expand_process(server.url, tmp_path / "resumed")
        server.kill_at = (22, killed.pid)  # in iteration 2 (18 requests each)
        assert killed.wait(timeout=120) == -signal.SIGKILL
        journaled = len((tmp_path / "resumed" / "journal.jsonl").read_text().splitlines())
        resumed = _run_expand_process(server.url, tmp_path / "resumed")
        assert resumed.wait(timeout=120) == 0, resumed.stderr.read()
    assert journaled == 21
    assert sum(server.answered.values()) == len(server.answered) == 36  # no answer was asked for twice
    assert sum(server.received.values()) == 37  # only the request in flight at the kill was sent again
    with FakeServer(FakeTeacher(faults)) as reference_server:
        assert main(_resume_args(reference_server.url, tmp_path / "reference")) == 0
    for name in ("dialogues.json", "rejects.jsonl"):
        assert (tmp_path / "resumed" / name).read_text() == (tmp_path / "reference" / name).read_text()
    assert len(json.loads((tmp_path / "resumed" / "dialogues.json").read_text())) > 25


def test_refill_rounds_top_up_scenes_after_rejects(tmp_path):
    faults = Faults(content={"wrong_roles": 0.3})
    out = tmp_path / "out"
    with FakeServer(FakeTeacher(faults)) as server:
        assert main(expand_args(server, out, "--per-scene", "3", "--refill-rounds", "4")) == 0
    dialogues, rejects, report = read_out(out)
    assert len(rejects) > 0
    assert Counter(d["scene"] for d in dialogues) == {scene: 3 for scene in FOUR_SCENES.split(",")}
    assert report["iterations"][0]["requested"] == 12 + len(rejects)


def test_failed_requests_stop_before_the_next_iteration_and_are_retried_later(tmp_path):
    out = tmp_path / "out"
    with FakeServer(FakeTeacher(Faults(burst_429=(1, 10_000)))) as server:
        assert main(expand_args(server, out, "--per-scene", "1", "--iterations", "2", "--max-retries", "0")) == 1
    _, rejects, report = read_out(out)
    assert [r["reason"] for r in rejects] == ["request_failed"] * 4
    assert len(report["iterations"]) == 1
    with FakeServer() as server:
        assert main(expand_args(server, out, "--per-scene", "1", "--iterations", "2")) == 0
    dialogues, rejects, _ = read_out(out)
    assert (len(dialogues), rejects) == (8, [])


def test_dry_run_counts_requests_without_sending(tmp_path, capsys):
    with FakeServer() as server:
        assert main(expand_args(server, tmp_path / "out", "--per-scene", "2", "--dry-run")) == 0
        assert sum(server.received.values()) == 0
    assert "iteration 1: at most 8 requests (0 already in the journal)" in capsys.readouterr().out
    assert not (tmp_path / "out").exists()  # no folder, journal or lock


def test_an_edited_template_without_the_scene_placeholder_is_refused(tmp_path):
    (tmp_path / "user.txt").write_text("Write a dialogue like {example} using {strategies}.")
    with FakeServer() as server:
        assert main(expand_args(server, tmp_path / "out", "--prompts", str(tmp_path))) == 2
        assert sum(server.received.values()) == 0
