"""Stop strings: the one rule every backend, the server and the lm-eval bridge apply.

A reply ends before the earliest occurrence of any stop string; empty stop strings are
ignored (they would otherwise cut every reply to nothing)."""
from __future__ import annotations

from typing import Sequence


def trim_at_stops(text: str, stops: Sequence[str]) -> str:
    """``text`` up to the earliest occurrence of any non-empty stop string (all of it when none occurs)."""
    cut = min((position for s in stops if s and (position := text.find(s)) >= 0), default=len(text))
    return text[:cut]
