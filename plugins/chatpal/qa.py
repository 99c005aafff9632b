"""Quality assurance of teacher-written dialogues: every rejection has a reason code.

:func:`check_dialogue` turns a teacher's answer into an ExTES dialogue dict
(``{"scene", "description", "content": [{"User": ...}, {"AI": ..., "AI Strategy": ...}]}``) or
a rejection. Checks, in order (the first failing one is the reason): the answer holds a
dialogue (tolerant extraction, :mod:`.extract`), turns have one known speaker and alternate,
supporter turns carry known strategies (when a catalog is given; names are normalised),
the scene is the requested one, there is a description (when required), the length is in
bounds, and the content is not degenerate (:mod:`.degenerate`: placeholder text, an utterance
said twice, too many utterances of only a word or two). Duplicates against everything kept so far are checked by the caller in a fixed
order with :class:`~.dedup.DuplicateIndex` (reasons ``exact_duplicate``/``near_duplicate``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from escbench.harness.catalogs import StrategyCatalog
from escbench.harness.errors import UnknownStrategyError
from escbench.harness.loaders.common import party_of

from .degenerate import degeneracy
from .extract import NoJSONFound, extract_json

REASONS: dict[str, str] = {
    "request_failed": "the request failed after every retry (it is sent again on the next run)",
    "truncated": "the answer stopped at max_tokens before the JSON was complete",
    "unparseable": "no dialogue JSON could be extracted from the answer",
    "bad_format": "the JSON is not a dialogue (no turn list, a turn without text, several speakers in a turn)",
    "wrong_roles": "a speaker other than the user and the AI",
    "no_alternation": "two turns in a row by the same speaker",
    "missing_strategy": "a supporter turn without a strategy label",
    "unknown_strategy": "a strategy label that is not in the catalog",
    "wrong_scene": "the dialogue names a scene other than the requested one",
    "missing_description": "no scenario description",
    "too_short": "fewer utterances than --min-turns",
    "too_long": "more utterances than --max-turns",
    "placeholder_text": "an utterance or the description is template filler ('...', 'User', 'text', '[response]', lorem ipsum)",
    "repeated_utterance": "the same utterance twice in one dialogue",
    "too_few_words": "more than --max-short-share of the utterances have fewer than --min-words words",
    "exact_duplicate": "the same text as a seed or an earlier accepted dialogue",
    "near_duplicate": "shingle similarity to a seed or an earlier accepted dialogue reaches --dup-threshold",
}
CONTENT_KEYS = ("content", "dialogue", "dialog", "conversation", "turns", "messages")
DESCRIPTION_KEYS = ("description", "situation", "scenario")
SCENE_KEYS = ("scene", "type", "category", "topic")
STRATEGY_DECORATION = re.compile(r"^\s*[\d.)\-*#\s]*|\s*\([A-Za-z]{1,5}\)\s*$")
NOT_ALNUM = re.compile(r"[^a-z0-9+]+")


def scene_key(name: str) -> str:
    """Scene names compared without case, spacing or punctuation ("&" reads as "and")."""
    return NOT_ALNUM.sub("", name.lower().replace("&", " and "))


@dataclass
class QAOptions:
    """Bounds and requirements; ``catalog`` None skips strategy checks (and drops labels)."""

    catalog: StrategyCatalog | None = None
    min_turns: int = 6
    max_turns: int = 60
    require_description: bool = True
    min_words: int = 3  # an utterance with fewer words is "short"...
    max_short_share: float = 0.25  # ...and a dialogue with a larger share of short ones is rejected


@dataclass
class Verdict:
    """``dialogue`` (ExTES dict) when accepted so far, else ``reason`` (a REASONS key) and ``detail``."""

    dialogue: dict | None = None
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None

    def to_dict(self) -> dict:
        return {"dialogue": self.dialogue, "reason": self.reason, "detail": self.detail}


class Rejected(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _field(record: dict, names: tuple[str, ...]) -> Any:
    lowered = {str(key).strip().lower(): value for key, value in record.items()}
    return next((lowered[name] for name in names if name in lowered), None)


def _turns_of(payload: Any) -> tuple[list, dict]:
    if isinstance(payload, list):
        return payload, {}
    if isinstance(payload, dict):
        turns = _field(payload, CONTENT_KEYS)
        if isinstance(turns, list):
            return turns, payload
        nested = [value for value in payload.values() if isinstance(value, dict) and isinstance(_field(value, CONTENT_KEYS), list)]
        if nested:  # e.g. {"dialogue": {"Description": ..., "Content": [...]}}
            return _field(nested[0], CONTENT_KEYS), nested[0]
    raise Rejected("bad_format", "no list of turns (expected a 'Content' list of {'User': ...}/{'AI': ...} items)")


def normalize_strategy(label: str, catalog: StrategyCatalog) -> str:
    """Catalog name for a teacher's label, also for "3. Emotional Validation (EV)"; raises
    UnknownStrategyError."""
    try:
        return catalog.normalize(label)
    except UnknownStrategyError:
        return catalog.normalize(STRATEGY_DECORATION.sub("", label))


def _turn(item: Any, number: int, options: QAOptions) -> dict:
    if not isinstance(item, dict):
        raise Rejected("bad_format", f"turn {number} is not an object")
    strategy_keys = [k for k in item if str(k).lower().replace(" ", "").replace("_", "").endswith("strategy")]
    speakers = [k for k in item if k not in strategy_keys]
    if len(speakers) != 1:
        raise Rejected("bad_format", f"turn {number} has {len(speakers)} speaker keys ({', '.join(map(str, speakers))})")
    role = party_of(str(speakers[0]))
    if role is None:
        raise Rejected("wrong_roles", f"turn {number} is spoken by {speakers[0]!r} (expected 'User' or 'AI')")
    text = item[speakers[0]]
    if not isinstance(text, str) or not text.strip():
        raise Rejected("bad_format", f"turn {number} has no text")
    if role == "user":
        return {"User": text.strip()}
    turn = {"AI": text.strip()}
    if options.catalog is None:
        return turn
    label = item[strategy_keys[0]] if strategy_keys else None
    if not isinstance(label, str) or not label.strip():
        raise Rejected("missing_strategy", f"turn {number} (AI) has no strategy")
    try:
        turn["AI Strategy"] = normalize_strategy(label.strip(), options.catalog)
    except UnknownStrategyError:
        raise Rejected("unknown_strategy", f"turn {number} (AI) has strategy {label.strip()!r}") from None
    return turn


def _dialogue(payload: Any, requested_scene: str | None, options: QAOptions) -> dict:
    raw_turns, record = _turns_of(payload)
    content = [_turn(item, number, options) for number, item in enumerate(raw_turns)]
    for number in range(1, len(content)):
        if next(iter(content[number])) == next(iter(content[number - 1])):
            raise Rejected("no_alternation", f"turns {number - 1} and {number} are both by {next(iter(content[number]))}")
    scene = _field(record, SCENE_KEYS)
    if requested_scene and isinstance(scene, str) and scene.strip() and scene_key(scene) != scene_key(requested_scene):
        raise Rejected("wrong_scene", f"the dialogue's scene is {scene.strip()!r}, not {requested_scene!r}")
    description = _field(record, DESCRIPTION_KEYS)
    description = description.strip() if isinstance(description, str) else ""
    if options.require_description and not description:
        raise Rejected("missing_description", "no 'Description' of the scenario")
    if len(content) < options.min_turns:
        raise Rejected("too_short", f"{len(content)} utterances, fewer than {options.min_turns}")
    if len(content) > options.max_turns:
        raise Rejected("too_long", f"{len(content)} utterances, more than {options.max_turns}")
    problem = degeneracy([next(iter(turn.values())) for turn in content], description,
                         options.min_words, options.max_short_share)
    if problem is not None:
        raise Rejected(*problem)
    return {"scene": requested_scene, "description": description, "content": content}


def check_dialogue(text: str, requested_scene: str | None, options: QAOptions, truncated: bool = False) -> Verdict:
    """Validate a teacher's answer (see module doc); never raises for bad answers."""
    try:
        payload = extract_json(text)
    except NoJSONFound as error:
        reason = "truncated" if truncated or error.unbalanced else "unparseable"
        return Verdict(reason=reason, detail=str(error))
    try:
        return Verdict(dialogue=_dialogue(payload, requested_scene, options))
    except Rejected as rejection:
        if truncated and rejection.reason in ("bad_format", "too_short"):
            return Verdict(reason="truncated", detail=f"stopped at max_tokens; {rejection.detail}")
        return Verdict(reason=rejection.reason, detail=rejection.detail)


def dialogue_text(dialogue: dict) -> str:
    """The utterances of an ExTES dialogue dict (what duplicate detection compares)."""
    return "\n".join(text for turn in dialogue.get("content", []) for key, text in turn.items()
                     if key in ("User", "AI"))
