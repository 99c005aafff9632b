"""JSON schemas of the teacher's answers, built from the task at hand, and the
``response_format`` of each request that asks for one (see :mod:`escbench.harness.structured`).

- expansion: ``{"Scene": <the requested scene>, "Description": str, "Content": [turn, ...]}``
  with ``min_turns``..``max_turns`` turns, each ``{"User": str}`` or
  ``{"AI": str, "AI Strategy": <a catalog strategy>}``;
- AugESC: ``{"Description": str, "Content": [...]}`` with unlabelled ``{"AI": str}`` turns;
- DRI: ``{"replies": [...]}`` with exactly K replies, each ``{"strategy": <a catalog
  strategy>, "response": str}`` when labels are asked for, else a plain string.

These are the shapes :mod:`.qa` and :mod:`.dri` already read, so a structured answer goes
through the same checks as a free-form one. :class:`SchemaOptions` picks the profile:
``portable`` (default) stays in OpenAI's strict subset, where speaker alternation is not
expressible and QA checks it (``no_alternation``); ``extended`` (for xgrammar servers such
as ``escbench serve``) also bounds every utterance and description (``maxLength``) and makes
turns alternate starting with User (``prefixItems``, when ``max_turns`` is set). Under
xgrammar 0.2.9 a ``maxLength`` string admits no escapes (no ``\\"`` or ``\\n`` inside an
utterance), and the ``prefixItems`` list holds one turn schema per allowed turn.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from escbench.harness.catalogs import StrategyCatalog
from escbench.harness.structured import (alternating_array, array_of, check_profile, one_of_strings, response_format,
                                strict_object, text)


@dataclass(frozen=True)
class SchemaOptions:
    """``profile``: ``portable`` or ``extended`` (see the module doc); the character limits
    apply to the ``extended`` profile only."""

    profile: str = "portable"
    utterance_chars: int = 300
    description_chars: int = 400

    def __post_init__(self) -> None:
        check_profile(self.profile)
        if self.utterance_chars < 1 or self.description_chars < 1:
            raise ValueError(f"schema character limits must be at least 1, got utterance {self.utterance_chars}, "
                             f"description {self.description_chars}")

    @property
    def extended(self) -> bool:
        return self.profile == "extended"

    def utterance(self) -> dict:
        return text(self.utterance_chars if self.extended else None)

    def description(self) -> dict:
        return text(self.description_chars if self.extended else None)


PORTABLE = SchemaOptions()


def _user_turn(options: SchemaOptions) -> dict:
    return strict_object({"User": options.utterance()})


def _ai_turn(catalog: StrategyCatalog | None, options: SchemaOptions) -> dict:
    if catalog is None:
        return strict_object({"AI": options.utterance()})
    return strict_object({"AI": options.utterance(), "AI Strategy": one_of_strings(catalog.names)})


def dialogue_schema(catalog: StrategyCatalog | None, scene: str | None, min_turns: int,
                    max_turns: int | None, options: SchemaOptions = PORTABLE) -> dict:
    """An ExTES dialogue: ``Scene`` fixed to ``scene`` (left out when None), a description and
    ``min_turns``..``max_turns`` turns; AI turns carry a catalog strategy when ``catalog`` is set.
    With the ``extended`` profile and a ``max_turns``, turns alternate User, AI, User, ..."""
    properties: dict[str, Any] = {}
    if scene is not None:
        properties["Scene"] = one_of_strings([scene])
    properties["Description"] = options.description()
    user, ai = _user_turn(options), _ai_turn(catalog, options)
    if options.extended and max_turns is not None:
        properties["Content"] = alternating_array(user, ai, max(0, min_turns), max_turns)
    else:
        properties["Content"] = array_of({"anyOf": [user, ai]}, max(0, min_turns), max_turns)
    return strict_object(properties)


def replies_schema(k: int, catalog: StrategyCatalog | None, options: SchemaOptions = PORTABLE) -> dict:
    """Exactly ``k`` DRI replies, each labelled with a catalog strategy when ``catalog`` is set."""
    response = options.utterance()
    reply = strict_object({"strategy": one_of_strings(catalog.names), "response": response}) if catalog else response
    return strict_object({"replies": array_of(reply, k, k)})


def expansion_format(catalog: StrategyCatalog, scene: str, min_turns: int, max_turns: int | None,
                     options: SchemaOptions = PORTABLE) -> dict:
    return response_format("escbench_expansion_dialogue",
                           dialogue_schema(catalog, scene, min_turns, max_turns, options))


def augment_format(min_turns: int, max_turns: int | None, options: SchemaOptions = PORTABLE) -> dict:
    return response_format("escbench_augesc_dialogue", dialogue_schema(None, None, min_turns, max_turns, options))


def dri_format(k: int, catalog: StrategyCatalog | None, options: SchemaOptions = PORTABLE) -> dict:
    return response_format("escbench_dri_replies", replies_schema(k, catalog, options))
