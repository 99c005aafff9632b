"""One prefill per dialogue against one prefill per example, in one run.

Runs the seed split's examples (supporter turns) with full dialogue contexts through the
``llama`` system (SmolLM2 on CPU by default), greedy, once with prefix sharing
(``share_prefix=true``, the default: :mod:`escbench.harness.backends.prefix_sharing`) and once
without, at the same batch size. The examples are cut into ``--rounds`` chunks (whole
dialogues) and both ways run on each chunk in turn, so a change in machine load affects
both alike. Each way gets the examples in calls of ``--batch-size``, as ``escbench run``
makes them (the shared way carries a dialogue's cache from one call to the next). Prints
prompt tokens, wall times, and for every output that differs the first
differing token with the two candidates' logits under the per-example path (a near-tie
shows as a tiny margin). The last line is ``speed-up N.NNx, outputs identical A/B``.

    .venv/bin/python benchmarks/prefix_sharing.py [--examples 0] [--batch-size 8]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def seed_examples(count: int):
    """The seed split's test examples (all when ``count`` is 0), dialogue by dialogue."""
    from escbench.harness.paths import TASKS_DIR
    from escbench.harness.splits import load_split, read_split_spec

    spec = read_split_spec(TASKS_DIR / "splits" / "seed.yaml")
    examples = load_split(spec, partition="test").examples
    return examples[:count] if count else examples


def chunks(examples, rounds: int):
    """``rounds`` runs of consecutive examples, never cutting a dialogue."""
    size = -(-len(examples) // max(1, rounds))
    out, current = [], []
    for example in examples:
        if len(current) >= size and example.dialogue_id != current[-1].dialogue_id:
            out.append(current)
            current = []
        current.append(example)
    return out + ([current] if current else [])


def near_tie(system, example, ours: str, theirs: str) -> str:
    """Where two greedy replies part: the token position and the per-example path's logit
    margin between its choice and the shared path's choice there."""
    import torch

    from escbench.harness.backends.hf import render_prompt
    from escbench.harness.prompts import example_to_messages

    tokenizer, model = system.backend.tokenizer, system.backend.model
    prompt = render_prompt(example_to_messages(example, system.template(), None), tokenizer)
    a = tokenizer(ours, add_special_tokens=False)["input_ids"]
    b = tokenizer(theirs, add_special_tokens=False)["input_ids"]
    k = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    if k >= min(len(a), len(b)):
        return f"token {k}: one reply ends earlier"
    ids = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = torch.cat([ids, torch.tensor([b[:k]], dtype=torch.long)], dim=1)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0, -1].float()
    return (f"token {k}: per-example path {tokenizer.decode([b[k]])!r} {logits[b[k]]:.5f} vs shared "
            f"{tokenizer.decode([a[k]])!r} {logits[a[k]]:.5f} (margin {abs(logits[b[k]] - logits[a[k]]):.2e})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--examples", type=int, default=0, help="first N seed test examples (0: all)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    import torch

    from escbench.harness.registry import GenerationSettings
    from escbench.plugins.systems.llama import LlamaSystem

    examples = seed_examples(args.examples)
    systems = {"shared": LlamaSystem(model=args.model, share_prefix=True),
               "per-example": LlamaSystem(model=args.model, share_prefix=False)}
    started = time.perf_counter()
    for system in systems.values():
        system.prepare()
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=args.batch_size)
    print(f"model {args.model} ({torch.get_num_threads()} torch threads) loaded in "
          f"{time.perf_counter() - started:.1f} s; {len(examples)} examples from "
          f"{len({e.dialogue_id for e in examples})} dialogues, full contexts, greedy, "
          f"batch {args.batch_size}, max_new_tokens={args.max_new_tokens}")
    seconds = {name: 0.0 for name in systems}
    outputs = {name: [] for name in systems}
    prompt_tokens = 0
    for part in chunks(examples, args.rounds):
        for name, system in systems.items():
            began = time.perf_counter()
            # In calls of batch_size examples, as `escbench run` makes them.
            generations = [g for start in range(0, len(part), args.batch_size)
                           for g in system.generate(part[start:start + args.batch_size], settings)]
            seconds[name] += time.perf_counter() - began
            outputs[name] += [g.raw for g in generations]
            if name == "per-example":
                prompt_tokens += sum(g.usage.get("prompt_tokens", 0) for g in generations)
        print(f"  {len(outputs['shared'])}/{len(examples)}: shared {seconds['shared']:.1f} s, "
              f"per-example {seconds['per-example']:.1f} s", flush=True)
    differing = [i for i, (a, b) in enumerate(zip(outputs["shared"], outputs["per-example"])) if a != b]
    for i in differing:
        print(f"  differs at {examples[i].id}: "
              f"{near_tie(systems['per-example'], examples[i], outputs['shared'][i], outputs['per-example'][i])}")
    speedup = seconds["per-example"] / seconds["shared"]
    print(f"prompt tokens {prompt_tokens} ({prompt_tokens / len(examples):.0f} per example); "
          f"per-example {seconds['per-example']:.1f} s, shared {seconds['shared']:.1f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "examples": len(examples), "batch_size": args.batch_size, "threads": torch.get_num_threads(),
            "seconds": {k: round(v, 2) for k, v in seconds.items()}, "speedup": round(speedup, 3),
            "differing": [examples[i].id for i in differing]}, indent=2))
    print(f"speed-up {speedup:.2f}x, outputs identical {len(examples) - len(differing)}/{len(examples)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
