"""lm-eval and ``escbench run`` agree on the seed split: the embedded SmolLM2, greedy, batch 1,
the first 8 examples, 16 new tokens. lm-eval runs offline as a user runs it (its CLI, with
HF_HUB_OFFLINE=1) on the JSONL ``escbench export-split`` wrote; escbench runs the ``llama``
system. Prompts, generations and every score column must match, and the leaderboard must
read the lm-eval results as a record with the same scores and examples."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import escbench.plugins.lmeval as lmeval_plugin
from escbench.harness.cli import main
from escbench.harness.models import resolve_model
from escbench.harness.plugins import get_host
from escbench.plugins.lmeval.task_functions import METRIC_OF_COLUMN

from conftest import REPO, run_cli

LIMIT, MAX_NEW_TOKENS = 8, 16
METRICS = ",".join(dict.fromkeys(METRIC_OF_COLUMN.values()))
# One torch thread: on a 2-core machine shared with other jobs, two threads contend and one
# SmolLM2 generation took ~20 s instead of ~1.2 s.
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    """Both runs on the same examples: paths of their outputs and the model folder."""
    root = tmp_path_factory.mktemp("parity")
    host = get_host()
    if host.pm.get_plugin("lmeval") is None:
        host.register(lmeval_plugin, "lmeval", builtin=True)
    data = root / "data"
    assert main(["export-split", "seed", "--out", str(data / "seed.jsonl")]) == 0
    model = resolve_model("smollm2")
    escbench = run_cli("run", "--systems", "llama", "--splits", "seed", "--metrics", METRICS,
                       "--limit", str(LIMIT), "--max-new-tokens", str(MAX_NEW_TOKENS), "--batch-size", "1",
                       "--greedy", "--out", str(root / "escbench"), env=OFFLINE)
    assert escbench.returncode == 0, escbench.stderr[-3000:]
    lmeval = subprocess.run(
        [sys.executable, "-m", "lm_eval", "--model", "hf",
         "--model_args", f"pretrained={model},dtype=float32", "--device", "cpu", "--batch_size", "1",
         "--include_path", str(REPO / "tasks" / "lm_eval"), "--tasks", "esc_seed", "--limit", str(LIMIT),
         "--gen_kwargs", f"max_gen_toks={MAX_NEW_TOKENS}",
         "--metadata", json.dumps({"escbench_data_dir": str(data)}),
         "--output_path", str(root / "lmeval"), "--log_samples"],
        capture_output=True, text=True, timeout=600, cwd=REPO, env={**os.environ, **OFFLINE})
    assert lmeval.returncode == 0, lmeval.stderr[-3000:]
    return {"root": root, "model": model, "data": data}


def escbench_record(runs) -> dict:
    return json.loads((runs["root"] / "escbench" / "llama__seed.json").read_text(encoding="utf-8"))


def escbench_samples(runs) -> dict[str, dict]:
    lines = (runs["root"] / "escbench" / "llama__seed.samples.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["id"]: row for row in map(json.loads, lines)}


def lmeval_results(runs) -> dict:
    [path] = (runs["root"] / "lmeval").rglob("results_*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def lmeval_samples(runs) -> list[dict]:
    [path] = (runs["root"] / "lmeval").rglob("samples_esc_seed_*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_lm_eval_scores_the_same_examples(runs):
    ids = [sample["doc"]["id"] for sample in lmeval_samples(runs)]
    assert sorted(ids) == sorted(escbench_samples(runs)) and len(ids) == LIMIT


@pytest.mark.slow
def test_lm_eval_prompts_are_escbenchs_prompts(runs):
    from escbench.harness.backends.hf import HFBackend

    backend = HFBackend(model=str(runs["model"]), dtype="float32", device="cpu").load()
    for sample in lmeval_samples(runs):
        assert sample["arguments"]["gen_args_0"]["arg_0"] == backend.render(sample["doc"]["messages"])


@pytest.mark.slow
def test_lm_eval_generations_equal_escbench_generations(runs):
    expected = escbench_samples(runs)
    for sample in lmeval_samples(runs):
        assert sample["B-4"]["prediction"] == expected[sample["doc"]["id"]]["prediction"]


@pytest.mark.slow
def test_every_score_column_equals_escbench_run(runs):
    escbench_scores = escbench_record(runs)["scores"]
    lmeval_scores = lmeval_results(runs)["results"]["esc_seed"]
    assert set(escbench_scores) == set(METRIC_OF_COLUMN)
    for column, value in escbench_scores.items():
        assert lmeval_scores[f"{column},none"] == pytest.approx(value, abs=1e-9, rel=0), column


@pytest.mark.slow
def test_leaderboard_reads_the_lm_eval_run_as_a_record_of_the_same_examples(runs):
    from escbench.harness.collect import collect_records

    records, _ = collect_records([runs["root"] / "escbench", runs["root"] / "lmeval"])
    by_name = {record["system"]["name"]: record for record in records}
    imported, native = by_name["lm-eval/SmolLM2-135M-Instruct"], by_name["llama"]
    assert imported["split"]["name"] == native["split"]["name"] == "seed"
    assert imported["split"]["examples_sha256"] == native["split"]["examples_sha256"]
    assert imported["generation"]["max_new_tokens"] == native["generation"]["max_new_tokens"] == MAX_NEW_TOKENS
    assert imported["scores"].keys() == native["scores"].keys()
    for column, value in native["scores"].items():
        assert imported["scores"][column] == pytest.approx(value, abs=1e-9, rel=0), column
