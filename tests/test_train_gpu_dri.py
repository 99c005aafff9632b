"""benchmarks/train_gpu.py's DRI configs, checked without a GPU (``--allow-cpu --tiny``).

The expected token counts are computed here from the tokenised pairs, not from the packing
code: unpacked, an epoch processes every pair's tokens; packed, a context's prompt is laid out
once, so each of its K other targets saves the prompt less the one prompt token every target
segment repeats (the layout documented in plugins/chatpal/train/packing.py).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
DRI_CONFIGS = ["escbench-bf16-dri", "escbench-bf16-dri-packed"]
# Fields benchmarks/README.md names for the DRI rows and the report.
ROW_FIELDS = {"config", "pairs", "sequences", "tokens", "tokens_per_s", "pairs_per_s", "peak_memory_gib",
              "projected_7b_epoch_hours", "packed"}
REPORT_FIELDS = {"device", "paper_hours", "paper_setting", "epoch_pairs", "dri", "rows"}


@pytest.fixture
def bench_modules(monkeypatch):
    """benchmarks/ on sys.path, as it is when a script there runs."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def seed_train_dialogues():
    from escbench.harness.paths import TASKS_DIR
    from escbench.harness.splits import load_split, read_split_spec

    return load_split(read_split_spec(TASKS_DIR / "splits" / "seed.yaml"), partition="train").dialogues


def training_pairs(train: Path, dri: Path):
    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.plugins.chatpal.train.data import build_training_data, load_source_dialogues
    from escbench.plugins.chatpal.train.dri_file import dri_source, read_dri_file

    catalog = load_strategy_catalog("extes")
    dialogues, sources = load_source_dialogues([train], catalog)
    records = read_dri_file(dri, catalog)
    return dialogues, build_training_data(dialogues, sources, (records, dri_source(dri, len(records))),
                                          valid_fraction=0).train


def test_dri_data_takes_whole_dialogues_until_the_pairs_and_repeats_under_new_ids(tmp_path, bench_modules):
    from train_gpu_dri import write_dri_data

    seed = seed_train_dialogues()
    all_pairs = sum(len(d.supporter_turn_indices()) for d in seed) * 5
    data = write_dri_data(tmp_path, 4, all_pairs + 1)  # one supporter turn more than one copy holds
    dialogues, pairs = training_pairs(data.train, data.dri)
    assert len(dialogues) == len(seed) + 1 == data.dialogues
    assert dialogues[-1].id == f"{seed[0].id}-copy1" and dialogues[-1].turns == seed[0].turns
    contexts = sum(len(d.supporter_turn_indices()) for d in dialogues)
    assert data.contexts == contexts and len(pairs) == 5 * contexts  # the original and 4 alternatives
    assert sum(p.origin == "dri" for p in pairs) == 4 * contexts

    first = seed[0]
    small = write_dri_data(tmp_path / "small", 4, 5 * len(first.supporter_turn_indices()))
    assert [d.id for d in training_pairs(small.train, small.dri)[0]] == [first.id]


def test_the_configs_keep_the_existing_ones(bench_modules):
    from train_gpu import CONFIGS

    assert CONFIGS == ("baseline-int8", "baseline-bf16", "escbench-int8", "escbench-bf16", *DRI_CONFIGS)


@pytest.mark.slow
def test_cpu_flow_trains_both_layouts_and_packed_processes_each_context_once(tmp_path, bench_modules):
    """The script's whole flow on a tiny random LLaMA: one epoch each way, token counts exact."""
    from escbench.harness.models import resolve_model
    from escbench.harness.prompts import read_prompt_template
    from escbench.plugins.chatpal.student_format import default_prompt_path
    from escbench.plugins.chatpal.train.collate import IGNORE_INDEX, PromptFormat, encode_pairs
    from escbench.plugins.chatpal.train.model import load_tokenizer
    from train_gpu_dri import write_dri_data

    out = tmp_path / "train_gpu.json"
    command = [sys.executable, str(BENCHMARKS / "train_gpu.py"), "--allow-cpu", "--tiny", "--configs",
               ",".join(DRI_CONFIGS), "--effective-batch", "4", "--micro-batch", "2", "--warmup", "1",
               "--steps", "1", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text(), parse_constant=lambda name: pytest.fail(f"non-strict JSON: {name}"))
    assert REPORT_FIELDS <= set(report)
    assert report["paper_hours"] == 15  # the paper: "approximately 15 hours" on A100-40GB GPUs
    rows = {row["config"]: row for row in report["rows"]}
    assert list(rows) == DRI_CONFIGS and all(ROW_FIELDS <= set(row) for row in rows.values()), rows
    unpacked, packed = rows["escbench-bf16-dri"], rows["escbench-bf16-dri-packed"]
    assert (unpacked["packed"], packed["packed"]) == (False, True)
    assert "speedup_vs_dri_unpacked" in packed and packed["projected_7b_epoch_hours"] > 0

    # The same data again, tokenised as escbench train does, with the tiny model's tokenizer (SmolLM2's).
    data = write_dri_data(tmp_path / "again", report["dri"]["k"], report["dri"]["pairs_needed"])
    _, pairs = training_pairs(data.train, data.dri)
    prompt_format = PromptFormat(True, read_prompt_template(default_prompt_path(True)), report["seq_len"])
    encoded = encode_pairs(pairs, load_tokenizer(str(resolve_model("smollm2"))), prompt_format)
    assert not encoded.dropped and not encoded.shortened
    groups: dict[tuple[str, int], list[dict]] = {}
    for pair, feature in zip(pairs, encoded.features):
        groups.setdefault((pair.context.dialogue_id, pair.context.turn_index), []).append(feature)
    unpacked_tokens = sum(len(f["input_ids"]) for f in encoded.features)
    saved = 0
    for features in groups.values():
        prompt = len(features[0]["labels"]) - sum(label != IGNORE_INDEX for label in features[0]["labels"])
        assert all(f["input_ids"][:prompt] == features[0]["input_ids"][:prompt] for f in features)
        saved += (len(features) - 1) * (prompt - 1)
    assert len(groups) == report["dri"]["contexts"] == packed["sequences"]
    assert unpacked["pairs"] == packed["pairs"] == len(pairs) == 5 * len(groups)
    assert unpacked["tokens"] == unpacked_tokens
    assert packed["tokens"] == unpacked_tokens - saved and saved > 0
    assert packed["tokens_saved_vs_dri_unpacked"] == saved
    assert "DRI layout: k=4" in done.stdout and "paper: about 15 h" in done.stdout
