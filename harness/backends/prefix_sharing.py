"""One prefill per dialogue: prompts that share a token prefix share its key/value cache.

Every supporter turn of a dialogue is an example whose prompt is the dialogue up to that
turn, so with full contexts the prompts of one dialogue are token prefixes of each other
(a chat template closes each earlier turn the way the generation prompt opens the next).
This module does not rely on that; it works on token ids:

1. :func:`plan` sorts the tokenized prompts and makes *trunks*: a prompt that is a token
   prefix of a longer one rides on that one's trunk; any other prompt starts a trunk of
   its own, which extends the cache of the previous trunk over their longest common token
   prefix (e.g. a shared system prompt, or the turns two sliding windows share) when that
   is at least ``min_shared`` tokens.
2. :func:`generate_shared` runs one forward pass per trunk (only over the tokens the
   trunk it extends did not cover) and decodes the prompts in batches of ``batch_size``:
   each row sees its trunk's cache up to the prompt's length minus one, and the prompt's
   last token is fed as the batch input, so the decoding itself is the backend's usual
   ``generate`` call. The rows read one copy of their trunk's cache
   (:mod:`.trunk_attention`), or, for models whose attention cannot be switched, a copy
   per row left-padded to the batch's longest prompt.

Results equal the per-example path up to floating point: a prefix's keys and values come
out of a longer forward pass, which can round differently in the last bits; a greedy
choice between two almost equal logits can then flip (``benchmarks/prefix_sharing.py``
counts such cases). The trunk of a call's last prompt is kept for the next call (the
runner hands a split over ``batch_size`` examples at a time, in dialogue order), so a
dialogue's context is computed once across calls too. Models with sliding-window layers are not shared (their cache is
not a plain prefix). Trunks are freed as soon as their prompts are decoded.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

MIN_SHARED = 16


@dataclass
class Trunk:
    """A token sequence whose cache is computed once; ``parent``/``shared``: the trunk and
    the number of leading tokens whose cache it starts from (0: none)."""

    tokens: list[int]
    parent: int | None = None
    shared: int = 0
    members: list[int] = field(default_factory=list)


def _common_prefix(first: Sequence[int], second: Sequence[int]) -> int:
    length = min(len(first), len(second))
    for position in range(length):
        if first[position] != second[position]:
            return position
    return length


def plan(token_lists: Sequence[Sequence[int]], min_shared: int = MIN_SHARED,
         carried: Sequence[int] | None = None) -> list[Trunk]:
    """Trunks covering every prompt (each prompt index in exactly one trunk's ``members``),
    in the order their caches are computed. ``carried``: the tokens of a trunk whose cache
    is already at hand (from the previous call); it then comes first in the list, and
    prompts ride on it or extend it like on any other trunk."""
    order = sorted(range(len(token_lists)), key=lambda i: tuple(token_lists[i]), reverse=True)
    trunks: list[Trunk] = [Trunk(list(carried))] if carried else []
    for index in order:
        tokens = list(token_lists[index])
        # Candidates: the last trunk (the lexicographic neighbour) and the carried one.
        candidates = {len(trunks) - 1, 0} if trunks else set()
        best, best_shared = None, -1
        for number in sorted(candidates):
            shared = _common_prefix(tokens, trunks[number].tokens)
            if shared > best_shared:
                best, best_shared = number, shared
        if best is not None and best_shared == len(tokens):
            trunks[best].members.append(index)  # a prefix of a trunk: ride on it
            continue
        trunk = Trunk(tokens, members=[index])
        # Keep at least one token to compute; too short a prefix is not worth a copy.
        shared = min(best_shared, len(tokens) - 1)
        if best is not None and shared >= min_shared:
            trunk.parent, trunk.shared = best, shared
        trunks.append(trunk)
    return trunks


def supports(model: Any) -> bool:
    """Whether the model's cache is a plain per-layer prefix (no sliding windows)."""
    config = getattr(model, "config", None)
    text = config.get_text_config(decoder=True) if hasattr(config, "get_text_config") else config
    if getattr(text, "sliding_window", None) and getattr(text, "use_sliding_window", True):
        return False
    layer_types = getattr(text, "layer_types", None) or []
    return all(kind == "full_attention" for kind in layer_types)


def _last_logits_only(model: Any) -> dict:
    """Only the cache is wanted from a trunk's forward pass: where the model allows, the
    vocabulary projection runs for its last position only (not a [tokens, vocab] matrix)."""
    import inspect

    forward = getattr(model, "get_base_model", lambda: model)().forward
    return {"logits_to_keep": 1} if "logits_to_keep" in inspect.signature(forward).parameters else {}


def _trunk_cache(model: Any, trunk: Trunk, parent_cache: list | None, options: dict) -> list:
    """Per-layer (keys, values) of ``trunk.tokens`` ([1, heads, tokens, dim] each);
    ``options``: extra forward arguments (:func:`_last_logits_only`)."""
    import torch
    from transformers import DynamicCache

    start = trunk.shared if parent_cache is not None else 0
    past = None
    if start:
        past = DynamicCache([(k[:, :, :start], v[:, :, :start]) for k, v in parent_cache],
                            config=model.config)
    ids = torch.tensor([trunk.tokens[start:]], dtype=torch.long, device=model.device)
    mask = torch.ones((1, len(trunk.tokens)), dtype=torch.long, device=model.device)
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=mask, use_cache=True, **options,
                    cache=past if past is not None else DynamicCache(config=model.config))
    return [(layer.keys, layer.values) for layer in out.cache.layers]


@dataclass
class Prefilled:
    """A batch ready for ``model.generate``: left-padded ``encoded`` ids and mask of the
    whole prompts, and ``cache`` holding every column but the last."""

    encoded: dict
    cache: Any


def _encode(model: Any, pad_id: int, token_lists: list[list[int]]) -> dict:
    """Left-padded ``input_ids`` and ``attention_mask`` of the prompts."""
    import torch

    width = max(len(tokens) for tokens in token_lists)
    ids = torch.full((len(token_lists), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(token_lists), width), dtype=torch.long)
    for row, tokens in enumerate(token_lists):
        ids[row, width - len(tokens):] = torch.tensor(tokens, dtype=torch.long)
        mask[row, width - len(tokens):] = 1
    return {"input_ids": ids.to(model.device), "attention_mask": mask.to(model.device)}


def _batch(model: Any, pad_id: int, rows: list[tuple[list[int], list]]) -> Prefilled:
    """Rows of (prompt tokens, trunk cache): caches cut at len-1 and left-padded (a copy
    per row; :mod:`.trunk_attention` avoids the copies where the model allows)."""
    import torch
    from transformers import DynamicCache

    width = max(len(tokens) for tokens, _ in rows)
    layers = []
    for layer in range(len(rows[0][1])):
        keys0, values0 = rows[0][1][layer]
        shape = (len(rows), keys0.shape[1], width - 1, keys0.shape[3])
        keys = torch.zeros(shape, dtype=keys0.dtype, device=keys0.device)
        values = torch.zeros((*shape[:3], values0.shape[3]), dtype=values0.dtype, device=values0.device)
        for row, (tokens, cache) in enumerate(rows):
            cached = len(tokens) - 1
            keys[row, :, width - 1 - cached:] = cache[layer][0][0, :, :cached]
            values[row, :, width - 1 - cached:] = cache[layer][1][0, :, :cached]
        layers.append((keys, values))
    encoded = _encode(model, pad_id, [tokens for tokens, _ in rows])
    return Prefilled(encoded, DynamicCache(layers, config=model.config))


@dataclass
class Carry:
    """A trunk's tokens and cache kept from one call to the next (the runner hands a
    dialogue over in several calls of ``batch_size`` examples)."""

    tokens: list[int] | None = None
    cache: list | None = None


def generate_shared(model: Any, tokenizer: Any, prompts: Sequence[str], batch_size: int,
                    add_special_tokens: bool,
                    decode_batch: Callable[[list[int], Prefilled], list],
                    progress: Callable[[int], None] | None = None,
                    min_shared: int = MIN_SHARED, carry: Carry | None = None,
                    trunk_decoding: bool | None = None) -> list:
    """Outputs of ``decode_batch(indices, prefilled)`` for every prompt, in prompt order;
    ``progress(n)`` after each batch with the number finished so far. ``carry`` (updated
    in place): the trunk of the last prompt, for a next call that continues its dialogue.
    ``trunk_decoding``: decode against one copy of each trunk (:mod:`.trunk_attention`;
    None: wherever the model allows) rather than a padded copy per row."""
    from . import trunk_attention

    if trunk_decoding is None:
        trunk_decoding = trunk_attention.applicable(model)
    forward_options = _last_logits_only(model)
    token_lists = [tokenizer(p, add_special_tokens=add_special_tokens)["input_ids"] for p in prompts]
    carried = carry.tokens if carry is not None and carry.cache is not None else None
    trunks = plan(token_lists, min_shared, carried)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    outputs: list = [None] * len(prompts)
    caches: dict[int, list] = {}
    pending: list[tuple[int, int]] = []  # (prompt index, trunk number)
    done = 0

    def flush(rows: list[tuple[int, int]]) -> None:
        nonlocal done
        indices = [index for index, _ in rows]
        if trunk_decoding:
            encoded = _encode(model, pad_id, [token_lists[i] for i in indices])
            batch = trunk_attention.make_batch(model, [(len(token_lists[i]), t, caches[t]) for i, t in rows])
            prefilled = Prefilled(encoded, trunk_attention.suffix_cache(model, encoded["input_ids"].shape[1] - 1))
            with trunk_attention.decoding(model, batch):
                replies = decode_batch(indices, prefilled)
        else:
            replies = decode_batch(indices, _batch(model, pad_id, [(token_lists[i], caches[t]) for i, t in rows]))
        for index, output in zip(indices, replies):
            outputs[index] = output
        done += len(rows)
        if progress is not None:
            progress(done)

    last = len(prompts) - 1
    keep = next(n for n, t in enumerate(trunks) if last in t.members)
    for number, trunk in enumerate(trunks):
        parent = caches.get(trunk.parent) if trunk.parent is not None else None
        if number == 0 and carried is not None:
            caches[0] = carry.cache
        else:
            caches[number] = _trunk_cache(model, trunk, parent, forward_options)
        # Longest first within a trunk: rows of similar length pad least.
        pending += [(i, number) for i in sorted(trunk.members, key=lambda i: -len(token_lists[i]))]
        while len(pending) >= batch_size:
            flush(pending[:batch_size])
            pending = pending[batch_size:]
        # Keep only what later batches or the next trunk can use.
        needed = {t for _, t in pending} | {number, keep}
        for old in [t for t in caches if t not in needed]:
            del caches[old]
    if pending:
        flush(pending)
    if carry is not None:
        carry.tokens, carry.cache = trunks[keep].tokens, caches[keep]
    return outputs


def prefix_cache_order(conversations: Sequence[Sequence[dict]], opening: int = 2) -> list[int]:
    """An order of requests for a server with a prefix cache (vLLM, SGLang...): a
    dialogue's requests (same first ``opening`` messages) go shortest first, and the
    dialogues take turns, so that with a few requests in flight a dialogue's next request
    is sent after its previous one was computed, and finds that prefix in the cache."""
    import json

    groups: dict[str, list[int]] = {}
    for index, conversation in enumerate(conversations):
        key = json.dumps(list(conversation[:opening]), sort_keys=True)
        groups.setdefault(key, []).append(index)
    queues = [sorted(members, key=lambda i: len(conversations[i])) for members in groups.values()]
    order: list[int] = []
    for turn in range(max((len(q) for q in queues), default=0)):
        order += [queue[turn] for queue in queues if turn < len(queue)]
    return order
