"""The data-pipeline commands: ``expand``, ``dri``, ``augment`` (teacher steps) and ``stats``.

``register_pipeline_commands(commands)`` adds them to escbench's CLI (the chatpal plugin's
``register_commands`` hook calls it). Only argparse work happens here; each command imports
what it needs when it runs.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .teacher_options import add_teacher_arguments

DEFAULT_SEEDS = "tasks/seed/seed_dialogues.json"


def _add_qa_arguments(parser: argparse.ArgumentParser, min_turns: int = 6) -> None:
    group = parser.add_argument_group("quality assurance")
    group.add_argument("--min-turns", type=int, default=min_turns, help=f"fewest utterances (default: {min_turns})")
    group.add_argument("--max-turns", type=int, default=60, help="most utterances (default: 60)")
    group.add_argument("--dup-threshold", type=float, default=0.8,
                       help="word 5-gram Jaccard similarity at which a dialogue is a near duplicate (default: 0.8)")
    group.add_argument("--min-words", type=int, default=3,
                       help="an utterance with fewer words counts as short (default: 3)")
    group.add_argument("--max-short-share", type=float, default=0.25,
                       help="reject a dialogue when more than this share of its utterances is short (default: 0.25)")


def configure_expand(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", default=DEFAULT_SEEDS, help=f"seed dialogues, any escbench format (default: {DEFAULT_SEEDS})")
    parser.add_argument("--scenes", help="scene catalog YAML or comma-separated ExTES scene names (default: all 36)")
    parser.add_argument("--per-scene", type=float, default=1.0,
                        help="dialogues per iteration = this x number of scenes, split by --distribution (default: 1)")
    parser.add_argument("--distribution", default="table10",
                        help="scene weights: table10 (paper Table 10 counts), uniform, or a YAML file (default: table10)")
    parser.add_argument("--iterations", type=int, default=1, help="expansion rounds; accepted dialogues join the pool (default: 1)")
    parser.add_argument("--refill-rounds", type=int, default=0,
                        help="ask again for scenes short of their quota after rejects, up to this many times (default: 0)")
    parser.add_argument("--example-scene", choices=["any", "same"], default="any",
                        help="pool example shown: any dialogue, or one of the target scene when there is one (default: any)")
    parser.add_argument("--catalog", default="extes", help="strategy catalog: extes, esconv or a YAML path (default: extes)")
    parser.add_argument("--prompts", default="tasks/prompts/expand", help="template folder (default: tasks/prompts/expand)")
    parser.add_argument("--out", type=Path, default=Path("runs/expand"), help="output folder (default: runs/expand)")
    _add_qa_arguments(parser, min_turns=8)
    add_teacher_arguments(parser)


def configure_dri(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dialogues to inpaint, any escbench format")
    parser.add_argument("--k", type=int, default=4, help="alternative replies asked for per turn (default: 4)")
    parser.add_argument("--fraction", type=float, default=1.0, help="share of supporter turns to inpaint (default: all)")
    parser.add_argument("--limit", type=int, help="first N dialogues only")
    parser.add_argument("--label-strategies", action=argparse.BooleanOptionalAction, default=True,
                        help="the teacher labels each reply with a strategy in the same request (default; "
                             "--no-label-strategies: unlabelled replies)")
    parser.add_argument("--catalog", default="extes", help="strategy catalog for labels (default: extes)")
    parser.add_argument("--prompts", default="tasks/prompts/dri", help="template folder (default: tasks/prompts/dri)")
    parser.add_argument("--dup-threshold", type=float, default=0.8,
                        help="word-bigram Jaccard similarity at which a reply repeats another (default: 0.8)")
    parser.add_argument("--out", type=Path, default=Path("runs/dri"), help="output folder (default: runs/dri)")
    add_teacher_arguments(parser)


def configure_augment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--posts", required=True,
                        help="situation posts: .txt (one per line), a dialogue file (descriptions), or JSON/JSONL")
    parser.add_argument("--per-post", type=int, default=1, help="dialogues per post (default: 1)")
    parser.add_argument("--limit", type=int, help="first N posts only")
    parser.add_argument("--prompts", default="tasks/prompts/augment", help="template folder (default: tasks/prompts/augment)")
    parser.add_argument("--out", type=Path, default=Path("runs/augment"), help="output folder (default: runs/augment)")
    _add_qa_arguments(parser)
    add_teacher_arguments(parser)


def _check(args: argparse.Namespace) -> None:
    from escbench.harness.errors import ConfigError

    for name, low in (("k", 1), ("iterations", 1), ("per_post", 1), ("refill_rounds", 0), ("min_turns", 1),
                      ("concurrency", 1), ("max_tokens", 1), ("top", 1)):
        value = getattr(args, name, None)
        if value is not None and value < low:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= {low}, got {value}")
    for name in ("fraction", "dup_threshold"):
        value = getattr(args, name, None)
        if value is not None and not 0 < value <= 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be in (0, 1], got {value}")
    if getattr(args, "per_scene", 1.0) <= 0:
        raise ConfigError(f"--per-scene must be > 0, got {args.per_scene}")


TEACHER_FLAGS = {"base_url": "--teacher-url", "model": "--teacher", "api_key_env": "--teacher-key-env",
                 "concurrency": "--concurrency", "max_retries": "--max-retries", "timeout": "--timeout"}


def _runner(name: str):
    def run(args: argparse.Namespace) -> int:
        _check(args)
        if name == "stats":
            from .stats_output import run_stats

            return run_stats(args)
        from escbench.harness.backends.openai import BackendSettingError
        from escbench.harness.errors import ConfigError

        from . import runs

        try:
            return getattr(runs, f"run_{name}")(args)
        except BackendSettingError as error:  # name our flag, not the backend's argument
            flag = TEACHER_FLAGS.get(error.setting, error.setting)
            raise ConfigError(f"{flag}: {error.problem}") from None

    return run


def register_pipeline_commands(commands) -> None:
    """Add ``expand``, ``dri``, ``augment`` and ``stats`` through ``commands.add``."""
    from .stats_output import configure_stats

    commands.add("expand", "write new dialogues with a teacher model from seed dialogues and scenes (ChatPal §3.2)",
                 configure_expand, _runner("expand"))
    commands.add("dri", "diverse response inpainting: K alternative supporter replies per turn from a teacher (§3.4)",
                 configure_dri, _runner("dri"))
    commands.add("augment", "AugESC recipe: a teacher completes whole dialogues from situation posts",
                 configure_augment, _runner("augment"))
    commands.add("stats", "dataset statistics: paper Tables 1, 2, 9, 10 and Figure 3", configure_stats, _runner("stats"))
