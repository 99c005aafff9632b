"""Diverse Response Inpainting (ChatPal §3.4, Appendix H, Figure 6).

For each chosen supporter turn r_t the teacher sees the whole dialogue with r_t replaced by
``[New response]`` and writes K replies that keep the dialogue coherent. Answers are read as
a JSON list (strings or objects with ``response``/``text`` and ``strategy``) or as a numbered
list (prose around it ignored; with ``label_strategies`` each item starts with
``[Strategy]``). Replies equal or near-equal to the original, to another supporter turn of
the same dialogue (``copied_turn``) or to an earlier reply are dropped; at most K are kept.
When the teacher stopped at ``max_tokens`` (``finish_reason: length``) the last list item
is cut, so it is dropped (``truncated``) and only the complete ones are kept; an answer with
no complete reply is rejected as ``truncated``.

Output, one JSON line per inpainted turn (the schema the training step reads)::

    {"dialogue_id": str, "turn_index": int, "original": {"text": str, "strategy": str|null},
     "alternatives": [{"text": str, "strategy": str|null}], "teacher": {"model": str,
     "request_keys": [str], "finish_reason": str|null}, "k": int}

``turn_index`` is the turn's position in the dialogue (from 0, user and AI turns counted).
A turn whose answer holds no usable list goes to the rejects instead (reason codes of
:mod:`.qa` and :mod:`.outputs`: ``unparseable``, ``truncated``, ``refused``, ``request_failed``,
``request_rejected``, ``not_sent``).
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from escbench.harness.catalogs import StrategyCatalog
from escbench.harness.data import Dialogue
from escbench.harness.errors import UnknownStrategyError

from .dedup import DuplicateIndex, normalize
from .extract import NoJSONFound, extract_json
from .prompts import Template, strategy_list, transcript
from .qa import normalize_strategy
from .schemas import PORTABLE, SchemaOptions, dri_format
from .teacher import Teacher, TeacherReply, TeacherRequest

ITEM = re.compile(r"^\s*(?:\d{1,2}\s*[.):]\s*|[-*\u2022]\s+)(.*\S)\s*$")
LABEL = re.compile(r"^\s*[\[(]([^\])]{2,60})[\])]\s*[:\-]?\s*")
SPEAKER_PREFIX = re.compile(r"^\s*(?:(?:AI|Assistant|Response|Reply|\[New response\])\s*(?:\d+\s*)?:|\d{1,2}[.)]|<reply>)\s*", re.I)
PLACEHOLDERS = {"", "new response", "reply", "response", "your reply", "strategy"}
RESPONSE_KEYS = ("response", "text", "reply", "content")


@dataclass
class Parsed:
    """Replies read from one answer, and what was dropped on the way."""

    replies: list[tuple[str, str | None]] = field(default_factory=list)
    unknown_labels: int = 0
    dropped: Counter = field(default_factory=Counter)  # "same_as_original", "copied_turn", "repeat",
    # "placeholder", "truncated"


def choose_turns(dialogues: Sequence[Dialogue], fraction: float, seed: int) -> list[tuple[Dialogue, int]]:
    """Every supporter turn, or each with probability ``fraction`` (a hash of seed, dialogue id and
    turn index decides, so the choice is the same on every run)."""
    chosen = []
    for dialogue in dialogues:
        for index in dialogue.supporter_turn_indices():
            digest = hashlib.sha256(f"{seed}|{dialogue.id}|{index}".encode()).digest()
            if fraction >= 1 or int.from_bytes(digest[:8], "big") / 2 ** 64 < fraction:
                chosen.append((dialogue, index))
    return chosen


def _clean(text: str) -> str:
    text = text.strip()
    while (stripped := SPEAKER_PREFIX.sub("", text, count=1)) != text:
        text = stripped
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    return text.strip()


def _items_from_json(payload: Any) -> list[tuple[str, str | None]]:
    if isinstance(payload, dict):
        payload = next((v for v in payload.values() if isinstance(v, list)), [])
    items = []
    for item in payload if isinstance(payload, list) else []:
        if isinstance(item, str):
            items.append((item, None))
        elif isinstance(item, dict):
            lowered = {str(k).lower(): v for k, v in item.items()}
            text = next((lowered[k] for k in RESPONSE_KEYS if isinstance(lowered.get(k), str)), None)
            if text:
                label = lowered.get("strategy")
                items.append((text, label if isinstance(label, str) else None))
    return items


def _items_from_list(answer: str) -> list[tuple[str, str | None]]:
    items: list[list[str]] = []
    for line in answer.splitlines():
        match = ITEM.match(line)
        if match:
            items.append([match.group(1)])
        elif items and line.strip():
            items[-1].append(line.strip())
    return [(" ".join(parts), None) for parts in items]


def parse_replies(answer: str, original: str, k: int, catalog: StrategyCatalog | None,
                  dup_threshold: float = 0.8, truncated: bool = False, other_turns: Sequence[str] = ()) -> Parsed:
    """Up to ``k`` distinct replies from ``answer`` (see the module doc). ``catalog`` set: read a
    leading ``[Strategy]`` label (unknown labels give strategy None and are counted).
    ``truncated``: the answer was cut at max_tokens (its last list item is dropped);
    ``other_turns``: the dialogue's other supporter turns, which no reply may copy."""
    try:
        items = _items_from_json(extract_json(answer))
    except NoJSONFound:
        items = []
    parsed = Parsed()
    if not items:
        items = _items_from_list(answer)
        if truncated and items:  # the last item is where the answer was cut off
            items = items[:-1]
            parsed.dropped["truncated"] += 1
    seen = DuplicateIndex(threshold=dup_threshold, shingle=2)
    seen.add("original", original)
    for number, text in enumerate(other_turns):
        seen.add(f"turn {number}", text)
    for raw_text, label in items:
        text = _clean(raw_text)
        if catalog is not None and label is None and (match := LABEL.match(text)):
            label, text = match.group(1), _clean(text[match.end():])
        if normalize(text) in PLACEHOLDERS:  # the mask or a template slot copied back
            parsed.dropped["placeholder"] += 1
            continue
        strategy = None
        if catalog is not None and label:
            try:
                strategy = normalize_strategy(label, catalog)
            except UnknownStrategyError:
                parsed.unknown_labels += 1
        duplicate = seen.check(text)
        if duplicate is not None:
            kind = duplicate.other.split(" ")[0]
            parsed.dropped[{"original": "same_as_original", "turn": "copied_turn"}.get(kind, "repeat")] += 1
            continue
        if len(parsed.replies) < k:
            seen.add(str(len(parsed.replies)), text)
            parsed.replies.append((text, strategy))
    return parsed


class Inpainting:
    """Builds the requests for the chosen turns and turns answers into output records."""

    def __init__(self, teacher: Teacher, template: Template, k: int, catalog: StrategyCatalog | None,
                 dup_threshold: float = 0.8, schema: SchemaOptions = PORTABLE):
        self.teacher, self.template, self.k, self.catalog = teacher, template, k, catalog
        self.schema = schema
        self.dup_threshold = dup_threshold
        self._originals: dict[tuple[str, int], str] = {}
        self._others: dict[tuple[str, int], list[str]] = {}

    def request(self, dialogue: Dialogue, index: int) -> TeacherRequest:
        self._originals[(dialogue.id, index)] = dialogue.turns[index].text
        self._others[(dialogue.id, index)] = _other_turns(dialogue, index)
        values = {"k": str(self.k), "dialogue": transcript(dialogue.turns, masked_index=index)}
        if self.catalog is not None:
            values["strategies"] = strategy_list(self.catalog)
        return TeacherRequest(self.template.messages(**values), sample=0,
                              tag={"dialogue_id": dialogue.id, "turn_index": index},
                              response_format=dri_format(self.k, self.catalog, self.schema))

    def record(self, dialogue: Dialogue, index: int, reply: TeacherReply, parsed: Parsed) -> dict:
        original = dialogue.turns[index]
        return {"dialogue_id": dialogue.id, "turn_index": index,
                "original": {"text": original.text, "strategy": original.strategy},
                "alternatives": [{"text": text, "strategy": strategy} for text, strategy in parsed.replies],
                "teacher": {"model": self.teacher.model, "request_keys": [reply.key],
                            "finish_reason": reply.finish_reason}, "k": self.k}

    def journal_summary(self, request: TeacherRequest, reply: TeacherReply) -> dict:
        """What the journal records about an answer: how many replies were kept and dropped."""
        where = (request.tag["dialogue_id"], request.tag["turn_index"])
        parsed = parse_replies(reply.text, self._originals.get(where, ""), self.k, self.catalog, self.dup_threshold,
                               reply.truncated, self._others.get(where, ()))
        return {"replies": len(parsed.replies), "dropped": dict(parsed.dropped), "unknown_labels": parsed.unknown_labels}

    def parse(self, dialogue: Dialogue, index: int, reply: TeacherReply) -> Parsed:
        return parse_replies(reply.text, dialogue.turns[index].text, self.k, self.catalog, self.dup_threshold,
                             reply.truncated, _other_turns(dialogue, index))


def _other_turns(dialogue: Dialogue, index: int) -> list[str]:
    return [dialogue.turns[i].text for i in dialogue.supporter_turn_indices() if i != index]
