"""The prompt budget both sides of a student share: training (the ChatPal plugin) and the student
systems must cut a context the same way, so the rule's name and the budget live here, once.

:data:`TRUNCATION` names the rule (whole oldest turns are dropped; the system message and the
last message always stay) and is recorded in the training card; :func:`prompt_budget` is the
number of tokens a prompt may take.
"""
from __future__ import annotations

TRUNCATION = "drop-oldest-turns"
REPLY_RESERVE = 64  # tokens kept free for the reply when no prompt budget is given


def prompt_budget(max_len: int, max_prompt_len: int | None = None) -> int:
    """Tokens a student prompt may take for sequences of ``max_len``: ``max_prompt_len`` when
    given, else ``max_len`` less :data:`REPLY_RESERVE` (but at least half of ``max_len``)."""
    if max_prompt_len is not None:
        return max_prompt_len
    return max(max_len - REPLY_RESERVE, max_len // 2, 1)
