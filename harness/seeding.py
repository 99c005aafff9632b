"""Per-example seeds, so sampled outputs do not depend on batch size, batch composition or on
whether a run was resumed.

:func:`example_seed` derives a 63-bit seed from the run seed and a key naming the example (the
HF backend uses the rendered prompt, i.e. the example's content). :func:`per_row_sampler` is a
transformers logits processor that samples each row with its own ``torch.Generator`` by the
Gumbel-max (exponential race) trick: adding ``-log(E)``, ``E ~ Exp(1)`` drawn per row, to the
temperature/top-p warped logits and taking the arg-max draws exactly from the warped
distribution, so generation runs in greedy mode and no row consumes another row's randomness.
"""
from __future__ import annotations

import hashlib
from typing import Any, Sequence


def example_seed(run_seed: int, key: str) -> int:
    """A seed in ``[0, 2**63)`` from the run seed and the example's key (stable across runs,
    machines and Python versions: sha256, not ``hash()``)."""
    digest = hashlib.sha256(f"{int(run_seed)}\x00{key}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & (2**63 - 1)


def per_row_sampler(seeds: Sequence[int], temperature: float, top_p: float, device: Any) -> Any:
    """A ``LogitsProcessorList`` that makes greedy decoding sample row ``i`` with seed
    ``seeds[i]`` (temperature and top-p as in transformers' own warpers; no top-k)."""
    import torch
    from transformers import LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper, TopPLogitsWarper

    class PerRowGumbel(LogitsProcessor):
        def __init__(self):
            self.generators = [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            noise = torch.stack([
                torch.empty(scores.shape[-1], device=scores.device, dtype=torch.float32).exponential_(generator=g)
                for g in self.generators])
            return scores.float() - noise.log()

    processors = [TemperatureLogitsWarper(float(temperature))]
    if top_p < 1.0:
        processors.append(TopPLogitsWarper(float(top_p)))
    return LogitsProcessorList([*processors, PerRowGumbel()])
