"""Prompt template files with named ``{placeholders}``, shared by the systems in this folder.

A template is a text file under ``tasks/prompts``; lines starting with ``#`` are comments.
:func:`fill_placeholders` substitutes the names it is given, leaves every other brace alone
(templates may show JSON) and drops a line whose placeholders are all empty, so a prompt
never shows a dangling "Scene: ." line.
"""
from __future__ import annotations

import re
from pathlib import Path

from harness.errors import SystemUnavailableError
from harness.models import file_sha256

from .chat import read_prompt_template
from .llama import resolve_prompt_path


def fill_placeholders(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{name}`` of ``values`` replaced (see module doc)."""
    if not values:
        return template.strip()
    pattern = re.compile(r"\{(" + "|".join(re.escape(name) for name in values) + r")\}")
    kept = []
    for line in template.splitlines():
        names = pattern.findall(line)
        if names and not any(str(values[name]).strip() for name in names):
            continue
        kept.append(pattern.sub(lambda match: str(values[match.group(1)]).strip(), line))
    return "\n".join(kept).strip()


class PromptFile:
    """One template file a system reads: its path, text (comments removed) and sha256.

    ``setting`` is the system argument that names the file, quoted in errors.
    """

    def __init__(self, system: str, setting: str, spec: str | Path):
        self.system = system
        self.setting = setting
        self.spec = str(spec)
        self.path = resolve_prompt_path(spec)
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
