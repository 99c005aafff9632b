"""``escbench export-split`` and ``escbench export-model``: what lm-eval needs to run the
escbench tasks offline (documents as local JSONL, the model as a local folder)."""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


# -- export-split -------------------------------------------------------------------------------
def configure_export_split(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("split", help="split name (see `escbench list splits`) or a split YAML path")
    parser.add_argument("--out", type=Path,
                        help="JSONL file to write (default: tasks/lm_eval/data/SPLIT.jsonl, where the task YAMLs look)")
    parser.add_argument("--system-prompt",
                        help="prompt template of the messages (default: the llama system's, tasks/prompts/llama/system.txt)")
    parser.add_argument("--max-context-turns", type=int,
                        help="keep only the last N turns of each context (as the llama system's max_context_turns)")
    parser.add_argument("--limit", type=int, help="first N examples only (lm-eval's --limit also cuts)")
    parser.add_argument("--lenient", action="store_true", help="skip bad dialogues instead of failing")


def run_export_split(args: argparse.Namespace) -> int:
    from escbench.harness.errors import ConfigError
    from escbench.harness.jsonl import write_jsonl_atomic

    from .export import default_export_path, split_documents

    if args.max_context_turns is not None and args.max_context_turns < 1:
        raise ConfigError(f"--max-context-turns {args.max_context_turns}: must be a positive integer")
    documents = split_documents(args.split, args.system_prompt, args.max_context_turns, args.limit, args.lenient)
    name = documents[0]["split"] if documents else Path(args.split).stem
    out = args.out or default_export_path(name)
    write_jsonl_atomic(out, documents)
    print(f"wrote {len(documents)} documents of split {name!r} to {out}", file=sys.stderr)
    return 0


# -- export-model -------------------------------------------------------------------------------
def configure_export_model(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", default="smollm2",
                        help="smollm2 (the embedded SmolLM2-135M-Instruct, default), a .gguf file or a model folder")
    parser.add_argument("--out", type=Path,
                        help="copy the model folder here (default: only print the escbench cache folder)")


def run_export_model(args: argparse.Namespace) -> int:
    """Print the local transformers folder of ``model`` (converting a GGUF once into the
    escbench cache), optionally copied to ``--out``, and the lm-eval command that uses it."""
    from escbench.harness.errors import ConfigError
    from escbench.harness.models import resolve_model

    folder = resolve_model(args.model)
    if args.out:
        out = args.out.expanduser().resolve()
        if out.exists() and any(out.iterdir()):
            raise ConfigError(f"--out {out}: the folder exists and is not empty; choose a new or empty folder")
        shutil.copytree(folder, out, dirs_exist_ok=True)
        folder = out
    print(folder)
    print(f"use it with: lm_eval --model hf --model_args pretrained={folder},dtype=float32 "
          "--include_path tasks/lm_eval --tasks esc_seed", file=sys.stderr)
    return 0
