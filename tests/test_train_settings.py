"""`escbench train` settings, command line and output folder (fresh, resumed, refused)."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from conftest import run_cli
from escbench.harness.errors import ConfigError
from escbench.harness.jsonl import append_records, read_records
from escbench.plugins.chatpal.train.command import configure, settings_from_args
from escbench.plugins.chatpal.train.output import LOG_FILE, RUN_FILE, complete_checkpoints, prepare_output
from escbench.plugins.chatpal.train.settings import TrainSettings


def parse(*argv: str) -> TrainSettings:
    parser = argparse.ArgumentParser()
    configure(parser)
    return settings_from_args(parser.parse_args(list(argv)))


def test_defaults_follow_the_paper_recipe(tmp_path):
    settings = parse("--data", "a.json,b.jsonl", "--out", str(tmp_path))
    assert settings.data == ["a.json", "b.jsonl"]
    assert (settings.method, settings.lora_r, settings.learning_rate, settings.max_len) == ("lora", 8, 3e-4, 256)
    assert settings.effective_batch == 128 and settings.accumulation_steps() == 32
    assert settings.lora_targets == ("q_proj", "k_proj", "v_proj", "o_proj")
    assert settings.with_strategy is True and settings.load_8bit is False


def test_flags_reach_the_settings(tmp_path):
    settings = parse("--data", "x.json", "--out", str(tmp_path), "--no-strategy", "--method", "adapter",
                     "--dri", "d.jsonl", "--lora-targets", "c_attn", "--lr", "1e-4", "--load-8bit", "--no-progress")
    assert (settings.with_strategy, settings.method, settings.dri) == (False, "adapter", "d.jsonl")
    assert settings.lora_targets == ("c_attn",) and settings.learning_rate == 1e-4
    assert settings.load_8bit and not settings.progress
    assert settings.dri_k is None
    assert parse("--data", "x.json", "--out", str(tmp_path), "--dri", "d.jsonl", "--dri-k", "0").dri_k == 0


def test_accumulation_keeps_the_effective_batch_across_processes(tmp_path):
    settings = TrainSettings(base="smollm2", data=["x"], out=tmp_path, micro_batch=4, effective_batch=128)
    assert [settings.accumulation_steps(n) for n in (1, 2, 8)] == [32, 16, 4]


@pytest.mark.parametrize("overrides, message", [
    ({"method": "prefix"}, "--method 'prefix'"),
    ({"load_8bit": True, "method": "full"}, "cannot be combined with --method full"),
    ({"max_len": 0}, "--max-len 0"),
    ({"micro_batch": 256}, "--micro-batch 256 exceeds --effective-batch 128"),
    ({"data": []}, "--data names no file"),
    ({"dri_k": 2}, "--dri-k 2 needs --dri"),
    ({"dri_k": -1, "dri": "d.jsonl"}, "--dri-k -1 must be a non-negative integer"),
])
def test_bad_settings_are_config_errors_naming_the_flag(tmp_path, overrides, message):
    arguments = {"base": "smollm2", "data": ["x.json"], "out": tmp_path, **overrides}
    with pytest.raises(ConfigError, match=message):
        TrainSettings(**arguments)


def test_a_fresh_folder_records_the_run_and_starts_from_scratch(tmp_path):
    out = tmp_path / "student"
    assert prepare_output(out, {"lora_r": 8}, overwrite=False) is None
    assert json.loads((out / RUN_FILE).read_text()) == {"lora_r": 8}


def test_a_folder_with_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="holds no escbench training run"):
        prepare_output(tmp_path, {}, overwrite=True)
    assert (tmp_path / "notes.txt").exists()


def test_a_finished_run_is_kept_unless_overwrite(tmp_path):
    prepare_output(tmp_path, {"seed": 1}, overwrite=False)
    (tmp_path / "training_card.json").write_text("{}")
    with pytest.raises(ConfigError, match="already holds a finished training run"):
        prepare_output(tmp_path, {"seed": 1}, overwrite=False)
    assert prepare_output(tmp_path, {"seed": 1}, overwrite=True) is None
    assert not (tmp_path / "training_card.json").exists()


def complete_checkpoint(out, step: int) -> None:
    folder = out / "checkpoints" / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    (folder / "trainer_state.json").write_text("{}")


def test_resuming_with_other_settings_names_what_changed(tmp_path):
    prepare_output(tmp_path, {"seed": 1, "lora_r": 8}, overwrite=False)
    complete_checkpoint(tmp_path, 2)
    with pytest.raises(ConfigError, match=r"other settings \(lora_r\)"):
        prepare_output(tmp_path, {"seed": 1, "lora_r": 16}, overwrite=False)


def test_a_run_stopped_before_its_first_checkpoint_restarts_with_new_settings(tmp_path):
    prepare_output(tmp_path, {"seed": 1, "lora_r": 8}, overwrite=False)
    (tmp_path / "checkpoints" / "checkpoint-2").mkdir(parents=True)  # never completed
    assert prepare_output(tmp_path, {"seed": 1, "lora_r": 16}, overwrite=False) is None
    assert json.loads((tmp_path / RUN_FILE).read_text()) == {"seed": 1, "lora_r": 16}
    assert not (tmp_path / "checkpoints").exists()


def test_resume_uses_the_last_complete_checkpoint_and_trims_the_log(tmp_path):
    prepare_output(tmp_path, {"seed": 1}, overwrite=False)
    complete_checkpoint(tmp_path, 2)
    complete_checkpoint(tmp_path, 4)
    (tmp_path / "checkpoints" / "checkpoint-6").mkdir()  # being written when the process died
    append_records(tmp_path / LOG_FILE, [{"event": "train", "step": s} for s in range(1, 6)])
    resume = prepare_output(tmp_path, {"seed": 1}, overwrite=False)
    assert resume == tmp_path / "checkpoints" / "checkpoint-4"
    assert [step for step, _ in complete_checkpoints(tmp_path)] == [2, 4]
    assert not (tmp_path / "checkpoints" / "checkpoint-6").exists()
    assert [r["step"] for r in read_records(tmp_path / LOG_FILE)] == [1, 2, 3, 4]


def test_importing_the_train_command_does_not_import_torch():
    probe = ("import sys, escbench.plugins.chatpal, escbench.plugins.chatpal.train.command; "
             "print('torch' in sys.modules, 'transformers' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"


def test_train_is_an_escbench_command():
    result = run_cli("train", "--help", env={"ESCBENCH_PLUGINS": "chatpal"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "--dri FILE" in result.stdout and "--method {lora,adapter,full}" in result.stdout


def test_a_scheduler_transformers_does_not_know_is_a_config_error(tmp_path):
    from escbench.plugins.chatpal.train.trainer import _training_arguments

    settings = TrainSettings(base="smollm2", data=["x.json"], out=tmp_path, lr_scheduler="wobbly")
    with pytest.raises(ConfigError, match="wobbly is not a valid SchedulerType"):
        _training_arguments(settings, has_valid=False, world_size=1)
