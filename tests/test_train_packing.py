"""DRI packing (issue #16 part 3): a context and its K+1 targets in one sequence give the loss
and gradients of the unpacked pairs.

The reference is computed independently of the packing code: each (prompt, target) pair goes
through the model alone with no mask or position ids, and its target tokens' cross-entropy is
taken from the logits with torch directly; the batch loss is the sum over all target tokens
divided by their number (what the Trainer's per-step token normalisation gives).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from escbench.plugins.chatpal.train.collate import IGNORE_INDEX, fit_pair
from escbench.plugins.chatpal.train.packing import (PackedCollator, allowed_attention, pack_features, pack_group,
                                           packed_batching, packing_support)

# Three contexts: two targets share a prompt with a third (as DRI alternatives do), one context
# has a single target, one has two; the prompts differ in length so batches need padding.
PAIRS = [
    ([5, 17, 9, 23, 41, 7, 3], [12, 30, 8, 2]),
    ([5, 17, 9, 23, 41, 7, 3], [44, 2]),
    ([5, 17, 9, 23, 41, 7, 3], [19, 26, 33, 50, 2]),
    ([8, 14, 6], [27, 2]),
    ([21, 4, 35, 11, 9], [13, 38, 2]),
    ([21, 4, 35, 11, 9], [40, 16, 22, 7, 31, 2]),
]


def tiny_llama(implementation: str, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=64, max_position_embeddings=64)
    config._attn_implementation = implementation
    model = LlamaForCausalLM(config).float()
    model.train()  # no dropout in LLaMA: train mode is deterministic
    return model


def reference_loss(model, pairs):
    """Per-example plain forwards; sum of target-token cross-entropies / number of target tokens."""
    import torch
    import torch.nn.functional as F

    total, count = 0.0, 0
    for prompt, target in pairs:
        logits = model(input_ids=torch.tensor([prompt + target])).logits[0]
        predicting = logits[len(prompt) - 1:len(prompt) + len(target) - 1]
        total = total + F.cross_entropy(predicting.float(), torch.tensor(target), reduction="sum")
        count += len(target)
    return total / count


def gradients(model):
    return {name: p.grad.detach().clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("implementation", ["sdpa", "eager"])
def test_packed_loss_and_gradients_equal_the_per_example_forward(implementation):
    import torch

    model = tiny_llama(implementation)
    expected = reference_loss(model, PAIRS)
    expected.backward()
    expected_grads = gradients(model)
    model.zero_grad()

    features = [fit_pair(p, t, 64) for p, t in PAIRS]
    packed = pack_features(features, limit=256)
    assert len(packed) == 3
    additive = torch.float32 if implementation == "eager" else None
    batch = PackedCollator(pad_token_id=0, additive_dtype=additive)(packed)
    loss = model(**batch).loss
    loss.backward()

    assert abs(loss.item() - expected.item()) / expected.item() < 1e-5
    grads = gradients(model)
    assert grads.keys() == expected_grads.keys()
    for name, grad in grads.items():
        scale = expected_grads[name].abs().max().item()
        assert torch.allclose(grad, expected_grads[name], rtol=1e-4, atol=1e-6 * max(scale, 1e-3)), name


def test_packed_batches_split_over_micro_batches_sum_to_the_unpacked_loss():
    """What gradient accumulation does: per micro batch, target-token loss sums over the step's count."""
    import torch

    model = tiny_llama("sdpa", seed=3)
    with torch.no_grad():
        expected = reference_loss(model, PAIRS).item()
        packed = pack_features([fit_pair(p, t, 64) for p, t in PAIRS], limit=256)
        collate = PackedCollator(pad_token_id=0)
        step_tokens = sum(len(t) for _, t in PAIRS)
        total = sum(model(**collate([f]), num_items_in_batch=step_tokens).loss.item() for f in packed)
    assert total == pytest.approx(expected, rel=1e-5)


def test_a_packed_sequence_lays_out_context_once_and_each_target_after_the_last_prompt_token():
    # prompt [11, 12, 13]; targets [21, 22] and [31], worked by hand
    packed = pack_group([fit_pair([11, 12, 13], [21, 22], 16), fit_pair([11, 12, 13], [31], 16)])
    assert packed == {"input_ids": [11, 12, 13, 21, 22, 13, 31],
                      "labels": [IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 21, 22, IGNORE_INDEX, 31],
                      "position_ids": [0, 1, 2, 3, 4, 2, 3],
                      "segment_ids": [0, 0, 1, 1, 1, 2, 2]}
    with pytest.raises(ValueError, match="share their prompt"):
        pack_group([fit_pair([11, 12, 13], [21], 16), fit_pair([11, 12, 14], [31], 16)])


def test_the_mask_lets_each_target_see_the_context_and_itself_only():
    import torch

    segments = torch.tensor([[0, 0, 1, 1, 1, 2, 2, -1]])
    allowed = allowed_attention(segments)[0, 0].int().tolist()
    assert allowed == [
        [1, 0, 0, 0, 0, 0, 0, 0],
        [1, 1, 0, 0, 0, 0, 0, 0],
        [1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 0, 0, 0, 0],
        [1, 1, 1, 1, 1, 0, 0, 0],
        [1, 1, 0, 0, 0, 1, 0, 0],
        [1, 1, 0, 0, 0, 1, 1, 0],
        [1, 0, 0, 0, 0, 0, 0, 0],  # padding sees the first token only (no empty softmax row)
    ]


def test_groups_follow_identical_prompts_and_split_beyond_the_limit():
    features = [fit_pair(p, t, 64) for p, t in PAIRS]
    packed = pack_features(features, limit=256)
    assert [seq["segment_ids"][-1] for seq in packed] == [3, 1, 2]
    # limit 16: the first context (6 tokens + 5 + 3 + 6 per target) splits after its first two targets
    small = pack_features(features, limit=16)
    assert [len(seq["input_ids"]) for seq in small] == [6 + 5 + 3, 6 + 6, 2 + 3, 4 + 4 + 7]
    assert sum(label != IGNORE_INDEX for seq in small for label in seq["labels"]) == sum(len(t) for _, t in PAIRS)


def test_batches_stay_counted_in_examples():
    # micro batch 4 examples, effective 128: contexts of 4 targets -> 1 per micro batch, 32 steps
    assert packed_batching(4, 128, 1, 4.0) == (1, 32)
    assert packed_batching(8, 128, 2, 2.0) == (4, 8)
    assert packed_batching(1, 1, 1, 3.0) == (1, 1)


def test_models_without_a_custom_mask_path_are_not_packed():
    model = tiny_llama("sdpa")
    assert packing_support(model, "lora") is None
    assert packing_support(tiny_llama("eager"), "full") is None
    assert "adaption prompts" in packing_support(model, "adapter")
    model.config._attn_implementation = "flash_attention_2"
    assert "flash_attention_2" in packing_support(model, "lora")


def test_the_switch_is_a_flag_and_a_setting(tmp_path):
    from escbench.plugins.chatpal.train.command import configure, settings_from_args

    parser = argparse.ArgumentParser()
    configure(parser)
    base = ["--data", "d.jsonl", "--out", str(tmp_path / "o")]
    assert settings_from_args(parser.parse_args(base)).pack_dri is True
    assert settings_from_args(parser.parse_args(base + ["--no-pack-dri"])).pack_dri is False


# --- end to end, the embedded SmolLM2 through escbench's trainer ------------------------------------------------

@pytest.fixture(scope="module")
def dri_files(tmp_path_factory) -> dict[str, Path]:
    from escbench.harness.loaders import load_dialogues, write_jsonl
    from escbench.harness.paths import TASKS_DIR

    folder = tmp_path_factory.mktemp("pack-data")
    seed = load_dialogues(TASKS_DIR / "seed" / "seed_dialogues.json").dialogues[0]
    lines = [json.dumps({"dialogue_id": seed.id, "turn_index": index,
                         "original": {"text": seed.turns[index].text, "strategy": seed.turns[index].strategy},
                         "alternatives": [{"text": "That sounds like a lot to carry.", "strategy": "Emotional Validation"},
                                          {"text": "What would help most right now?", "strategy": "Clarification"}]})
             for index in seed.supporter_turn_indices()]
    dri = folder / "dri.jsonl"
    dri.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"train": write_jsonl([seed], folder / "train.jsonl"), "dri": dri,
            "contexts": len(seed.supporter_turn_indices())}


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_one_step_over_all_pairs_has_the_same_loss_packed_and_unpacked(tmp_path, dri_files):
    """One optimizer step covering every pair: the step loss is the mean over all target tokens both ways."""
    from escbench.plugins.chatpal.train.card import read_card
    from escbench.plugins.chatpal.train.settings import TrainSettings
    from escbench.plugins.chatpal.train.trainer import train_student

    cards = {}
    for pack in (True, False):
        settings = TrainSettings(base="smollm2", data=[str(dri_files["train"])], dri=str(dri_files["dri"]),
                                 out=tmp_path / str(pack), max_len=192, micro_batch=4, effective_batch=64,
                                 max_steps=1, save_steps=100, eval_steps=100, valid_fraction=0, lora_dropout=0.0,
                                 pack_dri=pack, progress=False)
        train_student(settings)
        cards[pack] = read_card(tmp_path / str(pack))
    packed, unpacked = cards[True], cards[False]
    assert packed["packing"]["dri_packing"] is True and unpacked["packing"]["dri_packing"] is False
    assert "--no-pack-dri" in unpacked["packing"]["reason"]
    # every context once (some originals are too long for 192 tokens and dropped; their alternatives stay)
    assert packed["packing"]["sequences"] == dri_files["contexts"] < packed["data_stats"]["train_examples"]
    assert packed["packing"]["tokens"] < unpacked["data_stats"]["train_tokens"]
    assert packed["results"]["steps"] == unpacked["results"]["steps"] == 1
    assert packed["results"]["final_train_loss"] == pytest.approx(unpacked["results"]["final_train_loss"], rel=1e-5)
    assert packed["results"]["input_tokens_seen"] == packed["packing"]["tokens"]
    assert unpacked["results"]["input_tokens_seen"] == unpacked["data_stats"]["train_tokens"]


def test_settings_default_to_packing():
    from escbench.plugins.chatpal.train.settings import TrainSettings

    assert TrainSettings(base="smollm2", data=["x"], out=Path("o")).pack_dri is True


def test_the_plan_packs_only_when_asked_with_dri_data_and_a_capable_model(capsys):
    from types import SimpleNamespace

    from escbench.plugins.chatpal.train.packing import plan_packing
    from escbench.plugins.chatpal.train.settings import TrainSettings

    tokenizer = SimpleNamespace(pad_token_id=0)
    features = [fit_pair(p, t, 64) for p, t in PAIRS]
    model = tiny_llama("sdpa")

    def plan(features=features, model=model, **overrides):
        values = dict(base="smollm2", data=["x"], out=Path("o"), dri="dri.jsonl", micro_batch=2, effective_batch=6)
        return plan_packing(TrainSettings(**{**values, **overrides}), model, features, features[:1], 1, tokenizer, None)

    packed = plan()
    assert packed.used and packed.card()["dri_packing"] is True
    # 6 pairs in 3 contexts: 2 examples per context, so 1 sequence per micro batch and 3 steps of accumulation
    assert (packed.micro_batch, packed.accumulation) == (1, 3)
    assert packed.stats["sequences"] == 3 and packed.stats["mean_targets_per_sequence"] == 2.0
    assert packed.stats["unpacked_tokens"] == sum(len(p) + len(t) for p, t in PAIRS) == 56
    # every target after a context's first saves the context less its repeated last token:
    # 2 x (7 - 1) in the first context, none in the second, 1 x (5 - 1) in the third
    assert packed.stats["tokens"] == 56 - 12 - 0 - 4
    assert not plan(pack_dri=False).used and "--no-pack-dri" in plan(pack_dri=False).reason
    assert not plan(dri=None, dri_k=None).used
    assert "more than one target" in plan(features=features[3:4]).reason
    off = plan(method="adapter")
    assert not off.used and "adaption prompts" in off.reason
    assert "DRI packing is off" in capsys.readouterr().err
    assert (off.micro_batch, off.accumulation) == (2, 3)
