"""DRI packing: one training sequence per context holding all of its targets (issue #16, part 3).

With DRI data a context appears K+1 times (the original reply and K alternatives), each time
as its own pair. Packing lays a context and its targets out once::

    prompt[:-1] | prompt[-1] target_0 | prompt[-1] target_1 | ... | prompt[-1] target_K

Each segment repeats the prompt's last token (at the position it has in the prompt) so that
the logit predicting a target's first token comes from that segment, and the standard shifted
causal-LM loss applies unchanged. A 4D attention mask lets every token see the shared context
(``prompt[:-1]``) and the earlier tokens of its own segment only; position ids restart at
``len(prompt) - 1`` in every segment. So each target token gets exactly the hidden states,
logits and loss it gets in its unpacked pair, and the loss (mean over target tokens, as the
Trainer normalises it across an optimizer step) and gradients are the unpacked batch's to float
tolerance; only the context is computed once instead of K+1 times.

Pairs are grouped by identical prompt token ids (the DRI pairs of a turn and the turn itself,
unless a long target made its prompt shorter); a group longer than ``PACK_LIMIT_FACTOR`` x
``max_len`` tokens is split into several packed sequences. Packing needs a model that takes a
custom 4D mask and position ids (transformers' mask utilities, eager or SDPA attention) and is
not used for LLaMA-Adapter (its adaption prompts attend outside the mask); :func:`packing_support`
says why when it is off. Batches are counted in examples as before: micro batch and
accumulation are converted with the mean group size (:func:`packed_batching`), so one optimizer
step still takes about ``effective_batch`` examples, whole contexts at a time.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Sequence

from .collate import IGNORE_INDEX

PACK_LIMIT_FACTOR = 4
PAD_SEGMENT = -1
CONTEXT_SEGMENT = 0


def prompt_length(feature: dict[str, list[int]]) -> int:
    """Number of leading prompt tokens (labels ``IGNORE_INDEX``) of an unpacked feature."""
    count = 0
    for label in feature["labels"]:
        if label != IGNORE_INDEX:
            break
        count += 1
    return count


def group_by_prompt(features: Sequence[dict[str, list[int]]]) -> list[list[int]]:
    """Indices of ``features`` grouped by identical prompt token ids, in first-appearance order."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, feature in enumerate(features):
        key = tuple(feature["input_ids"][:prompt_length(feature)])
        groups.setdefault(key, []).append(index)
    return list(groups.values())


def pack_group(features: Sequence[dict[str, list[int]]]) -> dict[str, list[int]]:
    """One packed feature (``input_ids``, ``labels``, ``position_ids``, ``segment_ids``) from
    unpacked features sharing one prompt (see module doc). ValueError when prompts differ."""
    first = features[0]
    cut = prompt_length(first)
    prompt = first["input_ids"][:cut]
    if cut == 0:
        raise ValueError("a feature without prompt tokens cannot be packed")
    input_ids, labels = list(prompt[:-1]), [IGNORE_INDEX] * (cut - 1)
    positions, segments = list(range(cut - 1)), [CONTEXT_SEGMENT] * (cut - 1)
    for number, feature in enumerate(features, start=1):
        if feature["input_ids"][:cut] != prompt or prompt_length(feature) != cut:
            raise ValueError("features packed together must share their prompt tokens")
        target = feature["input_ids"][cut:]
        input_ids += [prompt[-1]] + target
        labels += [IGNORE_INDEX] + feature["labels"][cut:]
        positions += list(range(cut - 1, cut + len(target)))
        segments += [number] * (len(target) + 1)
    return {"input_ids": input_ids, "labels": labels, "position_ids": positions, "segment_ids": segments}


def packed_length(prompt_len: int, target_lens: Sequence[int]) -> int:
    """Tokens of a packed sequence: the context once, each target with one prompt token."""
    return prompt_len - 1 + sum(length + 1 for length in target_lens)


def pack_features(features: Sequence[dict[str, list[int]]], limit: int) -> list[dict[str, list[int]]]:
    """Packed features for ``features`` (groups of one are packed too, so one collator serves
    every batch); a group whose packed length exceeds ``limit`` is split, in order."""
    packed = []
    for indices in group_by_prompt(features):
        cut = prompt_length(features[indices[0]])
        chunk: list[int] = []
        for index in indices:
            lengths = [len(features[i]["input_ids"]) - cut for i in chunk + [index]]
            if chunk and packed_length(cut, lengths) > limit:
                packed.append(pack_group([features[i] for i in chunk]))
                chunk = []
            chunk.append(index)
        packed.append(pack_group([features[i] for i in chunk]))
    return packed


def allowed_attention(segments: Any) -> Any:
    """Boolean ``(batch, 1, L, L)`` mask from ``(batch, L)`` segment ids: query i sees key j
    when j <= i and j is context or in i's segment; a padding query sees key 0 only (so no
    softmax row is empty) and no query sees padding."""
    import torch

    length = segments.shape[1]
    causal = torch.ones(length, length, dtype=torch.bool, device=segments.device).tril()
    query, key = segments[:, :, None], segments[:, None, :]
    allowed = causal & ((key == CONTEXT_SEGMENT) | (key == query)) & (key != PAD_SEGMENT)
    pad_rows = query.squeeze(-1) == PAD_SEGMENT
    allowed[pad_rows] = False
    allowed[..., 0] |= pad_rows
    return allowed[:, None]


@dataclass
class PackedCollator:
    """Pads packed features on the right and builds the 4D mask: boolean for SDPA and the
    mask-function attentions, additive (0 / dtype minimum, in ``dtype``) for eager attention."""

    pad_token_id: int
    additive_dtype: Any = None  # a torch dtype: additive mask; None: boolean mask
    pad_to_multiple_of: int | None = None

    def __call__(self, features: Sequence[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        length = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            length = -(-length // self.pad_to_multiple_of) * self.pad_to_multiple_of

        def padded(key: str, value: int) -> Any:
            return torch.tensor([f[key] + [value] * (length - len(f[key])) for f in features], dtype=torch.long)

        segments = padded("segment_ids", PAD_SEGMENT)
        mask = allowed_attention(segments)
        if self.additive_dtype is not None:
            mask = torch.zeros(mask.shape, dtype=self.additive_dtype).masked_fill(
                ~mask, torch.finfo(self.additive_dtype).min)
        return {"input_ids": padded("input_ids", self.pad_token_id), "labels": padded("labels", IGNORE_INDEX),
                "position_ids": padded("position_ids", 0), "attention_mask": mask}


def real_tokens(attention_mask: Any) -> Any:
    """Non-padding token count of a batch from its 4D packed mask (the diagonal: a padding
    token does not see itself)."""
    import torch

    diagonal = attention_mask[:, 0].diagonal(dim1=-2, dim2=-1)
    return (diagonal if diagonal.dtype == torch.bool else diagonal == 0).sum()


def packing_support(model: Any, method: str) -> str | None:
    """None when ``model`` takes a packed batch exactly, else the reason it does not."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    if method == "adapter":
        return "LLaMA-Adapter's adaption prompts are attended outside the attention mask"
    implementation = getattr(base.config, "_attn_implementation", None)
    if implementation not in ("eager", "sdpa"):
        return f"attention implementation {implementation!r} takes no custom 4D mask (eager or sdpa do)"
    inner = getattr(base, "model", base)
    module = sys.modules.get(type(inner).__module__)
    if module is None or not hasattr(module, "create_causal_mask"):
        return f"{type(inner).__name__} does not build its mask with transformers' mask utilities"
    import inspect

    if "position_ids" not in inspect.signature(inner.forward).parameters:
        return f"{type(inner).__name__} takes no position ids"
    return None


def packed_batching(micro_batch: int, effective_batch: int, world_size: int, mean_group: float) -> tuple[int, int]:
    """``(groups per micro batch, accumulation steps)`` so that a micro batch holds about
    ``micro_batch`` examples and an optimizer step about ``effective_batch``."""
    groups = max(1, round(micro_batch / mean_group))
    steps = max(1, round(effective_batch / (groups * mean_group * max(1, world_size))))
    return groups, steps


@dataclass
class PackingPlan:
    """What training uses: packed or unpacked features, the collator and the batch layout."""

    used: bool
    reason: str
    train_features: list = field(default_factory=list)
    eval_features: list = field(default_factory=list)
    collator: Any = None
    micro_batch: int = 0
    accumulation: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def card(self) -> dict[str, Any]:
        """The card's ``packing`` section."""
        return {"dri_packing": self.used, "reason": self.reason, **self.stats}


def plan_packing(settings: Any, model: Any, train_features: list, eval_features: list, world_size: int,
                 tokenizer: Any, pad_to_multiple_of: int | None) -> PackingPlan:
    """Pack when ``settings.pack_dri`` is on, the data has DRI pairs sharing a context and the
    model supports it (:func:`packing_support`); otherwise the unpacked layout, with the reason
    (printed to stderr when packing was asked for but the model cannot do it)."""
    from .collate import make_collator

    unpacked = PackingPlan(False, "", train_features, eval_features,
                           make_collator(tokenizer, pad_to_multiple_of), settings.micro_batch,
                           settings.accumulation_steps(world_size))
    if not settings.pack_dri:
        unpacked.reason = "turned off (--no-pack-dri)"
        return unpacked
    if not settings.dri:
        unpacked.reason = "no DRI data: every context has one target"
        return unpacked
    problem = packing_support(model, settings.method)
    if problem:
        unpacked.reason = f"not supported by this model: {problem}"
        print(f"note: DRI packing is off, {unpacked.reason}; training on unpacked pairs", file=sys.stderr)
        return unpacked
    packed = pack_features(train_features, PACK_LIMIT_FACTOR * settings.max_len)
    if len(packed) == len(train_features):
        unpacked.reason = "no context has more than one target (e.g. --dri-k 0)"
        return unpacked
    mean_group = len(train_features) / len(packed)
    groups, steps = packed_batching(settings.micro_batch, settings.effective_batch, world_size, mean_group)
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    additive = None
    if base.config._attn_implementation == "eager":
        import torch

        additive = base.dtype if base.dtype.is_floating_point else torch.float32
    stats = {"sequences": len(packed), "mean_targets_per_sequence": round(mean_group, 3),
             "tokens": sum(len(f["input_ids"]) for f in packed),
             "unpacked_tokens": sum(len(f["input_ids"]) for f in train_features),
             "sequences_per_micro_batch": groups, "gradient_accumulation_steps": steps}
    return PackingPlan(True, "DRI pairs of one context share one sequence", packed,
                       pack_features(eval_features, PACK_LIMIT_FACTOR * settings.max_len),
                       PackedCollator(tokenizer.pad_token_id, additive, pad_to_multiple_of), groups, steps, stats)


def packed_trainer_class() -> type:
    """A transformers Trainer that counts non-padding input tokens of packed batches from the
    4D mask (the stock count sums a 2D mask)."""
    from transformers import Trainer

    class PackedTrainer(Trainer):
        def _track_num_input_tokens(self, inputs: dict) -> None:
            mask = inputs.get("attention_mask")
            if mask is not None and mask.ndim == 4:
                inputs = {**inputs, "attention_mask": real_tokens(mask)}
            super()._track_num_input_tokens(inputs)

    return PackedTrainer
