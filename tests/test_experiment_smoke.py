"""The smoke experiment end to end (embedded SmolLM2 students, scripted teacher, offline):
the README's commands exactly as written, the outputs every stage must leave, and SIGKILL at
random moments followed by a re-run giving the same final outputs as an uninterrupted run."""
from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
SEVEN = ("llama", "chatgpt", "ask-expert", "augesc", "augesc+dri", "chatpal-w/o-dri", "chatpal")
SPLITS = ("seed", "seed_new_scenes")
# Files that record when or how fast something ran, which port a server had or the output
# folder's absolute path: compared by content elsewhere (records: scores and samples), never by hash.
VARYING = {"journal.jsonl", "report.json", "report.md", "training_card.json", "run.yaml", "key.json",
           "train_log.jsonl", "stats.json", "stats.md"}


def readme_smoke_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## The ChatPal study"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _workdir(root: Path) -> Path:
    """A fresh folder that sees the repository's tasks/ (the README's paths are relative)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tasks").symlink_to(REPO / "tasks")
    return root


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> tuple[Path, list[subprocess.CompletedProcess]]:
    """Run the README's smoke block, line by line, exactly as written."""
    workdir = _workdir(tmp_path_factory.mktemp("readme") / "work")
    done = []
    for line in readme_smoke_commands():
        done.append(subprocess.run(line, shell=True, cwd=workdir, env=_env(), capture_output=True, text=True))
    return workdir / "runs" / "smoke", done


def _records(out: Path) -> dict[tuple[str, str], dict]:
    found = {}
    for path in sorted(out.glob("evaluate/*/*.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        if record.get("schema"):
            found[(path.parent.name, record["split"]["name"])] = record
    return found


def test_readme_smoke_commands_succeed(smoke):
    out, done = smoke
    assert [c.returncode for c in done] == [0] * len(done), "\n".join(c.stderr[-3000:] for c in done)
    assert "escbench experiment run tasks/experiments/smoke.yaml" in done[0].args
    assert "done" in done[1].stdout and "leak check: passed" in done[1].stdout


def test_smoke_outputs_every_stage(smoke):
    out, _ = smoke
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"), parse_constant=pytest.fail)
    assert manifest["complete"] is True
    assert all(unit["status"] == "done" for unit in manifest["units"].values())
    records = _records(out)
    for system in SEVEN:
        folder = system.replace("/", "-").replace("+", "-plus-")
        for split in SPLITS:
            record = records[(folder, split)]
            assert record["system"]["name"] == system
            assert record["split"]["n_examples"] == 3  # evaluate.limit of smoke.yaml
    # Figure 4: chatpal students from the one DRI file at k = 0, 1 (sweep) and K = 2 (the main one)
    for folder, k in (("sweep-k0", 0), ("sweep-k1", 1), ("chatpal", 2)):
        record = records[(folder, "seed")]
        assert record["system"]["name"] == "chatpal" and record["system"]["config"]["dri_k"] == k
    # expand asked for round(0.25 x 36) = 9 dialogues; the scripted teacher's all pass QA
    expanded = json.loads((out / "expand/expand/dialogues.json").read_text(encoding="utf-8"))
    assert len(expanded) == 9
    side = json.loads((out / "analyse/stats/tables_1_2.json").read_text(encoding="utf-8"))
    assert [t["columns"][1:] for t in side] == [["seeds (train)", "expanded", "AugESC data"]] * 2
    table4 = json.loads((out / "analyse/toxicity/table4.json").read_text(encoding="utf-8"))
    assert [r["row"] for r in table4["rows"]] == ["seeds (train)", "expanded", "AugESC data", *SEVEN]
    key = json.loads((out / "analyse/human/export/key.json").read_text(encoding="utf-8"))
    assert key["n_units"] == 3 * len(SEVEN)  # 3 test contexts (fewer than 50 exist) x seven systems
    for name in ("leaderboard.md", "leaderboard.tex", "index.html", "leaderboard.csv", "leaderboard.json"):
        assert (out / "publish/leaderboard/leaderboard" / name).stat().st_size > 0
    assert json.loads((out / "publish/leaderboard/manifest.json").read_text(encoding="utf-8"))["complete"] is True
    plots = sorted(p.name for p in (out / "publish/leaderboard/plots").glob("*.png"))
    assert plots == sorted([f"bar-{s}.png" for s in SPLITS] + [f"sweep-{s}.png" for s in SPLITS])


def test_no_test_dialogue_reaches_training_or_the_teacher(smoke):
    out, _ = smoke
    from escbench.harness.splits import load_split, read_split_spec

    test_ids = {d.id for d in load_split(read_split_spec(REPO / "tasks/splits/seed.yaml")).dialogues}
    train_ids = {json.loads(line)["id"] for line in (out / "expand/expand/train_dialogues.jsonl").read_text().splitlines()}
    journal = [json.loads(line) for line in (out / "expand/expand/journal.jsonl").read_text().splitlines()]
    shown = {record["tag"]["example"] for record in journal}
    assert test_ids and not test_ids & train_ids and not test_ids & shown
    assert not any(test_id in record["messages"][-1]["content"] for record in journal for test_id in test_ids)
    leak = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["leak_check"]
    assert leak["passed"] and leak["checked"]["teacher exemplars"] == len(shown)


def _comparable(out: Path) -> dict:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    # Results records (evaluation, and the toxicity of each dataset's utterances) say when they
    # were made: compared by their scores, not by hash.
    record = re.compile(r"evaluate/[^/]+/[^/]+\.json$|analyse/toxicity/[^/]+\.scores\.json$")
    hashes = {path: a["sha256"] for path, a in manifest["artefacts"].items()
              if Path(path).name not in VARYING and not record.match(path) and not path.startswith("publish/")}
    scores = {f"{k[0]}/{k[1]}": r["scores"] for k, r in _records(out).items()}
    for path in sorted(out.glob("analyse/toxicity/*.scores.json")):
        scores[f"toxicity/{path.name}"] = json.loads(path.read_text(encoding="utf-8"))["scores"]
    return {"artefacts": hashes, "scores": scores, "units": sorted(manifest["units"])}


def test_sigkill_at_random_moments_then_rerun_matches_uninterrupted(smoke, tmp_path):
    baseline, _ = smoke
    workdir = _workdir(tmp_path / "work")
    command = [str(Path(sys.executable).parent / "escbench"), "experiment", "run", "tasks/experiments/smoke.yaml",
               "--out", "runs/smoke"]
    rng = random.Random(20261201)
    kills = 0
    for _ in range(4):
        with open(tmp_path / "killed.log", "ab") as log:
            process = subprocess.Popen(command, cwd=workdir, env=_env(), stdout=log, stderr=log)
            try:
                process.wait(timeout=rng.uniform(5, 60))
                break  # finished before the kill
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                kills += 1
    assert kills >= 1
    final = subprocess.run(command, cwd=workdir, env=_env(), capture_output=True, text=True)
    assert final.returncode == 0, final.stderr[-3000:]
    resumed = _comparable(workdir / "runs" / "smoke")
    expected = _comparable(baseline)
    assert resumed["units"] == expected["units"]
    assert resumed["scores"] == expected["scores"]
    assert resumed["artefacts"] == expected["artefacts"]
