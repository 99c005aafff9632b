"""Tokenising student pairs: the shared prompt format, whole-turn truncation, loss on the target only."""
from __future__ import annotations

import pytest

from escbench.harness.data import Dialogue, Turn
from escbench.harness.errors import DataError
from escbench.harness.models import resolve_model
from escbench.plugins.chatpal.train.collate import (IGNORE_INDEX, PromptFormat, encode_pairs, fit_pair, make_collator,
                                           require_trainable)
from escbench.plugins.chatpal.train.data import dialogue_pairs
from escbench.plugins.chatpal.train.model import load_tokenizer
from escbench.harness.prompts import read_prompt_template
from escbench.plugins.chatpal.student_format import default_prompt_path, render_context

DIALOGUE = Dialogue(
    id="night-shift",
    scene="Work Stress",
    description="A nurse on night shifts cannot sleep during the day.",
    turns=(
        Turn("user", "I have worked nights for a month and I sleep three hours a day at most."),
        Turn("ai", "A month of broken sleep wears anyone down.", "Reflective Statements"),
        Turn("user", "I keep snapping at my kids when I am awake."),
        Turn("ai", "Could blackout curtains and a fixed sleep window help?", "Suggest Options"),
    ),
)


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(str(resolve_model("smollm2")))


def strategy_format(max_len: int = 256, with_strategy: bool = True) -> PromptFormat:
    return PromptFormat(with_strategy, read_prompt_template(default_prompt_path(with_strategy)), max_len)


def test_fit_pair_joins_prompt_and_target_and_masks_the_prompt():
    feature = fit_pair([1, 2, 3], [8, 9], max_len=5)
    assert feature == {"input_ids": [1, 2, 3, 8, 9], "attention_mask": [1] * 5,
                       "labels": [IGNORE_INDEX] * 3 + [8, 9]}


def test_fit_pair_never_cuts_tokens_it_refuses_a_pair_too_long():
    assert fit_pair([1, 2, 3], [7, 8, 9], max_len=5) is None
    assert fit_pair([1, 2, 3], [], max_len=5) is None


def test_labels_hold_exactly_the_tagged_reply_and_eos(tokenizer):
    encoded = encode_pairs(dialogue_pairs(DIALOGUE), tokenizer, strategy_format())
    feature = encoded.features[1]
    target = [t for t in feature["labels"] if t != IGNORE_INDEX]
    assert tokenizer.decode(target) == "[Suggest Options] Could blackout curtains and a fixed sleep window help?<|im_end|>"
    prompt = feature["input_ids"][: len(feature["input_ids"]) - len(target)]
    example = dialogue_pairs(DIALOGUE)[1].context
    assert tokenizer.decode(prompt) == render_context(example, tokenizer, with_strategy=True)
    assert encoded.ids == ["night-shift:1", "night-shift:3"] and encoded.truncated == 0


def test_without_strategy_the_target_is_the_bare_reply_under_the_plain_prompt(tokenizer):
    encoded = encode_pairs(dialogue_pairs(DIALOGUE), tokenizer, strategy_format(with_strategy=False))
    labels = [t for t in encoded.features[0]["labels"] if t != IGNORE_INDEX]
    assert tokenizer.decode(labels) == "A month of broken sleep wears anyone down.<|im_end|>"
    assert "square brackets" not in tokenizer.decode(encoded.features[0]["input_ids"])


def test_long_prompts_drop_whole_oldest_turns_and_keep_the_system_prompt(tokenizer):
    """Rendered by hand with SmolLM2: the last pair's full prompt is 117 tokens, 95 without the
    first user turn, 80 without the first supporter turn too; the first pair's is 86."""
    fmt = PromptFormat(True, read_prompt_template(default_prompt_path(True)), max_len=120, max_prompt_tokens=90)
    encoded = encode_pairs(dialogue_pairs(DIALOGUE), tokenizer, fmt)
    assert encoded.ids == ["night-shift:1", "night-shift:3"] and encoded.truncated == 1 and encoded.shortened == 0
    text = tokenizer.decode(encoded.features[1]["input_ids"])
    assert text.startswith("<|im_start|>system") and DIALOGUE.description in text
    assert "I have worked nights" not in text and "A month of broken sleep" not in text
    assert "snapping at my kids" in text
    assert text.endswith("Could blackout curtains and a fixed sleep window help?<|im_end|>")


def test_a_long_target_drops_more_turns_and_is_counted(tokenizer):
    fmt = PromptFormat(True, read_prompt_template(default_prompt_path(True)), max_len=100, max_prompt_tokens=100)
    encoded = encode_pairs(dialogue_pairs(DIALOGUE), tokenizer, fmt)
    # the first pair (86 prompt tokens + its reply) cannot fit 100 without its only user turn
    assert encoded.dropped == ["night-shift:1"] and encoded.ids == ["night-shift:3"]
    assert encoded.shortened == 1 and encoded.truncated == 1
    text = tokenizer.decode(encoded.features[0]["input_ids"])
    assert "A month of broken sleep" not in text and "snapping at my kids" in text


def test_the_default_prompt_budget_leaves_room_for_a_reply():
    assert PromptFormat(True, "", max_len=256).prompt_tokens == 192
    assert PromptFormat(True, "", max_len=64).prompt_tokens == 32
    assert PromptFormat(True, "", max_len=64, max_prompt_tokens=50).prompt_tokens == 50


def test_all_pairs_longer_than_max_len_is_a_data_error_naming_the_setting(tokenizer):
    encoded = encode_pairs(dialogue_pairs(DIALOGUE), tokenizer, strategy_format(max_len=8))
    assert encoded.features == [] and encoded.dropped == ["night-shift:1", "night-shift:3"]
    with pytest.raises(DataError, match="--max-len 8"):
        require_trainable(encoded, "training", 8)


def test_the_collator_pads_on_the_right_with_ignored_labels(tokenizer):
    encoded = encode_pairs(dialogue_pairs(DIALOGUE), tokenizer, strategy_format())
    batch = make_collator(tokenizer)(encoded.features)
    short, long = sorted(encoded.features, key=lambda f: len(f["input_ids"]))
    padding = len(long["input_ids"]) - len(short["input_ids"])
    row = [i for i, f in enumerate(encoded.features) if f is short][0]
    assert batch["input_ids"].shape == (2, len(long["input_ids"]))
    assert batch["labels"][row, -padding:].tolist() == [IGNORE_INDEX] * padding
    assert batch["attention_mask"][row].sum().item() == len(short["input_ids"])


@pytest.mark.parametrize("budget", [70, 100, 150, 220, 400])
def test_fit_messages_drops_the_fewest_oldest_turns_that_fit(tokenizer, budget):
    from escbench.plugins.chatpal.student_format import context_messages, fit_messages, render_messages

    turns = tuple(Turn("user" if i % 2 == 0 else "ai", f"message {i}: " + "word " * (3 + i)) for i in range(11))
    messages = context_messages(turns, template="Listen kindly.")

    def length(candidate):
        return len(tokenizer(render_messages(candidate, tokenizer), add_special_tokens=False)["input_ids"])

    fitted = fit_messages(messages, tokenizer, budget)
    assert fitted[0] == messages[0] and fitted[-1] == messages[-1]
    assert fitted[1:] == messages[len(messages) - len(fitted) + 1:]  # a suffix of whole messages
    dropped = len(messages) - len(fitted)
    if length(fitted) > budget:  # even system + last message exceed the budget
        assert len(fitted) == 2
    if dropped:  # keeping one more message would not fit
        assert length([messages[0]] + messages[dropped:]) > budget
