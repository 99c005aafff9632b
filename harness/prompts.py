"""Prompt templates and chat messages: the one implementation every plugin uses.

A template is a text file (usually under ``tasks/prompts``); lines starting with ``#`` are
comments (:func:`read_prompt_template`). :func:`fill_placeholders` substitutes the
``{name}`` placeholders it is given in one pass and leaves every other brace alone
(templates may show JSON). :func:`example_to_messages` turns an Example into the chat
messages an instruct model answers; :class:`PromptFile` is a template a system names in a
setting (path lookup with :func:`escbench.harness.paths.resolve_project_path`, text, sha256).
"""
from __future__ import annotations

import re
from pathlib import Path

from .data import Example
from .errors import SystemUnavailableError
from .models import file_sha256
from .paths import resolve_project_path

CHAT_ROLES = {"user": "user", "ai": "assistant"}


def read_prompt_template(path: str | Path) -> str:
    """A prompt template file's text without its ``#`` comment lines (OSError if unreadable)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#")).strip()


def fill_placeholders(template: str, values: dict[str, str], drop_empty_lines: bool = True) -> str:
    """``template`` with each ``{name}`` of ``values`` replaced, in one pass (a value that
    itself contains ``{name}`` is not filled again); other braces are left alone.

    With ``drop_empty_lines`` (prompts shown to a model) values are stripped, a line whose
    placeholders are all empty is dropped (no dangling "Scene: ." line) and the result is
    stripped; without it every value is inserted exactly as given.
    """
    if not values:
        return template.strip() if drop_empty_lines else template
    pattern = re.compile(r"\{(" + "|".join(re.escape(name) for name in values) + r")\}")
    if not drop_empty_lines:
        return pattern.sub(lambda match: str(values[match.group(1)]), template)
    kept = []
    for line in template.splitlines():
        names = pattern.findall(line)
        if names and not any(str(values[name]).strip() for name in names):
            continue
        kept.append(pattern.sub(lambda match: str(values[match.group(1)]).strip(), line))
    return "\n".join(kept).strip()


def fill_system_prompt(template: str, scene: str | None, description: str) -> str:
    """A system prompt with ``{scene}`` / ``{description}`` filled (see :func:`fill_placeholders`)."""
    return fill_placeholders(template, {"scene": scene or "", "description": description or ""})


def example_to_messages(
    example: Example, system_prompt: str, max_context_turns: int | None = None
) -> list[dict[str, str]]:
    """Chat messages asking for the supporter's next reply in ``example``.

    ``user`` turns become ``user`` messages, ``ai`` (supporter) turns ``assistant`` messages.
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


class PromptFile:
    """One template file a system reads: its path, text (comments removed) and sha256.

    ``setting`` is the system argument that names the file, quoted in errors.
    """

    def __init__(self, system: str, setting: str, spec: str | Path):
        self.system = system
        self.setting = setting
        self.spec = str(spec)
        self.path = resolve_project_path(spec)
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The template text, read once; SystemUnavailableError names the setting if unreadable."""
        if self._text is None:
            try:
                self._text = read_prompt_template(self.path)
            except OSError as error:
                raise SystemUnavailableError(
                    self.system,
                    f"setting {self.setting}={self.spec!r}: cannot read prompt template "
                    f"{self.path} ({error.strerror or error})",
                ) from None
        return self._text

    def sha256(self) -> str:
        """sha256 of the file's bytes (comments included: any edit changes the hash)."""
        self.text  # raises the named error for a missing file
        return file_sha256(self.path)

    def fill(self, values: dict[str, str]) -> str:
        return fill_placeholders(self.text, values)
