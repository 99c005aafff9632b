"""``escbench interact``: simulated seekers talk with each system, a judge rates every
conversation, and a results record per (system, interactive split) is written.

Conversations and ratings are cached under ``OUT/interactive/`` (keys hold the system's,
simulator's and judge's configurations, the prompt templates and the settings), so a killed run
resumes without sending a finished turn again. ``--write-cards FILE`` only writes the role cards.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

DEFAULT_SPLIT = "seed_interactive"
TEMPLATE_FILES = {"system": "simulator_system.txt", "start": "simulator_start.txt", "final": "simulator_final.txt",
                  "judge_system": "judge_system.txt", "judge_user": "judge_user.txt"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--split", default=DEFAULT_SPLIT,
                        help=f"interactive split (tasks/interactive), its YAML, or any split whose dialogues "
                             f"become role cards (default {DEFAULT_SPLIT})")
    parser.add_argument("--systems", default="chatgpt", help="comma-separated systems under test")
    parser.add_argument("--system-args", action="append", default=[], metavar="[SYSTEM:]K=V[,K=V]")
    parser.add_argument("--simulator-model", help="model playing the seeker (OpenAI-compatible)")
    parser.add_argument("--simulator-base-url", help="its server (default $OPENAI_BASE_URL or OpenAI)")
    parser.add_argument("--simulator-api-key-env", default="OPENAI_API_KEY")
    parser.add_argument("--simulator-temperature", type=float, default=0.0, help="0: greedy (default)")
    parser.add_argument("--simulator-max-tokens", type=int, default=256)
    parser.add_argument("--judge-model", help="model rating the conversations (default: the simulator's)")
    parser.add_argument("--judge-base-url", help="its server (default: the simulator's)")
    parser.add_argument("--judge-api-key-env", help="default: the simulator's")
    parser.add_argument("--judge-max-tokens", type=int, default=200)
    parser.add_argument("--no-judge", action="store_true", help="only the cheap measures, no judge")
    parser.add_argument("--max-turns", type=int, help="system replies per conversation (default: the split's)")
    parser.add_argument("--limit", type=int, help="first N role cards")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="system reply length (default 128)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=8, help="conversations advanced per request batch")
    parser.add_argument("--concurrency", type=int, default=8, help="simulator/judge requests in flight")
    parser.add_argument("--prompts", type=Path, help="folder of the prompt templates (default tasks/prompts/interactive)")
    parser.add_argument("--out", type=Path, default=Path("results"), help="results folder (default results)")
    parser.add_argument("--no-cache", action="store_true", help="ignore cached turns and ratings")
    parser.add_argument("--write-cards", type=Path, metavar="FILE", help="write the split's role cards as JSONL and stop")


def _check(args: argparse.Namespace) -> None:
    from escbench.harness.errors import ConfigError

    for flag in ("max_turns", "limit", "max_new_tokens", "batch_size", "concurrency", "simulator_max_tokens", "judge_max_tokens"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise ConfigError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    if args.simulator_temperature < 0:
        raise ConfigError(f"--simulator-temperature must be >= 0, got {args.simulator_temperature}")
    if not args.write_cards and not args.simulator_model:
        raise ConfigError("--simulator-model is required: the model that plays the seeker (e.g. gpt-4o-mini)")


def run(args: argparse.Namespace) -> int:
    from escbench.harness.cli import report_problems
    from escbench.harness.plugins import get_host

    from .spec import load_cards, resolve_spec

    _check(args)
    host = get_host()
    spec = resolve_spec(args.split, host)
    if args.max_turns:
        spec.max_turns = args.max_turns
    cards, source = load_cards(spec, host, args.limit)
    if args.write_cards:
        from escbench.harness.jsonl import write_jsonl_atomic

        write_jsonl_atomic(args.write_cards, [card.to_dict() for card in cards])
        print(f"wrote {len(cards)} role cards to {args.write_cards}", file=sys.stderr)
        return 0
    from escbench.harness.folder_lock import FolderLock

    from escbench.harness.cli import parse_assignments

    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    extra = parse_assignments(args.system_args, names, "--system-args")
    with FolderLock(args.out, "escbench interact"):
        records, errors, _ = _run_systems(args, host, spec, cards, source, [(name, extra[name]) for name in names])
    if records:
        from escbench.harness.table import table_from_records

        print(host.renderers.get("terminal")().render(
            table_from_records(records, title=f"escbench · interactive split {spec.name}")))
        print(f"intervals and paired tests: escbench leaderboard {args.out} --split {spec.name} --ci --significance",
              file=sys.stderr)
    return report_problems(host, errors)


def _backend(model, base_url, key_env, concurrency):
    from escbench.harness.backends.openai import OpenAIBackend

    return OpenAIBackend(model=model, base_url=base_url, api_key_env=key_env, concurrency=concurrency)


def _run_systems(args, host, spec, cards, source, systems: list[tuple[str, dict]]) -> tuple[list[dict], list[str], list]:
    """Talk, judge and write a record for each ``(system name, args)``; returns the records, one
    error line per failed system, and the record paths."""
    from escbench.harness.errors import EscbenchError
    from escbench.harness.registry import GenerationSettings
    from escbench.harness.runner import LABEL_KEY, cache_identity, system_kwargs

    from .engine import judge_conversations, run_conversations
    from .prompts import PROMPTS, read_guideline, read_template
    from .record import describe_system, write_record
    from .store import RatingStore, TurnStore

    folder = args.prompts or PROMPTS
    templates = {role: read_template(folder, name) for role, name in TEMPLATE_FILES.items()}
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens, seed=args.seed, batch_size=args.batch_size)
    simulator_settings = GenerationSettings(do_sample=args.simulator_temperature > 0,
                                            temperature=args.simulator_temperature or 1.0,
                                            max_new_tokens=args.simulator_max_tokens, seed=args.seed,
                                            batch_size=args.batch_size)
    simulator = _backend(args.simulator_model, args.simulator_base_url, args.simulator_api_key_env, args.concurrency)
    simulator_config = {"model": simulator.model, "base_url": simulator.base_url,
                        "settings": {k: v for k, v in simulator_settings.to_dict().items() if k != "batch_size"},
                        "templates": {role: templates[role].sha256 for role in ("system", "start", "final")}}
    judge, judge_config, guideline = None, None, None
    if not args.no_judge:
        guideline = read_guideline()
        judge = _backend(args.judge_model or args.simulator_model, args.judge_base_url or simulator.base_url,
                         args.judge_api_key_env or args.simulator_api_key_env, args.concurrency)
        judge_config = {"model": judge.model, "base_url": judge.base_url, "max_tokens": args.judge_max_tokens,
                        "guideline_sha256": guideline.sha256,
                        "templates": {role: templates[role].sha256 for role in ("judge_system", "judge_user")}}
    judge_settings = GenerationSettings(max_new_tokens=args.judge_max_tokens, seed=args.seed, batch_size=args.batch_size)
    records, errors, paths = [], [], []
    for name, system_args in systems:
        label = system_args.get(LABEL_KEY) or name
        who = f"system {name!r} on {spec.name}"
        started = time.perf_counter()
        try:
            system = _build(host, name, system_args)
            system.prepare()
            identity = {"system": cache_identity(host, name, system), "simulator": simulator_config,
                        "settings": {k: v for k, v in settings.to_dict().items() if k != "batch_size"},
                        "max_turns": spec.max_turns}
            store = TurnStore(args.out / "interactive" / "conversations", label, identity, not args.no_cache)
            with _progress() as progress:
                task = progress.add_task(f"{label} · {spec.name} (conversations)", total=len(cards))
                conversations, counts = run_conversations(
                    cards, system, simulator, store, identity, settings, simulator_settings, spec.max_turns,
                    templates, who, advance=lambda done: progress.advance(task, done))
            talked = time.perf_counter()
            ratings = None
            if judge is not None:
                ratings_store = RatingStore(args.out / "interactive" / "ratings.jsonl", not args.no_cache)
                ratings = judge_conversations(conversations, judge, ratings_store, judge_config, guideline,
                                              templates, judge_settings, who, counts)
            finished = time.perf_counter()
            record, path = write_record(
                args.out, split=spec.to_dict(), cards_source=source,
                system=describe_system(host, name, system_args, system), label=label, conversations=conversations,
                ratings=ratings, guideline=guideline, settings=settings, simulator=simulator_config, judge=judge_config,
                counts=counts, timings={"generation_s": round(talked - started, 3), "scoring_s": round(finished - talked, 3),
                                        "total_s": round(finished - started, 3)})
        except EscbenchError as error:
            errors.append(str(error) if who in str(error) else f"{who}: {error}")
            continue
        records.append(record)
        paths.append(path)
        print(f"{label} on {spec.name}: {counts.cached_turns} turns from the cache, {counts.seeker_requests} seeker "
              f"and {counts.system_turns} system turns produced, {counts.judged} conversations judged; wrote {path}",
              file=sys.stderr)
    return records, errors, paths


def _build(host, name: str, system_args: dict):
    """The system built with its arguments; ConfigError naming them when it refuses them."""
    from escbench.harness.errors import ConfigError
    from escbench.harness.runner import system_kwargs

    cls = host.systems.get(name)
    try:
        return cls(**system_kwargs(system_args))
    except TypeError as error:
        raise ConfigError(f"bad --system-args {system_args}: {error}") from None


def options_for_run(spec, config) -> argparse.Namespace:
    """``escbench interact``'s options for an interactive split named in ``escbench run``: the
    YAML's ``simulator``/``judge`` settings, the run's generation settings, limit and folder."""
    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args([])
    simulator, judge = spec.simulator or {}, spec.judge
    args.simulator_model, args.simulator_base_url = simulator.get("model"), simulator.get("base_url")
    args.simulator_api_key_env = simulator.get("api_key_env", args.simulator_api_key_env)
    args.simulator_temperature = simulator.get("temperature", args.simulator_temperature)
    args.simulator_max_tokens = simulator.get("max_tokens", args.simulator_max_tokens)
    args.no_judge = judge is None
    judge = judge or {}
    args.judge_model, args.judge_base_url = judge.get("model"), judge.get("base_url")
    args.judge_api_key_env = judge.get("api_key_env")
    args.judge_max_tokens = judge.get("max_tokens", args.judge_max_tokens)
    args.max_new_tokens, args.seed = config.settings.max_new_tokens, config.settings.seed
    args.batch_size, args.limit = config.settings.batch_size, config.limit
    args.out, args.no_cache = Path(config.out), not config.use_cache
    return args


def _progress():
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=Console(stderr=True))
