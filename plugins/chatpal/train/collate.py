"""Tokenising training pairs: the student prompt, the target, truncation, loss mask.

Prompt and target text come from :func:`escbench.plugins.chatpal.student_format.training_pair`, the
one definition shared with the student systems. The prompt is tokenised on its own (special
tokens added only for tokenizers without a chat template, as the generation backend does)
and the target after it, so training sees exactly the token boundary inference produces.

Truncation is the students' one rule (``drop-oldest-turns``): the prompt keeps the newest
whole turns that fit ``max_prompt_tokens`` (the system prompt with scene and description
always stays), exactly what a student system builds at inference. A pair whose prompt and
target still exceed ``max_len`` drops further oldest turns (counted as ``shortened``: only
there do training and inference prompts differ); one that cannot fit even then is dropped
and counted. Labels are ``IGNORE_INDEX`` on prompt tokens: the loss is on the target (and
its closing eos) only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from escbench.harness.errors import DataError

from .data import TrainingPair

IGNORE_INDEX = -100
TOKENIZE_BATCH = 512


@dataclass(frozen=True)
class PromptFormat:
    """What decides the training text; recorded in the training card for inference."""

    with_strategy: bool
    system_prompt: str
    max_len: int = 256
    max_prompt_tokens: int | None = None  # None: prompt_budget(max_len)

    @property
    def prompt_tokens(self) -> int:
        from escbench.harness.prompt_budget import prompt_budget

        return prompt_budget(self.max_len, self.max_prompt_tokens)


@dataclass
class EncodedPairs:
    """Token features (``input_ids``, ``attention_mask``, ``labels``) ready for a collator."""

    features: list[dict[str, list[int]]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    truncated: int = 0  # prompts that lost oldest turns to fit the prompt budget
    shortened: int = 0  # ... and lost more to fit max_len with a long target

    @property
    def tokens(self) -> int:
        return sum(len(feature["input_ids"]) for feature in self.features)

    @property
    def target_tokens(self) -> int:
        return sum(sum(label != IGNORE_INDEX for label in f["labels"]) for f in self.features)


def render_pair(pair: TrainingPair, tokenizer: Any, prompt_format: PromptFormat,
                budget: int | None = None) -> tuple[str, str]:
    """``(prompt, completion)`` text of one pair in the student format, the prompt fitted to
    ``budget`` tokens (default: the format's prompt budget; 0: no truncation)."""
    from ..student_format import training_pair

    budget = prompt_format.prompt_tokens if budget is None else budget
    return training_pair(pair.context, pair.strategy, pair.response, tokenizer,
                         with_strategy=prompt_format.with_strategy, template=prompt_format.system_prompt,
                         max_prompt_tokens=budget or None)


def encode_pairs(pairs: Sequence[TrainingPair], tokenizer: Any, prompt_format: PromptFormat) -> EncodedPairs:
    """Tokenise ``pairs`` in order (see module doc); batched for the fast tokenizers."""
    encoded = EncodedPairs()
    add_special = not getattr(tokenizer, "chat_template", None)
    for start in range(0, len(pairs), TOKENIZE_BATCH):
        chunk = pairs[start:start + TOKENIZE_BATCH]
        texts = [render_pair(pair, tokenizer, prompt_format) for pair in chunk]
        prompts = tokenizer([p for p, _ in texts], add_special_tokens=add_special)["input_ids"]
        targets = tokenizer([t for _, t in texts], add_special_tokens=False)["input_ids"]
        for pair, (prompt, _), prompt_ids, target_ids in zip(chunk, texts, prompts, targets):
            feature = fit_pair(prompt_ids, target_ids, prompt_format.max_len)
            room = prompt_format.max_len - len(target_ids)
            if feature is None and room > 0 and target_ids:
                shorter, _ = render_pair(pair, tokenizer, prompt_format, budget=room)
                feature = fit_pair(tokenizer(shorter, add_special_tokens=add_special)["input_ids"], target_ids,
                                   prompt_format.max_len)
                encoded.shortened += feature is not None
            if feature is None:
                encoded.dropped.append(pair.id)
                continue
            encoded.truncated += prompt != render_pair(pair, tokenizer, prompt_format, budget=0)[0]
            encoded.features.append(feature)
            encoded.ids.append(pair.id)
    return encoded


def fit_pair(prompt_ids: Sequence[int], target_ids: Sequence[int], max_len: int) -> dict[str, list[int]] | None:
    """One feature (prompt then target); None when they exceed ``max_len`` together or either is
    empty. Prompts are cut by whole turns before this (see module doc), never here."""
    if not target_ids or not prompt_ids or len(prompt_ids) + len(target_ids) > max_len:
        return None
    input_ids = list(prompt_ids) + list(target_ids)
    return {"input_ids": input_ids, "attention_mask": [1] * len(input_ids),
            "labels": [IGNORE_INDEX] * len(prompt_ids) + list(target_ids)}


def require_trainable(encoded: EncodedPairs, what: str, max_len: int) -> None:
    """DataError when every pair was dropped for length (names the setting to change)."""
    if not encoded.features:
        first = encoded.dropped[0] if encoded.dropped else "none"
        raise DataError(f"none of the {len(encoded.dropped)} {what} pairs fits in --max-len {max_len} tokens "
                        f"(the system prompt with scene and description, the newest turn and the reply with its tag and "
                        f"end token must fit together): raise --max-len "
                        f"or shorten the replies (first pair: {first})")


def make_collator(tokenizer: Any, pad_to_multiple_of: int | None = None) -> Any:
    """Pads a batch on the right: pad token ids, attention 0, labels ``IGNORE_INDEX``."""
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(tokenizer, padding="longest", label_pad_token_id=IGNORE_INDEX,
                                  pad_to_multiple_of=pad_to_multiple_of, return_tensors="pt")
