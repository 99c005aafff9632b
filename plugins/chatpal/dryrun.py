"""``--dry-run``: the most a teacher command can spend, printed before anything is sent.

The bound covers the whole run: every request the command may send (for ``expand``: all
iterations and every refill round, each asking again for a whole quota), each answer at
``max_tokens``, and the retry budget (every request attempted ``1 + --max-retries`` times, each
attempt billed). A prompt counts at most one token per UTF-8 byte plus
``TOKENS_PER_MESSAGE`` chat-format tokens per message and ``PRIMING_TOKENS`` per request (a
tokenizer's token is at least one byte). Prompts not known before the run (later iterations
show a dialogue the teacher wrote as their example) count their example as the largest seed
or ``GENERATED_EXAMPLE_FACTOR * max_tokens`` tokens, whichever is larger: that dialogue came
from an answer of at most ``max_tokens`` tokens, re-written as the example JSON. Requests
already answered in the journal count only in the first iteration (later ones are bounded
as if none were).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .teacher import Teacher, TeacherRequest

TOKENS_PER_MESSAGE = 8
PRIMING_TOKENS = 8
GENERATED_EXAMPLE_FACTOR = 2


@dataclass
class Part:
    """One part of a run: ``requests`` it may send, the bound on their prompt tokens, and how
    many of its requests are already in the journal (known parts only)."""

    label: str
    requests: int
    prompt_tokens: int
    in_journal: int | None = None


def prompt_bound(messages: Sequence[dict[str, str]]) -> int:
    """Most tokens ``messages`` can be (see the module doc)."""
    return PRIMING_TOKENS + sum(len(str(m.get("content", "")).encode("utf-8")) + TOKENS_PER_MESSAGE
                                for m in messages)


def known_part(teacher: Teacher, requests: Sequence[TeacherRequest], label: str) -> Part:
    pending = teacher.pending(requests)
    return Part(label, len(pending), sum(prompt_bound(r.messages) for r in pending), len(requests) - len(pending))


def expand_parts(expansion, teacher: Teacher) -> list[Part]:
    """The parts of an ``expand`` run (an :class:`~.expand.Expansion` not run yet)."""
    from .prompts import example_json

    settings = expansion.settings
    quotas = {scene: quota for scene, quota in expansion.quotas().items() if quota > 0}
    first = [expansion.request(1, scene, index) for scene, quota in quotas.items() for index in range(quota)]
    parts = [known_part(teacher, first, "iteration 1")]
    seed_example = max((len(example_json(d).encode("utf-8")) for d in settings.seeds), default=0)
    generated = max(seed_example, GENERATED_EXAMPLE_FACTOR * teacher.settings.max_tokens)

    def one_round(example_tokens: int) -> int:
        return sum(quota * (prompt_bound(expansion.messages_for(scene, "")) + example_tokens)
                   for scene, quota in quotas.items())

    total, rounds = sum(quotas.values()), settings.refill_rounds
    if rounds:
        parts.append(Part(f"iteration 1, refill rounds (up to {rounds})", rounds * total, rounds * one_round(seed_example)))
    later = (settings.iterations - 1) * (rounds + 1)
    if later:
        parts.append(Part(f"iterations 2-{settings.iterations} with their refill rounds", later * total,
                          later * one_round(generated)))
    return parts


def dry_run(teacher: Teacher, parts: list[Part], command: str) -> int:
    """Print each part's bound, the retry budget and the largest possible cost; send nothing."""
    max_tokens = teacher.settings.max_tokens
    attempts = 1 + teacher.backend.max_retries

    def cost(prompt: int, completion: int) -> str:
        value = teacher.prices.cost(teacher.model, prompt, completion)
        return "unknown (model not in the price table)" if value is None else f"{value:.4f} {teacher.prices.currency}"

    print(f"{command} --dry-run: the most this run can send and cost (nothing is sent)")
    for part in parts:
        journal = "" if part.in_journal is None else f" ({part.in_journal} already in the journal)"
        print(f"  {part.label}: at most {part.requests} requests{journal}, prompts at most {part.prompt_tokens} "
              f"tokens, answers at most {part.requests * max_tokens} tokens: {cost(part.prompt_tokens, part.requests * max_tokens)}")
    requests = sum(part.requests for part in parts)
    prompt = sum(part.prompt_tokens for part in parts)
    print(f"  without retries: at most {requests} requests, {cost(prompt, requests * max_tokens)}")
    print(f"  retry budget: each request at most {attempts} attempts (--max-retries {attempts - 1}), every attempt billed")
    requests, prompt, completion = requests * attempts, prompt * attempts, requests * attempts * max_tokens
    print(f"largest possible cost {cost(prompt, completion)} (at most {requests} HTTP requests, "
          f"{prompt} prompt + {completion} completion tokens)")
    return 0
