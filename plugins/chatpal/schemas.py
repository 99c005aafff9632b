"""JSON schemas of the teacher's answers, built from the task at hand, and the
``response_format`` of each request that asks for one (see :mod:`harness.structured`).

- expansion: ``{"Scene": <the requested scene>, "Description": str, "Content": [turn, ...]}``
  with ``min_turns``..``max_turns`` turns, each ``{"User": str}`` or
  ``{"AI": str, "AI Strategy": <a catalog strategy>}``;
- AugESC: ``{"Description": str, "Content": [...]}`` with unlabelled ``{"AI": str}`` turns;
- DRI: ``{"replies": [...]}`` with exactly K replies, each ``{"strategy": <a catalog
  strategy>, "response": str}`` when labels are asked for, else a plain string.

These are the shapes :mod:`.qa` and :mod:`.dri` already read, so a structured answer goes
through the same checks as a free-form one. Alternation of speakers is not expressible in
the schema subset every server accepts; QA checks it (``no_alternation``).
"""
from __future__ import annotations

from typing import Any

from harness.catalogs import StrategyCatalog
from harness.structured import array_of, one_of_strings, response_format, strict_object, text


def _user_turn() -> dict:
    return strict_object({"User": text()})


def _ai_turn(catalog: StrategyCatalog | None) -> dict:
    if catalog is None:
        return strict_object({"AI": text()})
    return strict_object({"AI": text(), "AI Strategy": one_of_strings(catalog.names)})


def dialogue_schema(catalog: StrategyCatalog | None, scene: str | None, min_turns: int,
                    max_turns: int | None) -> dict:
    """An ExTES dialogue: ``Scene`` fixed to ``scene`` (left out when None), a description and
    ``min_turns``..``max_turns`` turns; AI turns carry a catalog strategy when ``catalog`` is set."""
    properties: dict[str, Any] = {}
    if scene is not None:
        properties["Scene"] = one_of_strings([scene])
    properties["Description"] = text()
    properties["Content"] = array_of({"anyOf": [_user_turn(), _ai_turn(catalog)]}, max(0, min_turns), max_turns)
    return strict_object(properties)


def replies_schema(k: int, catalog: StrategyCatalog | None) -> dict:
    """Exactly ``k`` DRI replies, each labelled with a catalog strategy when ``catalog`` is set."""
    reply = strict_object({"strategy": one_of_strings(catalog.names), "response": text()}) if catalog else text()
    return strict_object({"replies": array_of(reply, k, k)})


def expansion_format(catalog: StrategyCatalog, scene: str, min_turns: int, max_turns: int | None) -> dict:
    return response_format("escbench_expansion_dialogue", dialogue_schema(catalog, scene, min_turns, max_turns))


def augment_format(min_turns: int, max_turns: int | None) -> dict:
    return response_format("escbench_augesc_dialogue", dialogue_schema(None, None, min_turns, max_turns))


def dri_format(k: int, catalog: StrategyCatalog | None) -> dict:
    return response_format("escbench_dri_replies", replies_schema(k, catalog))
