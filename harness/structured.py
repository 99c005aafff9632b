"""Structured outputs: JSON schemas of expected answers and the ``response_format`` that asks
an OpenAI-compatible server for them.

Schemas built here stay inside the subset OpenAI's strict mode accepts (every object lists
all its properties as required and sets ``additionalProperties: false``; strings, enums,
arrays with ``minItems``/``maxItems``, ``anyOf``), so the same request works against
OpenAI, vLLM, SGLang and ``escbench serve``. Two keywords outside that subset are only used
when a caller opts in (the ``extended`` profile, for servers decoding with xgrammar such as
``escbench serve``): ``maxLength`` on strings (:func:`text`) and ``prefixItems`` with
``items: false`` (:func:`alternating_array`). :func:`schema_from_response_format` is the
server side: it reads a request's ``response_format`` back into a schema, or says what is
wrong with it (ValueError, for the server to answer with HTTP 400).
"""
from __future__ import annotations

import hashlib
import json
from typing import Any, Sequence

Schema = dict[str, Any]
NAME_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
ANY_JSON_OBJECT: Schema = {"type": "object"}


PROFILES = ("portable", "extended")


def check_profile(profile: str) -> str:
    """``profile`` when it is one of :data:`PROFILES`, else ValueError naming the choices."""
    if profile not in PROFILES:
        raise ValueError(f"schema profile {profile!r} must be one of {', '.join(PROFILES)}")
    return profile


def text(max_length: int | None = None) -> Schema:
    """A string; at most ``max_length`` characters when given (``maxLength``: not in OpenAI's
    strict subset, so only for the ``extended`` profile)."""
    if max_length is None:
        return {"type": "string"}
    if max_length < 1:
        raise ValueError(f"maxLength {max_length} must be at least 1")
    return {"type": "string", "maxLength": max_length}


# Plain sentence text: a capital letter first, then letters, digits, spaces and common punctuation
# (no quotes, brackets, braces, markup or escapes). Used by the ``extended`` profile's
# ``sentences`` option to keep a small model away from template slots and code-like filler.
SENTENCE_CHARACTERS = "A-Za-z0-9 ,.'?!;:-"


def sentence(min_length: int, max_length: int) -> Schema:
    """A string of plain sentence text (see :data:`SENTENCE_CHARACTERS`), ``min_length`` to
    ``max_length`` characters, as one ``pattern`` (xgrammar ignores ``minLength``/``maxLength``
    next to a pattern, so the bounds live in the pattern)."""
    if not 1 <= min_length <= max_length:
        raise ValueError(f"sentence bounds {min_length}..{max_length} must satisfy 1 <= min <= max")
    return {"type": "string", "pattern": f"^[A-Z][{SENTENCE_CHARACTERS}]{{{min_length - 1},{max_length - 1}}}$"}


def one_of_strings(values: Sequence[str]) -> Schema:
    """A string that must be one of ``values`` (kept in the given order, duplicates dropped)."""
    unique = list(dict.fromkeys(values))
    if not unique:
        raise ValueError("an enum needs at least one value")
    return {"type": "string", "enum": unique}


def strict_object(properties: dict[str, Schema]) -> Schema:
    """An object with exactly ``properties``, all required, in this order."""
    return {"type": "object", "properties": dict(properties), "required": list(properties),
            "additionalProperties": False}


def array_of(items: Schema, min_items: int, max_items: int | None = None) -> Schema:
    """An array of ``items`` with ``min_items`` to ``max_items`` entries (None: no upper bound)."""
    if min_items < 0 or (max_items is not None and max_items < min_items):
        raise ValueError(f"array bounds {min_items}..{max_items} are not a valid range")
    schema: Schema = {"type": "array", "items": items, "minItems": min_items}
    if max_items is not None:
        schema["maxItems"] = max_items
    return schema


def alternating_array(first: Schema, second: Schema, min_items: int, max_items: int) -> Schema:
    """An array of ``min_items``..``max_items`` entries alternating ``first``, ``second``,
    ``first``, ... (``prefixItems`` listing every position, ``items: false``; not in OpenAI's
    strict subset, so only for the ``extended`` profile)."""
    if min_items < 0 or max_items < min_items:
        raise ValueError(f"array bounds {min_items}..{max_items} are not a valid range")
    positions = [first if index % 2 == 0 else second for index in range(max_items)]
    return {"type": "array", "prefixItems": positions, "items": False, "minItems": min_items,
            "maxItems": max_items}


def schema_text(schema: Schema) -> str:
    """The schema as compact JSON keeping its key order (the order properties are generated in)."""
    return json.dumps(schema, separators=(",", ":"), ensure_ascii=False)


def schema_hash(schema: Schema) -> str:
    """sha256 of :func:`schema_text` (what grammar caches are keyed by; key order counts, since
    properties are generated in that order)."""
    return hashlib.sha256(schema_text(schema).encode("utf-8")).hexdigest()


def response_format(name: str, schema: Schema, strict: bool = True) -> dict[str, Any]:
    """The chat-completions ``response_format`` asking for JSON that matches ``schema``."""
    if not name or not set(name) <= NAME_CHARACTERS or len(name) > 64:
        raise ValueError(f"schema name {name!r} must be 1-64 letters, digits, '_' or '-'")
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}


def schema_from_response_format(value: Any) -> Schema | None:
    """The JSON schema a request's ``response_format`` asks for: None for absent or
    ``{"type": "text"}``, :data:`ANY_JSON_OBJECT` for ``json_object``; ValueError (a message
    naming the field) for anything else malformed."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("response_format must be an object such as {\"type\": \"json_schema\", ...}")
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return dict(ANY_JSON_OBJECT)
    if kind != "json_schema":
        raise ValueError(f"response_format.type={kind!r} must be text, json_object or json_schema")
    spec = value.get("json_schema")
    if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
        raise ValueError("response_format.json_schema must be an object with a 'schema' object")
    schema = spec.get("schema")
    return dict(schema) if schema else dict(ANY_JSON_OBJECT)
