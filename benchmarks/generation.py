"""Local generation speed: the same examples at batch size 1 and larger, in one run.

Uses the ``llama`` system (SmolLM2 on CPU by default) on supporter turns of the seed
dialogues, greedy decoding. The examples are cut into ``--rounds`` chunks and every batch
size runs on each chunk in turn, so a change in machine load during the run affects all
batch sizes alike. Prints examples/s per batch size, the speed-up over the first batch
size, and whether every greedy output matches its output (listing the examples that do
not). Nothing is asserted: ratios are against the baseline measured in the same run.

On CPU, batching speeds up decoding (one weight pass serves every row) but not the prompt
prefill, which is already compute-bound. The gain therefore shrinks as prompts get longer
than replies. Measured on 2 cores, 64 seed examples, fp32: 64 new tokens with 2-turn
contexts gave 3.5x at batch 8 and 4.3x at batch 16; 32 new tokens with 4-turn contexts
(about 260 prompt tokens) gave 2.5x and 2.7x. Greedy outputs were identical at every batch
size in both runs.

    .venv/bin/python benchmarks/generation.py --examples 64 --batch-sizes 1,8,16
    .venv/bin/python benchmarks/generation.py --examples 16 --batch-sizes 8 --threads cores,auto

``--threads`` compares torch thread counts (every count runs every batch size on every
chunk): ``cores`` is torch's default of one per core, ``auto`` escbench's load-aware choice
(:mod:`escbench.harness.threads`; what the HF backend applies unless ``OMP_NUM_THREADS`` or
``ESCBENCH_THREADS`` is set).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def seed_examples(count: int):
    """The first ``count`` supporter turns of the seed dialogues' train partition."""
    from escbench.harness.paths import TASKS_DIR
    from escbench.harness.splits import load_split, read_split_spec

    spec = read_split_spec(TASKS_DIR / "splits" / "seed.yaml")
    return load_split(spec, limit=count, partition="train").examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--examples", type=int, default=64)
    parser.add_argument("--batch-sizes", default="1,8,16")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--max-context-turns", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4, help="interleave batch sizes over this many chunks")
    parser.add_argument("--threads", default="",
                        help="comma-separated torch thread counts to compare at every batch size, "
                             "'auto' for escbench's load-aware choice (escbench.harness.threads), 'cores' "
                             "for one per core (torch's default); e.g. auto,cores")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    import torch

    from escbench.harness.registry import GenerationSettings
    from escbench.plugins.systems.llama import LlamaSystem

    examples = seed_examples(args.examples)
    system = LlamaSystem(model=args.model, max_context_turns=args.max_context_turns)
    started = time.perf_counter()
    system.prepare()
    device = str(system.backend.model.device)
    print(f"model {args.model} on {device} ({torch.get_num_threads()} torch threads), loaded in "
          f"{time.perf_counter() - started:.1f} s; {len(examples)} examples, greedy, "
          f"max_new_tokens={args.max_new_tokens}, max_context_turns={args.max_context_turns}")
    from escbench.harness.threads import available_cores, choose_threads

    def thread_count(spec: str) -> int:
        if spec == "auto":
            return choose_threads() or torch.get_num_threads()
        return available_cores() if spec == "cores" else int(spec)

    thread_specs = [t for t in args.threads.split(",") if t] or [str(torch.get_num_threads())]
    threads = {spec: thread_count(spec) for spec in thread_specs}
    if args.threads:
        print("threads: " + ", ".join(f"{spec}={count}" for spec, count in threads.items())
              + f" (load average {__import__('os').getloadavg()[0]:.1f})")
    # Every run is keyed by (threads spec, batch size).
    sizes = [(spec, int(s)) for spec in thread_specs for s in args.batch_sizes.split(",")]
    seconds = {size: 0.0 for size in sizes}
    tokens = {size: 0 for size in sizes}
    outputs: dict[tuple[str, int], list[str]] = {size: [] for size in sizes}
    chunk = -(-len(examples) // max(1, args.rounds))
    for start in range(0, len(examples), chunk):
        part = examples[start:start + chunk]
        for size in sizes:
            torch.set_num_threads(threads[size[0]])
            settings = GenerationSettings(max_new_tokens=args.max_new_tokens, batch_size=size[1])
            began = time.perf_counter()
            generations = system.generate(part, settings)
            seconds[size] += time.perf_counter() - began
            outputs[size] += [g.raw for g in generations]
            tokens[size] += sum(g.usage.get("completion_tokens", 0) for g in generations)
        done = min(start + chunk, len(examples))
        print(f"  {done}/{len(examples)} examples: " + ", ".join(f"t{s[0]} b{s[1]} {seconds[s]:.0f} s" for s in sizes), flush=True)
    rows = [{"threads": threads[size[0]], "threads_spec": size[0], "batch_size": size[1], "seconds": round(seconds[size], 2),
             "examples_per_s": round(len(examples) / seconds[size], 3),
             "new_tokens_per_s": round(tokens[size] / seconds[size], 1)} for size in sizes]
    baseline = rows[0]
    print(f"{'threads':>12} {'batch':>5} {'seconds':>9} {'examples/s':>11} {'new tok/s':>10} {'speed-up':>9} {'same as batch ' + str(baseline['batch_size']):>18}")
    for row in rows:
        size = (row["threads_spec"], row["batch_size"])
        differing = [i for i, (a, b) in enumerate(zip(outputs[sizes[0]], outputs[size])) if a != b]
        row["speedup"] = round(row["examples_per_s"] / baseline["examples_per_s"], 2)
        row["differing_examples"] = [examples[i].id for i in differing]
        same = f"{len(examples) - len(differing)}/{len(examples)}"
        label = f"{row['threads_spec']}={row['threads']}"
        print(f"{label:>12} {row['batch_size']:>5} {row['seconds']:>9.1f} {row['examples_per_s']:>11.2f} {row['new_tokens_per_s']:>10.1f} "
              f"{row['speedup']:>8.2f}x {same:>18}")
        for i in differing[:3]:
            print(f"      differs at {examples[i].id}:\n        first: {outputs[sizes[0]][i]!r}\n"
                  f"        this: {outputs[size][i]!r}")
    if args.json:
        args.json.write_text(json.dumps({"device": device, "examples": len(examples), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
