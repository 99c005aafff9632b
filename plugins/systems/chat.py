"""Turning an Example into chat messages for instruct models.

Shared by every system that prompts a chat model with the dialogue so far: ``user`` turns
become ``user`` messages, ``ai`` (supporter) turns become ``assistant`` messages, and a
system message carries the prompt template filled with the example's scene and description.
"""
from __future__ import annotations

import re
from pathlib import Path

from harness.data import Example

CHAT_ROLES = {"user": "user", "ai": "assistant"}
PLACEHOLDERS = ("scene", "description")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def read_prompt_template(path: str | Path) -> str:
    """A prompt template file's text without its ``#`` comment lines (OSError if unreadable)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#")).strip()


def fill_system_prompt(template: str, scene: str | None, description: str) -> str:
    """Replace ``{scene}`` / ``{description}``; drop lines whose placeholders are all empty.

    Other braces are left alone, so templates may contain JSON or code examples.
    """
    values = {"scene": (scene or "").strip(), "description": (description or "").strip()}
    kept = []
    for line in template.splitlines():
        names = _PLACEHOLDER.findall(line)
        if names and not any(values[name] for name in names):
            continue
        kept.append(_PLACEHOLDER.sub(lambda match: values[match.group(1)], line))
    return "\n".join(kept).strip()


def example_to_messages(
    example: Example, system_prompt: str, max_context_turns: int | None = None
) -> list[dict[str, str]]:
    """Chat messages asking for the supporter's next reply in ``example``.

    ``system_prompt`` is a template (see :func:`fill_system_prompt`); an empty result adds
    no system message. Only the last ``max_context_turns`` turns are kept when it is set.
    Consecutive turns of one speaker are joined into one message (chat templates expect
    alternating roles); blank turns are skipped. An empty context yields just the system
    message (the supporter opens the conversation); a context ending with a supporter turn
    is kept as is and the model writes the supporter's following message.
    """
    messages: list[dict[str, str]] = []
    prompt = fill_system_prompt(system_prompt, example.scene, example.description)
    if prompt:
        messages.append({"role": "system", "content": prompt})
    turns = example.context
    if max_context_turns is not None:
        turns = turns[-max_context_turns:] if max_context_turns > 0 else ()
    for turn in turns:
        text = turn.text.strip()
        if not text:
            continue
        role = CHAT_ROLES[turn.role]
        if len(messages) > 0 and messages[-1]["role"] == role:
            messages[-1]["content"] += "\n" + text
        else:
            messages.append({"role": role, "content": text})
    return messages
