"""Training real students on CPU with the embedded SmolLM2 (and tiny random models).

Kept cheap: a few seed dialogues, 192 tokens (the system prompt takes about 64), one example per step, one torch thread
(on a shared 2-core machine more threads only fight each other), a few dozen steps in all.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from escbench.harness.data import Dialogue, Turn
from escbench.harness.errors import ConfigError, DataError
from escbench.harness.loaders import load_dialogues, write_jsonl
from escbench.harness.models import resolve_model
from escbench.harness.paths import TASKS_DIR
from escbench.harness.registry import GenerationSettings
from escbench.plugins.chatpal.train.card import check_student, read_card, verify_base_model
from escbench.plugins.chatpal.train.settings import TrainSettings
from escbench.plugins.chatpal.train.trainer import train_student

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_torch_thread")]

VALID = Dialogue(
    id="garden-plot",
    scene="Loneliness",
    description="A retired teacher lost touch with colleagues.",
    turns=(
        Turn("user", "Since I retired nobody calls me any more."),
        Turn("ai", "It hurts when the daily contact just stops.", "Emotional Validation"),
        Turn("user", "I thought we were friends, not only colleagues."),
        Turn("ai", "Would you feel able to invite one of them for a coffee?", "Suggest Options"),
    ),
)


@pytest.fixture(scope="module")
def data_files(tmp_path_factory) -> dict[str, Path]:
    """Two seed dialogues for training and one written here for validation."""
    folder = tmp_path_factory.mktemp("train-data")
    seed = load_dialogues(TASKS_DIR / "seed" / "seed_dialogues.json").dialogues
    return {"train": write_jsonl(seed[:2], folder / "train.jsonl"),
            "valid": write_jsonl([VALID], folder / "valid.jsonl")}


def settings(out: Path, data: Path, **overrides) -> TrainSettings:
    # 192 tokens: the student system prompt with scene and description takes about 64 of them
    values = dict(base="smollm2", data=[str(data)], out=out, max_len=192, micro_batch=1, effective_batch=1,
                  max_steps=2, save_steps=100, eval_steps=100, valid_fraction=0, progress=False)
    return TrainSettings(**{**values, **overrides})


@pytest.fixture(scope="module")
def lora_student(tmp_path_factory, data_files):
    """A LoRA student: 8 steps at max-len 192 with a validation loss every 4 steps."""
    out = tmp_path_factory.mktemp("lora") / "student"
    outcome = train_student(settings(out, data_files["train"], valid_data=[str(data_files["valid"])], max_len=192,
                                     max_steps=8, eval_steps=4, save_steps=4, learning_rate=1e-3,
                                     lr_scheduler="constant"))
    return outcome


def tiny_model(folder: Path, architecture: str) -> Path:
    """A random 2-layer model with SmolLM2's tokenizer, saved as a model folder."""
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    from escbench.plugins.chatpal.train.model import load_tokenizer

    tokenizer = load_tokenizer(str(resolve_model("smollm2")))
    if architecture == "gpt2":
        config = GPT2Config(n_layer=2, n_head=2, n_embd=64, n_positions=256, vocab_size=len(tokenizer))
    else:
        config = LlamaConfig(num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, hidden_size=64,
                             intermediate_size=128, vocab_size=len(tokenizer), max_position_embeddings=256)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def mean_target_loss(model, features) -> float:
    import torch

    from escbench.plugins.chatpal.train.collate import make_collator
    from escbench.plugins.chatpal.train.model import load_tokenizer

    batch = make_collator(load_tokenizer(str(resolve_model("smollm2"))))(features)
    with torch.no_grad():
        return model(**batch).loss.item()


def test_lora_training_lowers_the_loss_on_its_data_and_reloads(lora_student, data_files):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from escbench.plugins.chatpal.train.collate import PromptFormat, encode_pairs
    from escbench.plugins.chatpal.train.data import dialogue_pairs
    from escbench.plugins.chatpal.train.model import load_tokenizer

    card = lora_student.card
    pairs = [p for d in load_dialogues(data_files["train"]).dialogues for p in dialogue_pairs(d)][:6]
    prompt_format = PromptFormat(True, card["prompt_format"]["system_prompt"], 192)
    features = encode_pairs(pairs, load_tokenizer(str(resolve_model("smollm2"))), prompt_format).features
    base = AutoModelForCausalLM.from_pretrained(resolve_model("smollm2"), dtype=torch.float32)
    before = mean_target_loss(base, features)
    student = PeftModel.from_pretrained(base, str(lora_student.out))
    after = mean_target_loss(student, features)
    assert after < before - 0.3, (before, after)


def test_the_card_records_base_data_format_and_losses(lora_student, data_files):
    card = read_card(lora_student.out)
    assert card["artifact"] == "adapter" and card["method"] == "lora"
    assert card["base_model"]["spec"] == "smollm2" and card["base_model"]["source_sha256"]
    assert card["prompt_format"]["target"] == "[Strategy] response"
    assert card["prompt_format"]["max_len"] == 192 and card["prompt_format"]["truncation"] == "drop-oldest-turns"
    assert "square brackets" in card["prompt_format"]["system_prompt"]
    assert [d["kind"] for d in card["data"]] == ["dialogues", "valid-dialogues"]
    assert card["data"][0]["sha256"] == hashlib.sha256(data_files["train"].read_bytes()).hexdigest()
    results = card["results"]
    assert results["steps"] == 8 and results["final_train_loss"] > 0 and results["final_valid_loss"] > 0
    assert card["hyperparameters"]["lora_r"] == 8 and card["hyperparameters"]["int8_layers"] == 0
    assert card["hardware"]["gpus"] == 0 and results["wall_time_s"] > 0


def test_the_log_has_every_step_validation_and_throughput(lora_student):
    records = [json.loads(line) for line in (lora_student.out / "train_log.jsonl").read_text().splitlines()]
    train_steps = [r["step"] for r in records if r["event"] == "train"]
    assert train_steps == list(range(1, 9))
    assert [r["step"] for r in records if r["event"] == "eval"] == [4, 8]
    assert all(r["tokens_per_s"] > 0 for r in records if r["event"] == "train")
    assert sorted(p.name for p in (lora_student.out / "checkpoints").iterdir()) == ["checkpoint-4", "checkpoint-8"]


def test_the_trained_adapter_changes_greedy_generations(lora_student):
    from escbench.harness.backends.hf import HFBackend
    from escbench.plugins.chatpal.student_format import context_messages

    conversations = [context_messages(VALID.turns[:1]), context_messages(VALID.turns[:3])]
    greedy = GenerationSettings(max_new_tokens=12, batch_size=2)
    base = HFBackend().generate(conversations, greedy)
    student = HFBackend(adapter=str(lora_student.out)).generate(conversations, greedy)
    assert [o.text for o in student] != [o.text for o in base]


def test_the_chatpal_system_runs_with_the_trained_adapter(lora_student, tmp_path):
    # trained with strategy tags and without DRI: the card fits chatpal-w/o-dri
    result = run_cli("run", "--systems", "chatpal-w/o-dri", "--system-args", f"adapter={lora_student.out}",
                     "--splits", "seed", "--limit", "2", "--max-new-tokens", "8", "--metrics", "distinct",
                     "--out", str(tmp_path), env={"OMP_NUM_THREADS": "1"}, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    (record_path,) = [p for p in tmp_path.rglob("*.json") if "chatpal" in p.name and "samples" not in p.name]
    record = json.loads(record_path.read_text())
    assert str(lora_student.out) in json.dumps(record["system"])


def test_a_killed_run_resumes_to_the_same_adapter(tmp_path, data_files):
    from safetensors.torch import load_file

    common = dict(max_steps=6, save_steps=2)
    uninterrupted = train_student(settings(tmp_path / "whole", data_files["train"], **common))
    killed = tmp_path / "killed"
    command = [sys.executable, "-m", "escbench.harness.cli", "train", "--data", str(data_files["train"]), "--out", str(killed),
               "--max-len", "192", "--micro-batch", "1", "--effective-batch", "1", "--max-steps", "6",
               "--save-steps", "2", "--eval-steps", "100", "--valid-fraction", "0", "--no-progress"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "OMP_NUM_THREADS": "1", "ESCBENCH_PLUGINS": "chatpal"})
    marker = killed / "checkpoints" / "checkpoint-4" / "trainer_state.json"
    deadline = time.monotonic() + 240
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert marker.exists() and not (killed / "training_card.json").exists()
    resumed = train_student(settings(killed, data_files["train"], **common))
    assert resumed.card["results"]["resumed_from_step"] == 4
    whole, again = (load_file(out / "adapter_model.safetensors") for out in (uninterrupted.out, killed))
    assert whole.keys() == again.keys()
    assert max((whole[k] - again[k]).abs().max().item() for k in whole) < 1e-6
    steps = [json.loads(line)["step"] for line in (killed / "train_log.jsonl").read_text().splitlines()
             if json.loads(line)["event"] == "train"]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_int8_base_weights_train_through_bitsandbytes(tmp_path, data_files):
    outcome = train_student(settings(tmp_path / "int8", data_files["train"], load_8bit=True, max_steps=1))
    assert outcome.card["hyperparameters"]["int8_layers"] == 30 * 7
    assert outcome.card["results"]["final_train_loss"] > 0
    assert (outcome.out / "adapter_model.safetensors").stat().st_size > 0


def test_adaption_prompt_trains_only_the_prompts_and_gates(tmp_path, data_files):
    outcome = train_student(settings(tmp_path / "adapter", data_files["train"], method="adapter", max_steps=1))
    config = json.loads((outcome.out / "adapter_config.json").read_text())
    assert config["peft_type"] == "ADAPTION_PROMPT" and config["adapter_len"] == 10
    assert outcome.card["hyperparameters"]["trainable_parameters"] == 30 * 10 * 576 + 30


def test_full_fine_tuning_updates_every_weight_of_a_gpt2_model(tmp_path, data_files):
    import torch
    from transformers import AutoModelForCausalLM

    base = tiny_model(tmp_path / "tiny-gpt2", "gpt2")
    outcome = train_student(settings(tmp_path / "full", data_files["train"], base=str(base), method="full",
                                     learning_rate=1e-3))
    assert outcome.card["artifact"] == "model"
    before = AutoModelForCausalLM.from_pretrained(base)
    after = AutoModelForCausalLM.from_pretrained(outcome.out)
    changed = [not torch.equal(p, q) for p, q in zip(before.parameters(), after.parameters())]
    assert all(changed) and outcome.card["hyperparameters"]["trainable_parameters"] == before.num_parameters()


def test_lora_targets_missing_from_the_model_name_the_flag(tmp_path, data_files):
    base = tiny_model(tmp_path / "tiny-gpt2", "gpt2")
    with pytest.raises(ConfigError, match="--lora-targets: q_proj.*c_attn"):
        train_student(settings(tmp_path / "out", data_files["train"], base=str(base)))


@pytest.mark.parametrize("kind", ["bert", "t5"])
def test_a_base_model_that_is_not_a_causal_lm_is_refused(tmp_path, data_files, kind):
    from transformers import BertConfig, T5Config

    config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64) \
        if kind == "bert" else T5Config(d_model=32, num_layers=1, num_heads=2, d_ff=64)
    config.save_pretrained(tmp_path / kind)
    with pytest.raises(ConfigError, match=f"'{kind}' model, not a causal"):
        train_student(settings(tmp_path / "out", data_files["train"], base=str(tmp_path / kind)))
    assert not (tmp_path / "out").exists()


def test_empty_data_is_refused_before_loading_the_model(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(DataError, match="no supporter turns to train on in .*empty.jsonl"):
        train_student(settings(tmp_path / "out", empty))


def test_examples_longer_than_max_len_are_refused(tmp_path, data_files):
    with pytest.raises(DataError, match="fits in --max-len 8 tokens"):
        train_student(settings(tmp_path / "out", data_files["train"], max_len=8))


def test_an_adapter_for_another_base_model_is_refused(lora_student, tmp_path):
    from escbench.harness.backends.hf import HFBackend

    other = tiny_model(tmp_path / "tiny-llama", "llama")
    with pytest.raises(ConfigError, match="trained on 'smollm2'"):
        verify_base_model(read_card(lora_student.out), str(other))
    verify_base_model(read_card(lora_student.out), "smollm2")
    with pytest.raises(ConfigError, match="does not fit model"):
        HFBackend(model=str(other), adapter=str(lora_student.out)).load()


def test_resuming_on_another_base_model_is_refused(tmp_path, data_files):
    from escbench.plugins.chatpal.train.card import base_fingerprint
    from escbench.plugins.chatpal.train.data import DataSource
    from escbench.plugins.chatpal.train.output import prepare_output
    from escbench.plugins.chatpal.train.trainer import run_fingerprint

    out = tmp_path / "out"
    smollm2 = base_fingerprint("smollm2", resolve_model("smollm2"))
    source = DataSource(str(data_files["train"]), hashlib.sha256(data_files["train"].read_bytes()).hexdigest(), "dialogues", 2)
    prepare_output(out, run_fingerprint(settings(out, data_files["train"]), smollm2, [source]), overwrite=False)
    (out / "checkpoints" / "checkpoint-2").mkdir(parents=True)
    (out / "checkpoints" / "checkpoint-2" / "trainer_state.json").write_text("{}")
    other = tiny_model(tmp_path / "tiny-llama", "llama")
    with pytest.raises(ConfigError, match=r"other settings \(base, base_config_sha256, base_weights_bytes\)"):
        train_student(settings(out, data_files["train"], base=str(other)))


def test_student_systems_can_check_an_adapter_against_its_card(lora_student, tmp_path):
    prompt = read_card(lora_student.out)["prompt_format"]["system_prompt"]
    card = check_student(lora_student.out, "smollm2", True, prompt, system="chatpal")
    assert card["prompt_format"]["target"] == "[Strategy] response"
    with pytest.raises(ConfigError, match="trained with strategy tags"):
        check_student(lora_student.out, "smollm2", False, prompt, system="augesc")
    with pytest.raises(ConfigError, match="prompt differs"):
        check_student(lora_student.out, "smollm2", True, "Be brief.", system="chatpal")
    assert check_student(tmp_path, "smollm2", True, prompt) is None


def test_data_parallel_processes_share_the_effective_batch(tmp_path, data_files):
    """Two CPU processes under torchrun (what `accelerate launch` runs per GPU), gloo backend."""
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).parent / "torchrun"
    command = [str(torchrun), "--nproc_per_node", "2", "-m", "escbench.harness.cli", "train", "--data", str(data_files["train"]),
               "--out", str(out), "--max-len", "192", "--micro-batch", "1", "--effective-batch", "4",
               "--max-steps", "2", "--save-steps", "100", "--eval-steps", "100", "--valid-fraction", "0", "--no-progress"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "1", "ESCBENCH_PLUGINS": "chatpal"})
    assert result.returncode == 0, result.stderr[-3000:]
    card = read_card(out)
    assert card["hyperparameters"]["world_size"] == 2
    assert card["hyperparameters"]["gradient_accumulation_steps"] == 2
    # both processes' examples counted: 8 examples (2 steps x 2 processes x 2 accumulated), more
    # tokens than the 4 longest examples one process alone could have seen
    from escbench.plugins.chatpal.train.collate import PromptFormat, encode_pairs
    from escbench.plugins.chatpal.train.data import dialogue_pairs
    from escbench.plugins.chatpal.train.model import load_tokenizer

    pairs = [p for d in load_dialogues(data_files["train"]).dialogues for p in dialogue_pairs(d)]
    fmt = PromptFormat(True, card["prompt_format"]["system_prompt"], 192)
    lengths = sorted(len(f["input_ids"]) for f in encode_pairs(pairs, load_tokenizer(str(resolve_model("smollm2"))), fmt).features)
    assert sum(lengths[-4:]) < card["results"]["input_tokens_seen"] <= sum(lengths[-8:])
    assert result.stderr.count("wrote adapter to") == 1  # only the main process reports
