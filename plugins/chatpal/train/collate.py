"""Tokenising training pairs: the student prompt, the target, left truncation, loss mask.

Prompt and target text come from :func:`plugins.systems.student_format.training_pair`, the
one definition shared with the student systems. The prompt is tokenised on its own (special
tokens added only for tokenizers without a chat template, as the generation backend does)
and the target after it, so training sees exactly the token boundary inference produces.
A pair longer than ``max_len`` loses prompt tokens from the left; a pair whose target alone
leaves no room for a prompt token is dropped and counted. Labels are ``IGNORE_INDEX`` on
prompt tokens: the loss is on the target (and its closing eos) only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from harness.errors import DataError

from .data import TrainingPair

IGNORE_INDEX = -100
TOKENIZE_BATCH = 512


@dataclass(frozen=True)
class PromptFormat:
    """What decides the training text; recorded in the training card for inference."""

    with_strategy: bool
    system_prompt: str
    max_len: int = 256


@dataclass
class EncodedPairs:
    """Token features (``input_ids``, ``attention_mask``, ``labels``) ready for a collator."""

    features: list[dict[str, list[int]]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    truncated: int = 0

    @property
    def tokens(self) -> int:
        return sum(len(feature["input_ids"]) for feature in self.features)

    @property
    def target_tokens(self) -> int:
        return sum(sum(label != IGNORE_INDEX for label in f["labels"]) for f in self.features)


def render_pair(pair: TrainingPair, tokenizer: Any, prompt_format: PromptFormat) -> tuple[str, str]:
    """``(prompt, completion)`` text of one pair in the student format."""
    from plugins.systems.student_format import training_pair

    return training_pair(pair.context, pair.strategy, pair.response, tokenizer,
                         with_strategy=prompt_format.with_strategy, template=prompt_format.system_prompt)


def encode_pairs(pairs: Sequence[TrainingPair], tokenizer: Any, prompt_format: PromptFormat) -> EncodedPairs:
    """Tokenise ``pairs`` in order (see module doc); batched for the fast tokenizers."""
    encoded = EncodedPairs()
    add_special = not getattr(tokenizer, "chat_template", None)
    for start in range(0, len(pairs), TOKENIZE_BATCH):
        chunk = pairs[start:start + TOKENIZE_BATCH]
        texts = [render_pair(pair, tokenizer, prompt_format) for pair in chunk]
        prompts = tokenizer([p for p, _ in texts], add_special_tokens=add_special)["input_ids"]
        targets = tokenizer([t for _, t in texts], add_special_tokens=False)["input_ids"]
        for pair, prompt_ids, target_ids in zip(chunk, prompts, targets):
            feature = fit_pair(prompt_ids, target_ids, prompt_format.max_len)
            if feature is None:
                encoded.dropped.append(pair.id)
                continue
            encoded.truncated += len(feature["input_ids"]) - len(target_ids) < len(prompt_ids)
            encoded.features.append(feature)
            encoded.ids.append(pair.id)
    return encoded


def fit_pair(prompt_ids: Sequence[int], target_ids: Sequence[int], max_len: int) -> dict[str, list[int]] | None:
    """One feature with the prompt cut from the left to fit ``max_len``; None when the target
    needs all ``max_len`` tokens (or the target is empty)."""
    room = max_len - len(target_ids)
    if room < 1 or not target_ids or not prompt_ids:
        return None
    kept_prompt = list(prompt_ids[-room:])
    input_ids = kept_prompt + list(target_ids)
    return {"input_ids": input_ids, "attention_mask": [1] * len(input_ids),
            "labels": [IGNORE_INDEX] * len(kept_prompt) + list(target_ids)}


def require_trainable(encoded: EncodedPairs, what: str, max_len: int) -> None:
    """DataError when every pair was dropped for length (names the setting to change)."""
    if not encoded.features:
        first = encoded.dropped[0] if encoded.dropped else "none"
        raise DataError(f"none of the {len(encoded.dropped)} {what} pairs fits in --max-len {max_len} tokens "
                        f"(a reply with its tag and end token must leave room for context): raise --max-len "
                        f"or shorten the replies (first pair: {first})")


def make_collator(tokenizer: Any, pad_to_multiple_of: int | None = None) -> Any:
    """Pads a batch on the right: pad token ids, attention 0, labels ``IGNORE_INDEX``."""
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=IGNORE_INDEX,
                                  pad_to_multiple_of=pad_to_multiple_of, return_tensors="pt")
