"""The Ask-Expert expert's answer as structured output: a JSON schema with the four questions of
``tasks/prompts/ask_expert/expert_user.txt`` (the strategy from the catalog in use), and the
reading of such an answer back into the ``Feeling:/Cause:/Strategy:/Advice:`` lines the
responder prompt and the strategy parser take. An answer cut short at ``advice_max_tokens``
keeps the fields it completed.
"""
from __future__ import annotations

import json
import re

from escbench.harness.catalogs import StrategyCatalog
from escbench.harness.structured import one_of_strings, response_format, strict_object, text

FIELDS = ("Feeling", "Cause", "Strategy", "Advice")
_FIELD = re.compile(r'"(Feeling|Cause|Strategy|Advice)"\s*:\s*"((?:[^"\\]|\\.)*)"')


def advice_schema(catalog: StrategyCatalog) -> dict:
    return strict_object({name: one_of_strings(catalog.names) if name == "Strategy" else text() for name in FIELDS})


def advice_format(catalog: StrategyCatalog) -> dict:
    return response_format("escbench_expert_advice", advice_schema(catalog))


def advice_lines(answer: str) -> str:
    """``Name: value`` lines for a JSON advice answer (complete fields of a cut-short one);
    any other answer unchanged."""
    if not answer.lstrip().startswith("{"):
        return answer
    found = []
    for name, value in _FIELD.findall(answer):
        try:
            value = json.loads(f'"{value}"')
        except ValueError:
            pass
        found.append(f"{name}: {' '.join(value.split())}")
    return "\n".join(found) if found else answer
