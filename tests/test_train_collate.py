"""Tokenising student pairs: the shared prompt format, left truncation, loss on the target only."""
from __future__ import annotations

import pytest

from harness.data import Dialogue, Turn
from harness.errors import DataError
from harness.models import resolve_model
from plugins.chatpal.train.collate import (IGNORE_INDEX, PromptFormat, encode_pairs, fit_pair, make_collator,
                                           require_trainable)
from plugins.chatpal.train.data import dialogue_pairs
from plugins.chatpal.train.model import load_tokenizer
from plugins.systems.chat import read_prompt_template
from plugins.systems.student_format import default_prompt_path, render_context

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


def test_fit_pair_cuts_the_prompt_from_the_left_and_masks_it():
    feature = fit_pair([1, 2, 3, 4, 5], [8, 9], max_len=5)
    assert feature == {"input_ids": [3, 4, 5, 8, 9], "attention_mask": [1] * 5,
                       "labels": [IGNORE_INDEX] * 3 + [8, 9]}
    assert fit_pair([1, 2], [8, 9], max_len=8)["input_ids"] == [1, 2, 8, 9]


def test_fit_pair_drops_a_target_that_leaves_no_room_for_the_prompt():
    assert fit_pair([1, 2, 3], [7, 8, 9], max_len=3) is None
    assert fit_pair([1, 2, 3], [7, 8], max_len=3)["input_ids"] == [3, 7, 8]


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


def test_long_pairs_keep_the_end_of_the_context_and_the_whole_target(tokenizer):
    encoded = encode_pairs(dialogue_pairs(DIALOGUE), tokenizer, strategy_format(max_len=40))
    feature = encoded.features[1]
    assert len(feature["input_ids"]) == 40 and encoded.truncated == 2
    text = tokenizer.decode(feature["input_ids"])
    assert text.endswith("Could blackout curtains and a fixed sleep window help?<|im_end|>")
    assert "snapping at my kids" in text and "<|im_start|>system" not in text


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
