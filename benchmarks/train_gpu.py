"""Student training throughput on one CUDA GPU: escbench's trainer against a plain baseline.

Trains LoRA (rank 8, q/k/v/o) on a LLaMA-architecture model at sequence length 256 and
effective batch 128, with int8 (bitsandbytes) and bf16 base weights, in one run:

* ``baseline``: transformers Trainer + PEFT set up the usual alpaca-lora way (micro batch 4,
  padding to the longest in each random batch, int8 as in the paper), built in this file;
* ``escbench``: ``escbench train``'s code path (:func:`escbench.plugins.chatpal.train.trainer.train_student`)
  with a larger micro batch and length-grouped batches;
* ``escbench-bf16-dri`` / ``escbench-bf16-dri-packed``: the same code path on DRI data (``--dri-k``
  alternatives per supporter turn) with ``--no-pack-dri`` and with DRI packing, one epoch each
  (see ``train_gpu_dri.py``: tokens processed, pairs/s and the projected epoch next to the paper's).

Both see the same tokenised seed-dialogue pairs. For each it prints non-padding tokens/s
over the timed steps, peak GPU memory, the speed-up over the int8 baseline, and the time
one epoch of an ExTES+DRI-sized set (``--pairs``, 1M) would take on LLaMA-7B: measured
tokens/s scaled by the ratio of training FLOPs per token (frozen base: forward + input
gradients, plus attention), i.e. assuming the 7B run reaches the same FLOP/s (matmuls of
7B are larger, so this tends to be pessimistic). Without local weights (``--model``) a
1B-class LLaMA is built from its config with random weights: throughput does not depend on
the values. Nothing is asserted. Without CUDA the script says so and exits with status 2
(``--allow-cpu --tiny`` runs the whole flow on a tiny model, to check the script itself).

    python benchmarks/train_gpu.py --json train_gpu.json
    python benchmarks/train_gpu.py --model /models/llama-7b --configs escbench-bf16,baseline-bf16
    python benchmarks/train_gpu.py --configs escbench-bf16-dri,escbench-bf16-dri-packed
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from train_gpu_dri import (DRI_CONFIGS, PAPER_HOURS, PAPER_SETTING, compare_layouts, dri_facts, print_dri,
                           run_escbench_dri, write_dri_data)

CONFIGS = ("baseline-int8", "baseline-bf16", "escbench-int8", "escbench-bf16") + DRI_CONFIGS
LLAMA_1B = dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                num_key_value_heads=4, max_position_embeddings=2048)
LLAMA_7B = dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                num_key_value_heads=32, vocab_size=32000)
TINY = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=2, max_position_embeddings=512)
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def matmul_parameters(config: dict, vocab: int) -> int:
    """Weights used in matrix products per token: attention and MLP projections, lm_head."""
    d, layers, inter = config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]
    heads = config["num_attention_heads"]
    kv = d * config.get("num_key_value_heads", heads) // heads
    return layers * (2 * d * d + 2 * d * kv + 3 * d * inter) + d * vocab


def flops_per_token(config: dict, vocab: int, seq_len: int) -> float:
    """Training FLOPs per token with frozen base weights: 4 x matmul parameters (forward and
    input gradients) plus causal attention (scores and values; backward twice the forward)."""
    attention = 3 * 2 * 2 * config["num_hidden_layers"] * config["hidden_size"] * seq_len / 2
    return 4 * matmul_parameters(config, vocab) + attention


def build_random_llama(folder: Path, tokenizer, shape: dict) -> Path:
    """A LLaMA model with random bf16 weights and the given shape, saved with ``tokenizer``."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    config = LlamaConfig(**shape, vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def benchmark_data(folder: Path, pairs_needed: int) -> Path:
    """Seed train dialogues, repeated under new ids until they give ``pairs_needed`` pairs."""
    from dataclasses import replace

    from escbench.harness.loaders import write_jsonl
    from escbench.harness.paths import TASKS_DIR
    from escbench.harness.splits import load_split, read_split_spec

    dialogues = load_split(read_split_spec(TASKS_DIR / "splits" / "seed.yaml"), partition="train").dialogues
    per_copy = sum(len(d.supporter_turn_indices()) for d in dialogues)
    copies = -(-pairs_needed // per_copy)
    repeated = [replace(d, id=f"{d.id}-copy{n}") for n in range(copies) for d in dialogues]
    return write_jsonl(repeated, folder / "bench.jsonl")


class StepClock:
    """(time, tokens seen) after every optimizer step, the GPU synchronised first."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, int]] = []

    def callback(self):
        from transformers import TrainerCallback

        clock = self

        class _Mark(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                import torch

                torch.cuda.synchronize() if torch.cuda.is_available() else None
                clock.marks.append((time.perf_counter(), state.num_input_tokens_seen))

        return _Mark()


def rate_after_warmup(marks: list[tuple[float, int]], warmup: int) -> tuple[float, int]:
    """Tokens/s between the end of step ``warmup`` and the last step, and tokens counted."""
    (start, start_tokens), (end, end_tokens) = marks[warmup - 1], marks[-1]
    return (end_tokens - start_tokens) / (end - start), end_tokens - start_tokens


def run_escbench(model_dir: Path, data: Path, out: Path, int8: bool, args) -> list[tuple[float, int]]:
    """One training through escbench's trainer; step times from its JSONL log."""
    from escbench.plugins.chatpal.train.settings import TrainSettings
    from escbench.plugins.chatpal.train.trainer import train_student

    settings = TrainSettings(base=str(model_dir), data=[str(data)], out=out, max_len=args.seq_len,
                             micro_batch=args.micro_batch, effective_batch=args.effective_batch,
                             max_steps=args.warmup + args.steps, save_steps=10**6, eval_steps=10**6,
                             valid_fraction=0, load_8bit=int8, dtype="bfloat16", group_by_length=True,
                             progress=False, overwrite=True)
    train_student(settings)
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    return [(r["time"], r["num_input_tokens_seen"]) for r in records if r["event"] == "train"]


def run_baseline(model_dir: Path, data: Path, out: Path, int8: bool, args) -> list[tuple[float, int]]:
    """The plain recipe: Trainer + PEFT LoRA, micro batch 4, random batches padded to the longest."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig, Trainer, TrainingArguments
    from transformers.trainer_callback import PrinterCallback

    from escbench.plugins.chatpal.train.collate import make_collator
    from escbench.plugins.chatpal.train.model import load_tokenizer

    tokenizer = load_tokenizer(str(model_dir))
    features = encoded_pairs(model_dir, data, args.seq_len)
    kwargs = {"dtype": torch.bfloat16}
    if int8:
        device = 0 if torch.cuda.is_available() else "cpu"
        kwargs.update(quantization_config=BitsAndBytesConfig(load_in_8bit=True), device_map={"": device})
    model = AutoModelForCausalLM.from_pretrained(model_dir, **kwargs)
    if int8:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, task_type="CAUSAL_LM",
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    micro = args.baseline_micro_batch
    clock = StepClock()
    trainer = Trainer(model=model, train_dataset=features, data_collator=make_collator(tokenizer, 8),
                      callbacks=[clock.callback()],
                      args=TrainingArguments(output_dir=str(out), per_device_train_batch_size=micro,
                                             gradient_accumulation_steps=args.effective_batch // micro,
                                             learning_rate=3e-4, max_steps=args.warmup + args.steps,
                                             bf16=torch.cuda.is_available() or not int8,
                                             logging_steps=1, save_strategy="no", report_to="none",
                                             remove_unused_columns=False, disable_tqdm=True,
                                             include_num_input_tokens_seen="non_padding",
                                             use_cpu=not torch.cuda.is_available()))
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    return clock.marks


def encoded_pairs(model_dir: Path, data: Path, seq_len: int) -> list[dict]:
    """The benchmark pairs tokenised exactly as escbench trains on them."""
    from escbench.harness.catalogs import load_strategy_catalog
    from escbench.harness.prompts import read_prompt_template
    from escbench.plugins.chatpal.student_format import default_prompt_path
    from escbench.plugins.chatpal.train.collate import PromptFormat, encode_pairs
    from escbench.plugins.chatpal.train.data import build_training_data, load_source_dialogues
    from escbench.plugins.chatpal.train.model import load_tokenizer

    dialogues, sources = load_source_dialogues([data], load_strategy_catalog("extes"))
    pairs = build_training_data(dialogues, sources, valid_fraction=0).train
    prompt_format = PromptFormat(True, read_prompt_template(default_prompt_path(True)), seq_len)
    return encode_pairs(pairs, load_tokenizer(str(model_dir)), prompt_format).features


def measure(name: str, model_dir: Path, data: Path, work: Path, args, dri=None) -> dict:
    """Run one configuration; tokens/s after warm-up and peak memory, or why it was skipped
    (a DRI config trains ``dri``, a :class:`train_gpu_dri.DriData`, and adds what it processed)."""
    import gc

    import torch

    from escbench.harness.errors import EscbenchError

    runner = run_escbench if name.startswith("escbench") else run_baseline
    flag = name.endswith("int8")
    if name in DRI_CONFIGS:
        runner, data, flag = run_escbench_dri, dri, name.endswith("-packed")
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    try:
        marks = runner(model_dir, data, work / name, flag, args)
    except (ImportError, EscbenchError, RuntimeError) as error:
        return {"config": name, "skipped": f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"}
    if len(marks) <= args.warmup:
        return {"config": name, "skipped": f"{len(marks)} optimizer steps, none after the {args.warmup} warm-up steps"}
    tokens_per_s, tokens = rate_after_warmup(marks, args.warmup)
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
    row = {"config": name, "tokens_per_s": round(tokens_per_s, 1), "timed_tokens": tokens,
           "peak_memory_gib": round(peak, 2) if peak is not None else None,
           "wall_s": round(time.perf_counter() - started, 1)}
    return {**row, **dri_facts(work / name)} if name in DRI_CONFIGS else row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="local LLaMA-architecture model folder (default: random 1B-class)")
    parser.add_argument("--tokenizer", default="smollm2",
                        help="model folder whose tokenizer the random model takes (default: the embedded SmolLM2)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"any of {', '.join(CONFIGS)}")
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--effective-batch", type=int, default=128)
    parser.add_argument("--micro-batch", type=int, default=16, help="escbench's micro batch")
    parser.add_argument("--baseline-micro-batch", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=2, help="optimizer steps before timing")
    parser.add_argument("--steps", type=int, default=4, help="timed optimizer steps")
    parser.add_argument("--pairs", type=int, default=1_000_000, help="pairs in the projected epoch")
    parser.add_argument("--dri-k", type=int, default=4, help="DRI alternatives per supporter turn (DRI configs)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--allow-cpu", action="store_true", help="run without CUDA (script check only)")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer model instead of 1B (script check)")
    args = parser.parse_args(argv)

    import torch
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if not torch.cuda.is_available() and not args.allow_cpu:
        print("train_gpu.py measures GPU training and needs a CUDA device, but torch sees none "
              f"(torch {torch.__version__}). The CPU training path is tested by tests/test_train_student.py; "
              "pass --allow-cpu --tiny only to check this script.", file=sys.stderr)
        return 2
    from escbench.harness.models import resolve_model
    from escbench.plugins.chatpal.train.model import load_tokenizer

    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}: choose from {', '.join(CONFIGS)}")
    if args.dri_k < 1:
        parser.error(f"--dri-k {args.dri_k}: the DRI configs need at least one alternative per supporter turn")
    with tempfile.TemporaryDirectory(prefix="escbench-train-gpu-") as scratch:
        work = Path(scratch)
        if args.model:
            model_dir = resolve_model(args.model)
            shape = json.loads((model_dir / "config.json").read_text())
        else:
            shape = TINY if args.tiny else LLAMA_1B
            tokenizer = load_tokenizer(str(resolve_model(args.tokenizer)))
            model_dir = build_random_llama(work / "model", tokenizer, shape)
        vocab = len(load_tokenizer(str(model_dir)))
        data = benchmark_data(work, args.effective_batch * (args.warmup + args.steps))
        features = encoded_pairs(model_dir, data, args.seq_len)
        mean_pair_tokens = sum(len(f["input_ids"]) for f in features) / len(features)
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
        print(f"{device}; model {args.model or ('tiny' if args.tiny else '1B-class LLaMA, random weights')} "
              f"({matmul_parameters(shape, vocab) / 1e9:.2f}B matmul parameters incl. lm_head); "
              f"seq {args.seq_len}, effective batch {args.effective_batch}; "
              f"{mean_pair_tokens:.0f} tokens per pair on average", flush=True)
        dri = None
        if set(names) & set(DRI_CONFIGS):
            dri = write_dri_data(work, args.dri_k, args.effective_batch * (args.warmup + args.steps))
        rows = [measure(name, model_dir, data, work, args, dri) for name in names]
    report = summarise(rows, shape, vocab, mean_pair_tokens, device, args)
    if dri is not None:
        report["dri"] = dri.summary()
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    return 0


def summarise(rows: list[dict], shape: dict, vocab: int, mean_pair_tokens: float, device: str, args) -> dict:
    """Add speed-ups, MFU and the LLaMA-7B epoch projection to the measured rows."""
    ratio = flops_per_token(shape, vocab, args.seq_len) / flops_per_token(LLAMA_7B, LLAMA_7B["vocab_size"], args.seq_len)
    peak = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in device), None)
    reference = next((r for r in rows if r["config"] == "baseline-int8" and "tokens_per_s" in r), None)
    epoch_tokens = args.pairs * mean_pair_tokens
    for row in rows:
        if "tokens_per_s" not in row:
            continue
        achieved = row["tokens_per_s"] * flops_per_token(shape, vocab, args.seq_len) / 1e12
        row["achieved_tflops"] = round(achieved, 1)
        row["mfu"] = round(achieved / peak, 3) if peak else None
        row["speedup_vs_baseline_int8"] = round(row["tokens_per_s"] / reference["tokens_per_s"], 2) if reference else None
        row["projected_7b_tokens_per_s"] = round(row["tokens_per_s"] * ratio, 1)
        layout_tokens = args.pairs * row["tokens_per_pair"] if "tokens_per_pair" in row else epoch_tokens
        row["projected_7b_epoch_hours"] = round(layout_tokens / (row["tokens_per_s"] * ratio) / 3600, 2)
    compare_layouts(rows)
    flops_7b = flops_per_token(LLAMA_7B, LLAMA_7B["vocab_size"], args.seq_len)
    floor_hours = round(epoch_tokens * flops_7b / (peak * 1e12) / 3600, 2) if peak else None
    return {"device": device, "seq_len": args.seq_len, "effective_batch": args.effective_batch,
            "micro_batch": args.micro_batch, "baseline_micro_batch": args.baseline_micro_batch,
            "mean_pair_tokens": round(mean_pair_tokens, 1), "epoch_pairs": args.pairs,
            "flops_ratio_to_7b": round(ratio, 4), "goal_hours": 1.0,
            "paper_hours": PAPER_HOURS, "paper_setting": PAPER_SETTING,
            "projected_7b_epoch_hours_at_peak_flops": floor_hours, "rows": rows}


def print_report(report: dict) -> None:
    header = f"{'config':<15}{'tok/s':>10}{'peak GiB':>10}{'TFLOP/s':>9}{'MFU':>7}{'vs int8 base':>13}{'7B epoch h':>12}"
    rows = [row for row in report["rows"] if row["config"] not in DRI_CONFIGS or "skipped" in row]
    if rows:  # measured DRI rows have their own table (print_dri)
        print(header)
    for row in rows:
        if "skipped" in row:
            print(f"{row['config']:<15} skipped: {row['skipped']}")
            continue
        print(f"{row['config']:<15}{row['tokens_per_s']:>10,.0f}{row['peak_memory_gib'] or 0:>10.1f}"
              f"{row['achieved_tflops']:>9.1f}{row['mfu'] or 0:>7.2f}{row['speedup_vs_baseline_int8'] or 0:>13.2f}"
              f"{row['projected_7b_epoch_hours']:>12.2f}")
    print_dri(report)
    print(f"7B projection: {report['epoch_pairs']:,} pairs x {report['mean_pair_tokens']} tokens, FLOPs ratio "
          f"{report['flops_ratio_to_7b']}; goal under {report['goal_hours']} h (paper: about 15 h on A100-40GB)")
    if report["projected_7b_epoch_hours_at_peak_flops"] is not None:
        print(f"even at the GPU's peak bf16 FLOP/s one such epoch takes "
              f"{report['projected_7b_epoch_hours_at_peak_flops']} h: below that needs fewer tokens, not speed")


if __name__ == "__main__":
    sys.exit(main())
