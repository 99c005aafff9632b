"""Content checks for dialogues that are well-formed but empty of meaning, which a small model
under a JSON schema writes easily: template filler, an utterance said twice, and dialogues made
of one- or two-word utterances. Used by :mod:`.qa`; each finding has its own reason code.
"""
from __future__ import annotations

import re
from typing import Sequence

WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
NOT_WORD = re.compile(r"[\W_]+")
# Whole utterances that are a slot to fill rather than something a person says, compared after
# lower-casing and dropping punctuation (so "...", "[response]" and "<User>" are covered).
PLACEHOLDERS = frozenset({
    "", "a", "ai", "user", "assistant", "supporter", "seeker", "text", "string", "response", "new response",
    "reply", "your reply", "answer", "message", "utterance", "content", "description", "scene", "strategy",
    "ai strategy", "placeholder", "example", "todo", "tbd", "n a", "null", "xxx", "blah",
    "blah blah", "etc", "insert text here", "text here", "your text", "your response", "user message",
    "ai response", "user text", "ai text", "sample text",
})
SLOT = re.compile(r"^\s*(?:\[[^\]]{0,40}\]|<[^>]{0,40}>|\{[^}]{0,40}\})\s*$")  # "[response]", "<reply>", "{text}"
LOREM = re.compile(r"\blorem\s+ipsum\b|\bdolor\s+sit\s+amet\b", re.I)


def normalized(text: str) -> str:
    """Lower case, punctuation and spacing collapsed: what "the same utterance" compares."""
    return NOT_WORD.sub(" ", text.lower()).strip()


def is_placeholder(text: str) -> bool:
    """True for template filler: a known slot word, a bracketed slot, bare punctuation, lorem ipsum."""
    return normalized(text) in PLACEHOLDERS or bool(SLOT.match(text)) or bool(LOREM.search(text))


def word_count(text: str) -> int:
    return len(WORD.findall(text))


def degeneracy(utterances: Sequence[str], description: str, min_words: int,
               max_short_share: float) -> tuple[str, str] | None:
    """``(reason, detail)`` for the first problem found, else None. Turn numbers count from 0.

    ``placeholder_text``: an utterance (or a non-empty description) is filler; ``repeated_utterance``:
    two utterances are equal once normalized; ``too_few_words``: more than ``max_short_share`` of
    the utterances have fewer than ``min_words`` words."""
    for number, text in enumerate(utterances):
        if is_placeholder(text):
            return "placeholder_text", f"turn {number} is placeholder text {text.strip()[:40]!r}"
    if description and is_placeholder(description):
        return "placeholder_text", f"the description is placeholder text {description.strip()[:40]!r}"
    first_seen: dict[str, int] = {}
    for number, text in enumerate(utterances):
        key = normalized(text)
        if key in first_seen:
            return "repeated_utterance", f"turn {number} repeats turn {first_seen[key]} ({text.strip()[:40]!r})"
        first_seen[key] = number
    short = [number for number, text in enumerate(utterances) if word_count(text) < min_words]
    if utterances and len(short) / len(utterances) > max_short_share:
        return "too_few_words", (f"{len(short)} of {len(utterances)} utterances have fewer than {min_words} words "
                                 f"(turns {', '.join(map(str, short[:8]))}{'...' if len(short) > 8 else ''}), "
                                 f"more than the allowed share {max_short_share:g}")
    return None
