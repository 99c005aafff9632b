"""The data model: dialogues, turns, and the examples a split is made of.

Roles are normalised to ``"user"`` (the help-seeker) and ``"ai"`` (the supporter) whatever
the source format calls them. Strategy names are canonical catalog names (see
:mod:`escbench.harness.catalogs`) or ``None`` where the source has no label.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["user", "ai"]
ROLES: tuple[Role, ...] = ("user", "ai")


@dataclass(frozen=True)
class Turn:
    """One utterance. ``strategy`` is only set on supporter (``ai``) turns."""

    role: Role
    text: str
    strategy: str | None = None


@dataclass(frozen=True)
class Dialogue:
    """A whole conversation with its scenario.

    ``id`` is stable across loads of the same file (given by the source, or derived from
    the file name and index). ``meta`` carries format-specific fields (ESConv's
    ``emotion_type``, provenance of generated data...), JSON-serialisable.
    """

    id: str
    turns: tuple[Turn, ...]
    scene: str | None = None
    description: str = ""
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def supporter_turn_indices(self) -> list[int]:
        """Indices of the ``ai`` turns, in order."""
        return [i for i, turn in enumerate(self.turns) if turn.role == "ai"]


@dataclass(frozen=True)
class Example:
    """One supporter turn to predict: the context before it and the reference reply.

    ``id`` is ``"{dialogue_id}:{turn_index}"`` and identifies the example in caches,
    samples files and results.
    """

    dialogue_id: str
    turn_index: int
    context: tuple[Turn, ...]
    reference: str
    strategy: str | None = None
    scene: str | None = None
    description: str = ""

    @property
    def id(self) -> str:
        return f"{self.dialogue_id}:{self.turn_index}"


def turn_to_dict(turn: Turn) -> dict:
    """JSON form of a turn (``strategy`` omitted when absent)."""
    out = {"role": turn.role, "text": turn.text}
    if turn.strategy:
        out["strategy"] = turn.strategy
    return out


def example_to_dict(example: Example) -> dict:
    """JSON form of an example, as written to samples files and split exports."""
    return {
        "id": example.id,
        "dialogue_id": example.dialogue_id,
        "turn_index": example.turn_index,
        "scene": example.scene,
        "description": example.description,
        "context": [turn_to_dict(t) for t in example.context],
        "reference": example.reference,
        "strategy": example.strategy,
    }
