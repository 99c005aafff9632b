"""Role cards: one simulated help-seeker per test dialogue, read from and written to JSONL.

A card is one JSON object per line (format in ``tasks/interactive/README.md``)::

    {"id": "seed-001", "dialogue_id": "seed-001", "scene": "Breakups or Divorce",
     "situation": "...", "opening": "Hi. I don't really know why ...",
     "emotion": "sadness" | null, "intensity": 1-5 | null}

``id`` and ``opening`` are required non-empty strings, ids are unique, ``intensity`` is a whole
number on ESConv's 1-5 scale or null. :func:`read_cards` raises :class:`CardError` naming the
file, line, card and field; :func:`cards_from_dialogues` builds cards from any split's dialogues.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

from escbench.harness.data import Dialogue
from escbench.harness.errors import DataError

INTENSITY_SCALE = (1, 2, 3, 4, 5)  # ESConv's emotion-intensity survey scale
FIELDS = ("id", "dialogue_id", "scene", "situation", "opening", "emotion", "intensity")


class CardError(DataError):
    """A role card that cannot be used (file, line and card in the message)."""


@dataclass(frozen=True)
class RoleCard:
    """Who the simulated seeker is: the scene, the situation in their words, how they open."""

    id: str
    opening: str
    dialogue_id: str = ""
    scene: str = ""
    situation: str = ""
    emotion: str | None = None
    intensity: int | None = None

    def to_dict(self) -> dict:
        return {name: asdict(self)[name] for name in FIELDS}

    def summary(self) -> str:
        """One readable paragraph (shown beside the conversations on the leaderboard page)."""
        feeling = f"; feels {self.emotion}" if self.emotion else ""
        strength = f" (intensity {self.intensity}/5)" if self.intensity else ""
        return (f"Role card {self.id} · scene: {self.scene or 'unspecified'}{feeling}{strength}\n"
                f"Situation: {self.situation or '(none)'}\nOpening: {self.opening}")


def _card(raw: object, path: Path, line: int) -> RoleCard:
    where = f"line {line}"
    if not isinstance(raw, dict):
        raise CardError(f"a role card must be a JSON object, got {type(raw).__name__}", str(path), where)
    card_id = raw.get("id")
    if not isinstance(card_id, str) or not card_id.strip():
        raise CardError(f"field 'id' must be a non-empty string, got {card_id!r}", str(path), where)
    where = f"line {line} (card {card_id!r})"
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise CardError(f"unknown field(s) {unknown}; a card has {list(FIELDS)}", str(path), where)
    opening = raw.get("opening")
    if not isinstance(opening, str) or not opening.strip():
        raise CardError(f"field 'opening' (the seeker's first message) must be a non-empty string, "
                        f"got {opening!r}", str(path), where)
    for name in ("dialogue_id", "scene", "situation"):
        if not isinstance(raw.get(name, ""), str):
            raise CardError(f"field {name!r} must be a string, got {raw[name]!r}", str(path), where)
    emotion = raw.get("emotion")
    if emotion is not None and not isinstance(emotion, str):
        raise CardError(f"field 'emotion' must be a string or null, got {emotion!r}", str(path), where)
    intensity = raw.get("intensity")
    if intensity is not None and (isinstance(intensity, bool) or intensity not in INTENSITY_SCALE):
        raise CardError(f"field 'intensity' must be a whole number from 1 to 5 (ESConv's scale) or null, "
                        f"got {intensity!r}", str(path), where)
    return RoleCard(id=card_id, opening=opening.strip(), dialogue_id=raw.get("dialogue_id") or card_id,
                    scene=raw.get("scene") or "", situation=raw.get("situation") or "",
                    emotion=emotion or None, intensity=intensity)


def read_cards(path: Path) -> list[RoleCard]:
    """Every card of a JSONL file, in file order; CardError for a bad line, card or duplicate id."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CardError(f"cannot read role cards: {error}", str(path)) from None
    cards: list[RoleCard] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as error:
            raise CardError(f"not valid JSON ({error.msg})", str(path), f"line {number}") from None
        card = _card(raw, path, number)
        if card.id in seen:
            raise CardError(f"card id {card.id!r} already used on line {seen[card.id]}", str(path), f"line {number}")
        seen[card.id] = number
        cards.append(card)
    if not cards:
        raise CardError("no role cards in the file", str(path))
    return cards


def _intensity(dialogue: Dialogue) -> int | None:
    """ESConv's seeker-reported initial intensity (``survey_score.seeker``), when present."""
    survey = dialogue.meta.get("survey_score")
    seeker = survey.get("seeker") if isinstance(survey, dict) else None
    value = seeker.get("initial_emotion_intensity") if isinstance(seeker, dict) else None
    try:
        value = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return value if value in INTENSITY_SCALE else None


def cards_from_dialogues(dialogues: Iterable[Dialogue]) -> list[RoleCard]:
    """One card per dialogue that opens with a seeker turn (id order); others are skipped."""
    cards = []
    for dialogue in sorted(dialogues, key=lambda d: d.id):
        first = next((turn for turn in dialogue.turns if turn.role == "user"), None)
        if first is None or not first.text.strip():
            continue
        emotion = dialogue.meta.get("emotion_type")
        cards.append(RoleCard(id=dialogue.id, dialogue_id=dialogue.id, opening=first.text.strip(),
                              scene=dialogue.scene or "", situation=dialogue.description or "",
                              emotion=emotion if isinstance(emotion, str) and emotion else None,
                              intensity=_intensity(dialogue)))
    return cards
