"""A scripted teacher: a plumbing stand-in, NOT a model.

It answers every teacher request of the pipeline instantly and deterministically (the same
request always gets the same answer), in the format that request asks for, so the
``smoke`` experiment exercises every stage offline and in seconds:

- expansion (a prompt with ``Target scene:``): a JSON dialogue of that scene, 10 utterances,
  a description, every AI turn labelled with a catalog strategy;
- DRI (a prompt with ``[New response]``): a JSON list of K ``{"strategy", "response"}`` items;
- AugESC (a prompt with ``Situation:``): a JSON dialogue without strategy labels;
- Ask-Expert's expert step (a prompt asking for ``Feeling:``/``Advice:`` lines): those four lines;
- anything else (chatgpt, the Ask-Expert responder): a short supportive reply.

A request with a JSON schema (``response_format``, structured outputs) gets a value built
from the schema itself (:func:`from_schema`), valid by construction.

The text is assembled from short phrases drawn with a generator seeded by the request, so
answers pass QA (no one-word or repeated utterances, no placeholders, no near duplicates)
while meaning nothing: numbers measured with this teacher say nothing about any model.
Use it through ``teacher: {endpoint: scripted}`` in an experiment YAML; it serves
``/v1/chat/completions`` on 127.0.0.1 through :class:`escbench.harness.serve.ChatServer`.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
from typing import Sequence

from escbench.harness.registry import Generation, GenerationSettings

# Short phrases (at most four words each), so that every word 5-gram of an utterance spans
# several random draws and two answers are never near duplicates of each other.
OPENERS = ("honestly", "lately", "this week", "since monday", "right now", "most evenings", "every morning",
           "at work", "back home", "these days", "after dinner", "on weekends")
SUBJECTS = ("my manager", "my sister", "the landlord", "my old friend", "our team", "my partner", "the new job",
            "my brother", "the neighbours", "my roommate", "the exam board", "my coach", "the clinic", "my father")
ACTIONS = ("keeps changing plans", "stopped answering", "raised the rent", "missed the deadline", "forgot my birthday",
           "moved far away", "cancelled the trip", "questioned my work", "lost the paperwork", "ignored my message",
           "doubled my shifts", "sold the car", "postponed the talk", "skipped our call")
FEELINGS = ("i feel drained", "i feel uneasy", "i am so tired", "it stings", "i feel invisible", "i get anxious",
            "i feel stuck", "it weighs on me", "i cannot sleep", "i feel restless", "i feel overlooked", "i worry")
DETAILS = ("about the bills", "before the meeting", "during lunch breaks", "over small things", "near the station",
           "in the car", "around midnight", "at the weekend", "after the call", "in the kitchen", "with the kids",
           "before exams", "on the bus", "at the gym")
SUPPORT = ("that sounds heavy", "i hear you", "that makes sense", "you are not alone", "thank you for sharing",
           "that is a lot", "it is understandable", "i can see why", "you handled plenty", "that took courage",
           "your feelings matter", "it is okay")
QUESTIONS = ("what helps most", "who else knows", "when did it start", "how do evenings go", "what would change things",
             "which part hurts most", "how are you sleeping", "what did you try", "who could help", "what feels next")
IDEAS = ("maybe a short walk", "perhaps a written plan", "a calm conversation", "one small step", "a quiet break",
         "writing things down", "asking for support", "a regular routine", "a kind reminder", "a shared calendar")

TARGET_SCENE = re.compile(r"Target scene:\s*(.+)")
EXACT_SCENE = re.compile(r'"Scene"\s*\(exactly\s*"([^"]+)"\)')
K_REQUESTED = re.compile(r"exactly\s+(\d+)\s+different", re.I)


def _rng(conversation: Sequence[dict[str, str]]) -> random.Random:
    digest = hashlib.sha256(json.dumps(list(conversation), sort_keys=True).encode("utf-8")).hexdigest()
    return random.Random(digest)


def _sentence(rng: random.Random, *pools: tuple[str, ...]) -> str:
    words = " ".join(rng.choice(pool) for pool in pools)
    return words[0].upper() + words[1:] + "."


def user_line(rng: random.Random) -> str:
    return " ".join((_sentence(rng, OPENERS, SUBJECTS, ACTIONS, DETAILS), _sentence(rng, FEELINGS, DETAILS)))


def ai_line(rng: random.Random) -> str:
    return " ".join((_sentence(rng, SUPPORT, DETAILS), _sentence(rng, IDEAS, OPENERS),
                     _sentence(rng, QUESTIONS, DETAILS).rstrip(".") + "?"))


def _strategies() -> list[str]:
    from escbench.harness.catalogs import load_strategy_catalog

    return list(load_strategy_catalog("extes").names)


def _dialogue(rng: random.Random, scene: str | None, labelled: bool, utterances: int = 10) -> dict:
    strategies = _strategies()
    content = []
    for index in range(utterances):
        if index % 2 == 0:
            content.append({"User": user_line(rng)})
        else:
            turn = {"AI": ai_line(rng)}
            if labelled:
                turn["AI Strategy"] = rng.choice(strategies)
            content.append(turn)
    description = _sentence(rng, SUBJECTS, ACTIONS, DETAILS) + " " + _sentence(rng, FEELINGS, OPENERS)
    record = {"Description": description, "Content": content}
    return {"Scene": scene, **record} if scene else record


def answer(conversation: Sequence[dict[str, str]], schema: dict | None = None) -> str:
    """The scripted answer to one chat request (see module doc); with a JSON ``schema``
    (structured outputs), a value built from that schema, so it is valid by construction."""
    rng = _rng(conversation)
    if schema is not None:
        return json.dumps(from_schema(schema, rng))
    prompt = "\n".join(m.get("content", "") for m in conversation if m.get("role") != "assistant")
    if "[New response]" in prompt:
        match = K_REQUESTED.search(prompt)
        k = int(match.group(1)) if match else 4
        strategies = _strategies()
        return json.dumps([{"strategy": rng.choice(strategies), "response": ai_line(rng)} for _ in range(k)])
    scene = TARGET_SCENE.search(prompt) or EXACT_SCENE.search(prompt)
    if scene:
        return json.dumps(_dialogue(rng, scene.group(1).strip(), labelled=True))
    if "Situation:" in prompt:
        return json.dumps(_dialogue(rng, None, labelled=False))
    if "Feeling:" in prompt and "Advice:" in prompt:
        return "\n".join((f"Feeling: {rng.choice(FEELINGS)}.", f"Cause: {rng.choice(SUBJECTS)} {rng.choice(ACTIONS)}.",
                          f"Strategy: {rng.choice(_strategies())}", f"Advice: {ai_line(rng)}"))
    return ai_line(rng)


def from_schema(schema: dict, rng: random.Random, key: str | None = None, index: int = 0):
    """A value of the JSON-schema subset of :mod:`escbench.harness.structured` (objects, strings with an
    optional ``maxLength``, enums, arrays with bounds and optional ``prefixItems``, anyOf).
    ``anyOf`` items of an array take turns (User, AI, ...); arrays get 10 items within their
    bounds; strings are phrases fitting their key, cut to ``maxLength``."""
    if "enum" in schema:
        return rng.choice(list(schema["enum"]))
    if "anyOf" in schema:
        return from_schema(schema["anyOf"][index % len(schema["anyOf"])], rng, key, index)
    kind = schema.get("type")
    if kind == "object":
        return {name: from_schema(sub, rng, name) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        low, high = int(schema.get("minItems", 0)), schema.get("maxItems")
        count = max(low, 10 if high is None else min(10, int(high)))
        positions = list(schema.get("prefixItems", []))
        rest = schema.get("items", {"type": "string"})
        return [from_schema(positions[i] if i < len(positions) else rest, rng, key, i) for i in range(count)]
    if key == "User":
        phrase = user_line(rng)
    elif key in ("Description", "Feeling", "Cause"):
        phrase = _sentence(rng, SUBJECTS, ACTIONS, DETAILS) + " " + _sentence(rng, FEELINGS, OPENERS)
    else:
        phrase = ai_line(rng)
    return phrase[:int(schema["maxLength"])] if "maxLength" in schema else phrase


def respond(conversations: Sequence[Sequence[dict[str, str]]], settings: GenerationSettings,
            stop: Sequence[str] = (), schemas: Sequence[str | None] | None = None) -> list[Generation]:
    """A :mod:`escbench.harness.serve` responder: one scripted answer per conversation (``schemas``:
    the JSON schema text of each request's ``response_format``, or None)."""
    out = []
    for position, conversation in enumerate(conversations):
        schema = schemas[position] if schemas else None
        text = answer(conversation, json.loads(schema) if isinstance(schema, str) else schema)
        prompt_tokens = sum(len(m.get("content", "")) for m in conversation) // 4
        completion = min(len(text) // 4 + 1, max(1, settings.max_new_tokens - 1))
        out.append(Generation(text=text, raw=text,
                              usage={"prompt_tokens": prompt_tokens, "completion_tokens": completion}))
    return out


respond.accepts_schemas = True  # escbench.harness.serve: this responder honours response_format schemas
