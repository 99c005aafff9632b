"""``escbench train``: the command-line face of :func:`escbench.plugins.chatpal.train.trainer.train_student`.

Importing this module is cheap (argparse only); torch and transformers load when the command
runs. Data parallelism needs no code change: start one process per GPU, e.g. ::

    accelerate launch --multi_gpu --num_processes 8 -m escbench.harness.cli train --base /models/llama-7b \
        --data extes_train.jsonl --dri extes_dri.jsonl --out students/chatpal --load-8bit
    torchrun --nproc_per_node 8 -m escbench.harness.cli train ...        # the same, without accelerate

Gradient accumulation shrinks with the number of processes so that micro batch x processes x
accumulation stays ``--effective-batch``; only the main process writes checkpoints, the log
and the card. (CPU processes work too, through gloo: ``torchrun --nproc_per_node 2 ...``.)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .settings import DEFAULT_LORA_TARGETS, DTYPES, METHODS, TrainSettings

HELP = "fine-tune a student (LoRA, LLaMA-Adapter or full) on dialogues, optionally with DRI data"


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` arguments (defaults: the paper's LoRA recipe)."""
    data = parser.add_argument_group("data")
    data.add_argument("--base", default="smollm2", help="base causal LM: model folder, .gguf file or 'smollm2' (default)")
    data.add_argument("--data", required=True, type=_csv, metavar="FILE[,FILE]",
                      help="dialogue files (ExTES/ESConv JSON, escbench JSONL) or split YAMLs")
    data.add_argument("--partition", default="train", help="partition of split YAMLs in --data (default train)")
    data.add_argument("--dri", metavar="FILE", help="DRI JSONL: each alternative becomes an extra training pair")
    data.add_argument("--dri-k", type=int, metavar="K",
                      help="use the first K alternatives of each DRI line (default all; 0: none, the file is still "
                           "recorded): the k-sweep students k=0..K come from one DRI file")
    data.add_argument("--valid-data", type=_csv, default=[], metavar="FILE[,FILE]",
                      help="validation dialogues (default: hold out --valid-fraction of --data by dialogue)")
    data.add_argument("--valid-fraction", type=float, default=0.05)
    data.add_argument("--catalog", default="extes", help="strategy catalog for labels (extes or esconv)")
    data.add_argument("--strategy", dest="with_strategy", action=argparse.BooleanOptionalAction, default=True,
                      help="targets are '[Strategy] response' (default) or the bare response")
    data.add_argument("--system-prompt", metavar="FILE", help="student system prompt template (default: tasks/prompts/student/)")
    data.add_argument("--max-len", type=int, default=256, help="tokens per example, prompt and reply (default 256)")
    data.add_argument("--max-prompt-len", type=int, metavar="N",
                      help="prompt budget: oldest whole turns are dropped beyond it, at training and in the "
                           "student systems alike (default: --max-len less 64)")
    method = parser.add_argument_group("method")
    method.add_argument("--method", choices=METHODS, default="lora")
    method.add_argument("--lora-r", type=int, default=8)
    method.add_argument("--lora-alpha", type=int, default=16)
    method.add_argument("--lora-dropout", type=float, default=0.05)
    method.add_argument("--lora-targets", type=_csv, default=list(DEFAULT_LORA_TARGETS), metavar="NAME[,NAME]",
                        help="linear layers LoRA adapts (default q_proj,k_proj,v_proj,o_proj)")
    method.add_argument("--adapter-len", type=int, default=10, help="adaption-prompt length (--method adapter)")
    method.add_argument("--adapter-layers", type=int, help="top layers with adaption prompts (default all)")
    method.add_argument("--load-8bit", action="store_true", help="frozen int8 base weights through bitsandbytes")
    method.add_argument("--dtype", choices=DTYPES, default="auto", help="auto: bfloat16 on GPU, float32 on CPU")
    method.add_argument("--gradient-checkpointing", action="store_true")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--lr", dest="learning_rate", type=float, default=3e-4)
    opt.add_argument("--weight-decay", type=float, default=0.0)
    opt.add_argument("--warmup-steps", type=int, default=0)
    opt.add_argument("--lr-scheduler", default="linear")
    opt.add_argument("--effective-batch", type=int, default=128, help="examples per optimizer step (default 128)")
    opt.add_argument("--micro-batch", type=int, default=4, help="examples per forward pass per device")
    opt.add_argument("--epochs", type=float, default=3.0)
    opt.add_argument("--max-steps", type=int, help="optimizer steps (overrides --epochs)")
    opt.add_argument("--group-by-length", action="store_true", help="batch similar lengths (less padding)")
    opt.add_argument("--seed", type=int, default=42)
    run = parser.add_argument_group("run")
    run.add_argument("--out", required=True, type=Path, help="output folder (adapter, checkpoints, log, card)")
    run.add_argument("--eval-steps", type=int, default=50, help="validation loss every N optimizer steps")
    run.add_argument("--save-steps", type=int, default=50, help="checkpoint every N optimizer steps")
    run.add_argument("--save-total-limit", type=int, default=2)
    run.add_argument("--overwrite", action="store_true", help="start over in an --out that holds a run")
    run.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    """TrainSettings from parsed arguments (ConfigError for values out of range)."""
    fields = TrainSettings.__dataclass_fields__
    return TrainSettings(**{name: getattr(args, name) for name in fields if hasattr(args, name)})


def run(args: argparse.Namespace) -> int:
    """Train and print where the student went; errors propagate as EscbenchError."""
    from .card import fitting_system
    from .trainer import train_student

    outcome = train_student(settings_from_args(args))
    results = outcome.card.get("results", {})
    if outcome.card:
        kind = "adapter" if outcome.card["artifact"] == "adapter" else "model"
        print(f"wrote {kind} to {outcome.out}: {results['steps']} steps, final train loss "
              f"{_number(results['final_train_loss'])}, valid loss {_number(results['final_valid_loss'])}, "
              f"{results['wall_time_s']} s", file=sys.stderr)
        print(f"evaluate it with: escbench run --systems {fitting_system(outcome.card)} "
              f"--system-args adapter={outcome.out}", file=sys.stderr)
    return 0


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
