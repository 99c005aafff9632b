"""DRI-packed training against unpacked pairs: same data, same seed, same steps, in one run.

The seed split's training dialogues with a DRI file written here (``--k`` alternatives per
supporter turn, of varied length) are tokenised as ``escbench train`` does
(:func:`escbench.plugins.chatpal.train.collate.encode_pairs`), and the base model is made trainable as
it does (LoRA, dropout 0 so both ways are deterministic). Contexts are shuffled with the seed
and cut into optimizer steps of ``--contexts-per-step`` contexts (each with its K+1 targets);
every step is trained both ways from the same initial adapter:

* ``unpacked``: pairs in micro batches of ``--micro-batch``, padded on the right;
* ``packed``: each context once with its targets (:mod:`escbench.plugins.chatpal.train.packing`),
  micro batches of packed sequences holding about as many examples.

Both normalise the loss by the step's target tokens (as the Trainer does across gradient
accumulation), so the loss curves must agree to float tolerance. Each way runs in its own
process (so its peak RSS is its own), ``--rounds`` times, alternating which goes first, and
the best wall time counts. Prints tokens processed (non-padding and padded), wall time,
peak RSS (and peak GPU memory on CUDA, where it runs when torch sees a GPU), the loss curves
side by side, and last ``speed-up N.NNx, loss curves equal to R``.

    .venv/bin/python benchmarks/train_packing.py [--k 4] [--steps 4] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WAYS = ("unpacked", "packed")
# Alternatives in our own words, of different lengths, cycled over the turns.
ALTERNATIVES = [
    ("That sounds heavy, and it makes sense that you feel worn out.", "Emotional Validation"),
    ("You reached out today, which already takes courage.", "Affirmation"),
    ("Would it help to write down the three things that worry you most, and pick one to start with?",
     "Suggest Options"),
    ("So the part that weighs on you is feeling alone with it, even with people around.", "Reflective Statements"),
    ("I hear you.", "Emotional Validation"),
    ("Many people in a spot like yours feel the same pull in two directions; you are not failing by feeling it.",
     "Affirmation"),
]


def write_data(folder: Path, k: int) -> tuple[Path, Path]:
    """The seed split's training dialogues and a DRI file with ``k`` alternatives per supporter turn."""
    from escbench.harness.loaders import write_jsonl
    from escbench.harness.paths import TASKS_DIR
    from escbench.harness.splits import load_split, read_split_spec

    dialogues = load_split(read_split_spec(TASKS_DIR / "splits" / "seed.yaml"), partition="train").dialogues
    lines, shift = [], 0
    for dialogue in dialogues:
        for index in dialogue.supporter_turn_indices():
            turn = dialogue.turns[index]
            chosen = [ALTERNATIVES[(shift + n) % len(ALTERNATIVES)] for n in range(k)]
            shift += 1
            lines.append(json.dumps({"dialogue_id": dialogue.id, "turn_index": index,
                                     "original": {"text": turn.text, "strategy": turn.strategy},
                                     "alternatives": [{"text": t, "strategy": s} for t, s in chosen]}))
    dri = folder / "dri.jsonl"
    dri.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return write_jsonl(dialogues, folder / "train.jsonl"), dri


def step_plan(features: list[dict], contexts_per_step: int, steps: int, seed: int) -> list[list[list[int]]]:
    """``steps`` optimizer steps, each a list of contexts (indices of their pairs)."""
    from escbench.plugins.chatpal.train.packing import group_by_prompt

    groups = group_by_prompt(features)
    random.Random(seed).shuffle(groups)
    plan = [groups[i:i + contexts_per_step] for i in range(0, len(groups), contexts_per_step)]
    return plan[:steps]


def child(args) -> int:
    """Train the planned steps one way; write losses, times, tokens and peak RSS as JSON."""
    import torch
    from transformers import set_seed

    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.harness.models import resolve_model
    from escbench.harness.threads import configure_torch_threads
    from escbench.plugins.chatpal.train.collate import PromptFormat, encode_pairs, make_collator
    from escbench.plugins.chatpal.train.data import build_training_data, load_source_dialogues
    from escbench.plugins.chatpal.train.dri_file import dri_source, read_dri_file
    from escbench.plugins.chatpal.train.model import load_tokenizer, load_trainable_model
    from escbench.plugins.chatpal.train.packing import PACK_LIMIT_FACTOR, PackedCollator, pack_features, packed_batching
    from escbench.plugins.chatpal.train.settings import TrainSettings
    from escbench.harness.prompts import read_prompt_template
    from escbench.plugins.chatpal.student_format import default_prompt_path

    import logging
    import warnings

    from escbench.harness.models import quiet_transformers

    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)  # as escbench train does
    warnings.filterwarnings("ignore")
    threads = configure_torch_threads()
    catalog = load_strategy_catalog("extes")
    dialogues, sources = load_source_dialogues([args.data], catalog)
    records = read_dri_file(args.dri, catalog)
    data = build_training_data(dialogues, sources, (records, dri_source(args.dri, len(records))), valid_fraction=0)
    model_path = str(resolve_model(args.model))
    tokenizer = load_tokenizer(model_path)
    prompt_format = PromptFormat(True, read_prompt_template(default_prompt_path(True)), args.max_len)
    features = encode_pairs(data.train, tokenizer, prompt_format).features
    plan = step_plan(features, args.contexts_per_step, args.steps, args.seed)
    settings = TrainSettings(base=args.model, data=[args.data], out=Path(args.json).parent, max_len=args.max_len,
                             lora_dropout=0.0, progress=False)
    set_seed(args.seed)
    with quiet_transformers():
        model = load_trainable_model(model_path, settings)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.learning_rate)
    packed_way = args.child == "packed"
    collate = PackedCollator(tokenizer.pad_token_id) if packed_way else make_collator(tokenizer)
    rows = []
    for step in plan:
        pairs = [features[i] for context in step for i in context]
        target_tokens = sum(sum(label != -100 for label in f["labels"]) for f in pairs)
        if packed_way:
            items = pack_features(pairs, PACK_LIMIT_FACTOR * args.max_len)
            per_micro, _ = packed_batching(args.micro_batch, len(pairs), 1, len(pairs) / len(items))
        else:
            items, per_micro = pairs, args.micro_batch
        began = time.perf_counter()
        total, padded = 0.0, 0
        for start in range(0, len(items), per_micro):
            batch = {key: value.to(device) for key, value in collate(items[start:start + per_micro]).items()}
            padded += batch["input_ids"].numel()
            loss = model(**batch, num_items_in_batch=target_tokens).loss
            loss.backward()
            total += loss.item()
        optimizer.step()
        optimizer.zero_grad()
        if device == "cuda":
            torch.cuda.synchronize()
        rows.append({"loss": total, "seconds": time.perf_counter() - began, "pairs": len(pairs),
                     "sequences": len(items), "tokens": sum(len(f["input_ids"]) for f in items),
                     "padded_tokens": padded, "target_tokens": target_tokens})
    Path(args.json).write_text(json.dumps({
        "way": args.child, "threads": threads, "steps": rows, "device": device,
        "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    return 0


def run_way(way: str, data: Path, dri: Path, out: Path, args) -> dict:
    command = [sys.executable, __file__, "--child", way, "--data", str(data), "--dri", str(dri), "--json", str(out),
               "--model", args.model, "--k", str(args.k), "--steps", str(args.steps), "--seed", str(args.seed),
               "--contexts-per-step", str(args.contexts_per_step), "--micro-batch", str(args.micro_batch),
               "--max-len", str(args.max_len)]
    import os

    subprocess.run(command, check=True, env={**os.environ, "ESCBENCH_THREADS": str(args.threads)})
    return json.loads(out.read_text())


def report(results: dict[str, list[dict]]) -> float:
    """Print the comparison; return the speed-up (unpacked best wall / packed best wall)."""
    best = {way: min(results[way], key=lambda r: sum(s["seconds"] for s in r["steps"])) for way in WAYS}
    wall = {way: sum(s["seconds"] for s in best[way]["steps"]) for way in WAYS}
    print(f"{'way':<10}{'pairs':>7}{'sequences':>11}{'tokens':>9}{'padded':>9}{'wall s':>9}{'peak RSS MB':>13}")
    for way in WAYS:
        steps = best[way]["steps"]
        print(f"{way:<10}{sum(s['pairs'] for s in steps):>7}{sum(s['sequences'] for s in steps):>11}"
              f"{sum(s['tokens'] for s in steps):>9}{sum(s['padded_tokens'] for s in steps):>9}"
              f"{wall[way]:>9.1f}{max(r['peak_rss_mb'] for r in results[way]):>13.0f}"
              + (f"  peak GPU {max(r['peak_gpu_mb'] for r in results[way]):.0f} MB" if best[way]["peak_gpu_mb"] else ""))
    print(f"{'step':<6}{'unpacked loss':>15}{'packed loss':>15}{'rel diff':>10}{'unpacked s':>12}{'packed s':>10}")
    worst = 0.0
    for number, (a, b) in enumerate(zip(best["unpacked"]["steps"], best["packed"]["steps"]), start=1):
        rel = abs(a["loss"] - b["loss"]) / abs(a["loss"])
        worst = max(worst, rel)
        print(f"{number:<6}{a['loss']:>15.6f}{b['loss']:>15.6f}{rel:>10.1e}{a['seconds']:>12.1f}{b['seconds']:>10.1f}")
    speedup = wall["unpacked"] / wall["packed"]
    print(f"speed-up {speedup:.2f}x, loss curves equal to {worst:.1e} (relative)")
    return speedup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--k", type=int, default=4, help="DRI alternatives per supporter turn")
    parser.add_argument("--steps", type=int, default=4, help="optimizer steps")
    parser.add_argument("--contexts-per-step", type=int, default=4, help="contexts (each with K+1 targets) per step")
    parser.add_argument("--micro-batch", type=int, default=4, help="examples per forward pass")
    parser.add_argument("--max-len", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each way (alternating); best wall counts")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, help="torch threads, the same for both ways (default: load-aware)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", choices=WAYS, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--dri", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if args.threads is None:
        from escbench.harness.threads import choose_threads

        args.threads = choose_threads() or 1
    results: dict[str, list[dict]] = {way: [] for way in WAYS}
    with tempfile.TemporaryDirectory(prefix="escbench-train-packing-") as scratch:
        folder = Path(scratch)
        data, dri = write_data(folder, args.k)
        print(f"seed train dialogues + DRI k={args.k}; {args.steps} steps of {args.contexts_per_step} contexts "
              f"x {args.k + 1} targets; micro batch {args.micro_batch} examples; {args.rounds} rounds; "
              f"{args.threads} torch threads", flush=True)
        for round_number in range(args.rounds):
            order = WAYS if round_number % 2 == 0 else WAYS[::-1]
            for way in order:
                result = run_way(way, data, dri, folder / f"{way}-{round_number}.json", args)
                results[way].append(result)
                print(f"  round {round_number + 1} {way}: {sum(s['seconds'] for s in result['steps']):.1f} s "
                      f"({result['threads']} threads)", flush=True)
    speedup = report(results)
    if args.json:
        args.json.write_text(json.dumps({"speedup": round(speedup, 3), "runs": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
