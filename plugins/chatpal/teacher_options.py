"""Command-line options shared by the teacher commands (``expand``, ``dri``, ``augment``) and
the construction of a :class:`~.teacher.Teacher` from them.

Defaults suit an offline run against ``escbench serve --model smollm2 --served-name teacher``
(``http://127.0.0.1:8011/v1``); ``$ESCBENCH_TEACHER_URL`` / ``$ESCBENCH_TEACHER_MODEL``
change them. For OpenAI: ``--teacher gpt-4o-mini --teacher-url https://api.openai.com/v1``
with the key in ``$OPENAI_API_KEY`` (or the variable named by ``--teacher-key-env``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable

DEFAULT_TEACHER_URL = "http://127.0.0.1:8011/v1"
DEFAULT_TEACHER_MODEL = "teacher"


def add_teacher_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("teacher (any OpenAI-compatible server)")
    group.add_argument("--teacher", dest="teacher_model",
                       default=os.environ.get("ESCBENCH_TEACHER_MODEL", DEFAULT_TEACHER_MODEL),
                       help="model name the server serves (default: $ESCBENCH_TEACHER_MODEL or 'teacher')")
    group.add_argument("--teacher-url", default=os.environ.get("ESCBENCH_TEACHER_URL", DEFAULT_TEACHER_URL),
                       help=f"base URL ending in /v1 (default: $ESCBENCH_TEACHER_URL or {DEFAULT_TEACHER_URL})")
    group.add_argument("--teacher-key-env", default="OPENAI_API_KEY",
                       help="environment variable holding the API key (default: OPENAI_API_KEY)")
    group.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (default: 8)")
    group.add_argument("--rpm", type=float, help="requests-per-minute limit, retries included (default: none)")
    group.add_argument("--tpm", type=float, help="tokens-per-minute limit, prompt + max_tokens (default: none)")
    group.add_argument("--max-retries", type=int, default=6, help="retries per request on 429/5xx/timeouts (default: 6)")
    group.add_argument("--timeout", type=float, default=300.0,
                       help="seconds per attempt, end to end: connecting, waiting and the whole answer (default: 300)")
    group.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (default: 0.7)")
    group.add_argument("--top-p", type=float, default=1.0)
    group.add_argument("--max-tokens", type=int, default=2048, help="longest answer in tokens (default: 2048)")
    group.add_argument("--seed", type=int, default=0, help="seed for sampling and for every random choice (default: 0)")
    group.add_argument("--structured", action=argparse.BooleanOptionalAction, default=True,
                       help="send the JSON schema of the expected answer as response_format (structured outputs; "
                       "default: on); --no-structured asks for the format in the prompt only, for servers that "
                       "reject response_format")
    group.add_argument("--schema-profile", choices=("portable", "extended"), default="portable",
                       help="JSON schema keywords to use: portable (default) stays in OpenAI's strict subset; extended "
                       "(xgrammar servers such as escbench serve) also bounds each utterance and the description "
                       "(maxLength) and makes turns alternate starting with User (prefixItems)")
    group.add_argument("--max-utterance-chars", type=int, default=300,
                       help="longest utterance/reply the extended schema allows (default: 300)")
    group.add_argument("--max-description-chars", type=int, default=400,
                       help="longest description the extended schema allows (default: 400)")
    group.add_argument("--journal", type=Path, help="request journal (default: OUT/journal.jsonl); a re-run "
                       "with the same settings resumes from it and sends nothing twice")
    group.add_argument("--prices", type=Path, help="price table YAML (default: tasks/teacher/prices.yaml)")
    group.add_argument("--dry-run", action="store_true",
                       help="print the most the whole run can send and cost (all iterations, refill rounds and "
                       "retries), send nothing and create nothing")
    group.add_argument("--retry-failed", action="store_true",
                       help="send again the requests the server (request_rejected) or the model (refused) "
                       "refused in earlier runs; by default they stay rejected")


def build_teacher(args: argparse.Namespace, journal, task: str):
    """A Teacher for the parsed options over an opened journal (ConfigError for bad values)."""
    from escbench.harness.backends.openai import OpenAIBackend

    from .pricing import PriceTable
    from .teacher import Teacher, TeacherSettings

    backend = OpenAIBackend(model=args.teacher_model, base_url=args.teacher_url, api_key_env=args.teacher_key_env,
                            concurrency=args.concurrency, max_retries=args.max_retries, timeout=args.timeout)
    settings = TeacherSettings(temperature=args.temperature, top_p=args.top_p, max_tokens=args.max_tokens,
                               seed=args.seed)
    return Teacher(backend, journal, settings, rpm=args.rpm, tpm=args.tpm, prices=PriceTable.load(args.prices),
                   task=task, retry_failed=getattr(args, "retry_failed", False),
                   structured=getattr(args, "structured", True))


def schema_options(args: argparse.Namespace):
    """The :class:`~.schemas.SchemaOptions` of the parsed options (ConfigError naming the flag)."""
    from escbench.harness.errors import ConfigError

    from .schemas import SchemaOptions

    try:
        return SchemaOptions(profile=getattr(args, "schema_profile", "portable"),
                             utterance_chars=getattr(args, "max_utterance_chars", 300),
                             description_chars=getattr(args, "max_description_chars", 400))
    except ValueError as error:
        raise ConfigError(f"--schema-profile/--max-utterance-chars/--max-description-chars: {error}") from None


def journal_path(args: argparse.Namespace) -> Path:
    return args.journal or Path(args.out) / "journal.jsonl"


def progress_printer(label: str, every_s: float = 5.0) -> Callable[[int, int], None]:
    """A ``progress(done, total)`` callback printing to stderr at most every ``every_s`` seconds."""
    last = [0.0]

    def report(done: int, total: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= every_s:
            last[0] = now
            print(f"{label}: {done}/{total} requests answered", file=sys.stderr, flush=True)

    return report
