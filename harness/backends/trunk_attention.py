"""Decoding many prompts of one dialogue against a single copy of the dialogue's cache.

With prefix sharing (:mod:`.prefix_sharing`) the prompts of a decode batch are prefixes
of one *trunk* (the dialogue so far), whose keys and values were computed once. The plain
way to decode them copies the trunk's cache into every row, left-padded to the batch's
longest prompt, and the model's attention then reads each copy at every step, while the
cache grows by concatenation (a copy of the whole cache per step and layer). On a CPU that
is memory traffic proportional to rows x context at every step.

Here each row keeps only its own *suffix* (its prompt's last token and the tokens it
generates); the trunk's keys and values stay one tensor per layer. The attention for a
row is over the first ``visible`` columns of its trunk (its prompt minus the last token)
plus its suffix, computed for all rows of a trunk with one matrix product per step and
layer (grouped-query heads share their key/value head as in the model). Scores of the two
parts go through one softmax, so this is the same attention as the padded layout, up to
floating-point rounding.

How it plugs into ``transformers``: :class:`SuffixCache` is a ``DynamicCache`` whose
layers hold the suffixes and report the trunk's length as already cached, so ``generate``
feeds one token per row and numbers positions from the attention mask as usual; the
attention function registered as :data:`NAME` reads the trunks of the active batch (set by
:func:`decoding`, which also switches the model to that function and back). Models whose
attention layers do not dispatch through ``transformers``' attention interface, or use
another implementation than ``sdpa``/``eager``, keep the padded layout
(:func:`applicable`).
"""
from __future__ import annotations

import contextlib
import contextvars
import threading
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

NAME = "escbench_trunk"
_ACTIVE: contextvars.ContextVar["TrunkBatch | None"] = contextvars.ContextVar("escbench_trunk_batch", default=None)
_SWITCH = threading.Lock()  # the attention switch is on the model's (shared) config
_registered = False


@dataclass
class TrunkGroup:
    """Rows of a batch that decode from one trunk: ``rows`` (batch row indices; None: all
    rows of the batch, in order), ``bias`` ([rows, 1, 1, trunk length]: 0 on the trunk
    columns a row sees, -inf on the others) and ``layers`` (per layer (keys, values) of the
    trunk, [kv heads, trunk length, head dim])."""

    rows: Any
    bias: Any
    layers: list

    def pick(self, tensor: Any) -> Any:
        """This group's rows of a batch-first tensor."""
        return tensor if self.rows is None else tensor.index_select(0, self.rows)


@dataclass
class TrunkBatch:
    groups: list[TrunkGroup]


def applicable(model: Any) -> bool:
    """Whether the model's attention can be switched to :data:`NAME` for a decode."""
    config = getattr(model, "config", None)
    implementation = getattr(config, "_attn_implementation", None)
    if implementation not in ("sdpa", "eager"):
        return False
    module = type(getattr(model, "get_base_model", lambda: model)()).__module__
    # Built-in transformers models dispatch through ALL_ATTENTION_FUNCTIONS; remote code may not.
    return module.startswith("transformers.models.")


def _register() -> None:
    global _registered
    if not _registered:
        from transformers import AttentionInterface

        AttentionInterface.register(NAME, trunk_attention)
        _registered = True


def make_batch(model: Any, rows: Sequence[tuple[int, int, list]]) -> TrunkBatch:
    """Rows of (prompt length, trunk number, trunk cache [(keys, values) per layer, each
    [1, kv heads, trunk length, head dim]]): each row sees its trunk up to its prompt's
    length minus one (the last prompt token is the first token it decodes)."""
    import torch

    members: dict[int, list[int]] = {}
    for row, (_, trunk, _) in enumerate(rows):
        members.setdefault(trunk, []).append(row)
    groups = []
    for trunk, indices in members.items():
        cache = rows[indices[0]][2]
        length = cache[0][0].shape[2]
        visible = torch.tensor([rows[i][0] - 1 for i in indices], device=model.device)
        hidden = torch.arange(length, device=model.device)[None, :] >= visible[:, None]
        bias = torch.zeros(hidden.shape, dtype=cache[0][0].dtype, device=model.device).masked_fill(hidden, float("-inf"))
        picked = None if len(members) == 1 else torch.tensor(indices, device=model.device)
        groups.append(TrunkGroup(picked, bias[:, None, None, :], [(keys[0], values[0]) for keys, values in cache]))
    return TrunkBatch(groups)


def suffix_cache(model: Any, cached: int) -> Any:
    """An empty :class:`SuffixCache` that reports ``cached`` columns (the batch's padded
    prompt width minus one) as already in the cache."""
    return _suffix_cache_class()(model, cached)


@contextlib.contextmanager
def decoding(model: Any, batch: TrunkBatch) -> Iterator[None]:
    """Within this block the model's attention is :func:`trunk_attention` over ``batch``."""
    _register()
    config = model.config
    with _SWITCH:
        previous = config._attn_implementation
        token = _ACTIVE.set(batch)
        config._attn_implementation = NAME
        try:
            yield
        finally:
            config._attn_implementation = previous
            _ACTIVE.reset(token)


def trunk_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any,
                    scaling: float | None = None, dropout: float = 0.0, **kwargs: Any) -> tuple[Any, None]:
    """Attention of ``query`` ([batch, heads, 1, dim]: one new token per row) over each row's
    visible trunk columns and its suffix ``key``/``value`` ([batch, kv heads, suffix, dim],
    the new token last); returns [batch, 1, heads, dim] like ``transformers``' attention
    functions, and no weights."""
    import torch

    batch = _ACTIVE.get()
    if batch is None:
        raise RuntimeError(f"{NAME} attention used outside escbench's trunk decoding")
    rows, heads, q, dim = query.shape
    if q != 1:
        raise RuntimeError(f"{NAME} attention decodes one token per row and step, got {q}")
    kv_heads = key.shape[1]
    grouped = heads // kv_heads  # query heads per key/value head
    scale = scaling if scaling is not None else dim ** -0.5
    queries = query.reshape(rows, kv_heads, grouped, dim)
    suffix_scores = torch.matmul(queries, key.transpose(-1, -2)) * scale  # [rows, kv, grouped, suffix]
    out = None if len(batch.groups) == 1 else torch.empty(
        (rows, kv_heads, grouped, value.shape[-1]), dtype=query.dtype, device=query.device)
    for group in batch.groups:
        trunk_keys, trunk_values = group.layers[module.layer_idx]
        mine = group.pick(queries)  # [count, kv, grouped, dim]
        count, length = mine.shape[0], trunk_keys.shape[1]
        flat = mine.transpose(0, 1).reshape(kv_heads, count * grouped, dim)
        trunk_scores = torch.matmul(flat, trunk_keys.transpose(-1, -2)) * scale  # [kv, count*grouped, length]
        trunk_scores = trunk_scores.view(kv_heads, count, grouped, length).transpose(0, 1) + group.bias
        scores = torch.cat([trunk_scores, group.pick(suffix_scores)], dim=-1)
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
        trunk_probs = probs[..., :length].transpose(0, 1).reshape(kv_heads, count * grouped, length)
        mixed = torch.matmul(trunk_probs, trunk_values).view(kv_heads, count, grouped, -1).transpose(0, 1)
        mixed = mixed + torch.matmul(probs[..., length:], group.pick(value))
        if out is None:
            out = mixed
        else:
            out.index_copy_(0, group.rows, mixed)
    return out.reshape(rows, heads, q, -1).transpose(1, 2).contiguous(), None


_SUFFIX_CACHE_CLASS: Any = None


def _suffix_cache_class() -> Any:
    """:class:`SuffixCache`, made on first use (``transformers`` is imported only then)."""
    global _SUFFIX_CACHE_CLASS
    if _SUFFIX_CACHE_CLASS is None:
        from transformers import DynamicCache
        from transformers.cache_utils import DynamicLayer

        class SuffixLayer(DynamicLayer):
            """A row-per-batch suffix; ``cached`` columns before it live in the trunk."""

            def __init__(self, cached: int) -> None:
                super().__init__()
                self.cached = cached

            def get_seq_length(self) -> int:
                return self.cached + super().get_seq_length()

            def crop(self, max_length: int) -> None:  # pragma: no cover - not used by greedy/sampling
                raise NotImplementedError("a trunk-decoding cache cannot be cropped")

        class SuffixCache(DynamicCache):
            """``DynamicCache`` of :class:`SuffixLayer` s (see the module docstring)."""

            def __init__(self, model: Any, cached: int) -> None:
                super().__init__(config=model.config)
                self.layers = [SuffixLayer(cached) for _ in self.layers]

        _SUFFIX_CACHE_CLASS = SuffixCache
    return _SUFFIX_CACHE_CLASS
