"""Cheap conversation-level measures, one value per conversation (None where undefined).

Over the supporter's (system's) turns of one conversation:

- ``Strat-div``: distinct predicted strategies / turns with a predicted strategy, x100 (None
  when the system predicts none); ``Strat-rep``: % of consecutive supporter turns whose
  strategy equals the previous one (None with fewer than two labelled turns);
- ``Rep``: % of supporter replies that repeat an earlier reply of the same conversation word
  for word (case and spacing ignored);
- ``Len``: mean words per supporter reply;
- ``iD-1`` / ``iD-2``: distinct n-grams / all n-grams over the supporter's replies in the
  conversation (x100; n-grams do not cross replies; lower-cased word and punctuation tokens);
- ``Distress-start`` / ``Distress-end``: the seeker's self-reported distress (1-5) in its first
  and last message, ``Distress-drop`` = start - end (positive: the seeker feels better).
"""
from __future__ import annotations

import re
from typing import Sequence

TOKEN = re.compile(r"\w+(?:'\w+)?|[^\w\s]")

# column -> higher is better (recorded in score_meta; the leaderboard ranks by it)
COLUMNS: dict[str, bool] = {
    "Strat-div": True, "Strat-rep": False, "Rep": False, "Len": True, "iD-1": True, "iD-2": True,
    "Distress-start": False, "Distress-end": False, "Distress-drop": True,
}


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def distinct_n(replies: Sequence[str], n: int) -> float | None:
    """Distinct n-grams / n-grams over ``replies`` (x100), counted within each reply; None if none."""
    grams = [tuple(words[i:i + n]) for words in map(tokens, replies) for i in range(len(words) - n + 1)]
    return 100.0 * len(set(grams)) / len(grams) if grams else None


def conversation_measures(turns: Sequence[dict]) -> dict[str, float | None]:
    """Every column of :data:`COLUMNS` for one conversation (turn dicts: role, text, strategy, distress)."""
    replies = [t["text"] for t in turns if t["role"] == "ai"]
    labels = [t.get("strategy") for t in turns if t["role"] == "ai" and t.get("strategy")]
    seeker = [t for t in turns if t["role"] == "user" and isinstance(t.get("distress"), int)]
    normalised = [" ".join(r.lower().split()) for r in replies]
    out: dict[str, float | None] = {
        "Strat-div": 100.0 * len(set(labels)) / len(labels) if labels else None,
        "Strat-rep": (100.0 * sum(a == b for a, b in zip(labels, labels[1:])) / (len(labels) - 1)) if len(labels) > 1 else None,
        "Rep": (100.0 * sum(r in normalised[:i] for i, r in enumerate(normalised)) / len(normalised)) if normalised else None,
        "Len": sum(len(r.split()) for r in replies) / len(replies) if replies else None,
        "iD-1": distinct_n(replies, 1),
        "iD-2": distinct_n(replies, 2),
        "Distress-start": float(seeker[0]["distress"]) if seeker else None,
        "Distress-end": float(seeker[-1]["distress"]) if seeker else None,
    }
    out["Distress-drop"] = out["Distress-start"] - out["Distress-end"] if seeker else None
    return out
