"""Tolerant extraction of a JSON object or list from a teacher's free-form answer.

Teachers wrap their JSON in prose and code fences, answer in Python-dict syntax (single
quotes, ``None``/``True``), or leave trailing commas. :func:`extract_json` looks inside
fenced blocks first, then in the whole text, at every balanced ``{...}``/``[...]`` region in
order (quotes respected), and returns the first that parses as JSON, as JSON without trailing
commas, or as a Python literal. When none does it raises :class:`NoJSONFound`, with
``unbalanced`` set if an opening bracket was never closed (an answer cut short).
"""
from __future__ import annotations

import ast
import json
import re
from typing import Any, Iterator

FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.S)
TRAILING_COMMA = re.compile(r",(\s*[}\]])")
OPENERS = {"{": "}", "[": "]"}


class NoJSONFound(ValueError):
    """No parseable object or list in the text; ``unbalanced`` when a bracket never closes."""

    def __init__(self, message: str, unbalanced: bool = False):
        super().__init__(message)
        self.unbalanced = unbalanced


def _closing_index(text: str, start: int) -> int | None:
    """Index of the bracket that closes ``text[start]``, skipping quoted strings; -1 when a
    wrong bracket closes it; None when the text ends first."""
    stack = [OPENERS[text[start]]]
    quote: str | None = None
    index = start + 1
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            # An apostrophe inside a word ("don't") is not a Python string quote.
            if char == '"' or not (text[index - 1].isalnum() and index + 1 < len(text) and text[index + 1].isalnum()):
                quote = char
        elif char in OPENERS:
            stack.append(OPENERS[char])
        elif char in "}]":
            if char != stack[-1]:
                return -1
            stack.pop()
            if not stack:
                return index
        index += 1
    return None


def _parse(candidate: str) -> Any:
    for attempt in (candidate, TRAILING_COMMA.sub(r"\1", candidate)):
        try:
            return json.loads(attempt)
        except ValueError:
            pass
    try:
        value = ast.literal_eval(candidate)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise ValueError("not JSON or a Python literal") from None
    if not isinstance(value, (dict, list)):
        raise ValueError("not an object or list")
    return value


def _regions(text: str) -> Iterator[tuple[str | None, bool]]:
    """Balanced bracket regions of ``text`` in order; ``(None, True)`` and the end for a
    region the text ends inside (whatever follows is part of it)."""
    index = 0
    while index < len(text):
        if text[index] in OPENERS:
            end = _closing_index(text, index)
            if end is None:
                yield None, True
                return
            if end < 0:
                index += 1
                continue
            yield text[index:end + 1], False
            index = end + 1
        else:
            index += 1


def extract_json(text: str) -> Any:
    """The first parseable JSON object or list in ``text`` (see module doc)."""
    candidates = [block for block in FENCE.findall(text)] + [text]
    unbalanced = False
    for candidate in candidates:
        for region, unclosed in _regions(candidate):
            if unclosed:
                unbalanced = True
                continue
            try:
                return _parse(region)
            except ValueError:
                continue
    if unbalanced:
        raise NoJSONFound("the JSON starts but never ends (the answer was probably cut short)", unbalanced=True)
    raise NoJSONFound("no JSON object or list found in the answer")
