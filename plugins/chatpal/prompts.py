"""Prompt templates of the pipeline (``tasks/prompts/{expand,dri,augment}``) and the pieces
filled into them: the strategy list, a dialogue as an ExTES JSON example, a transcript.

A template folder holds ``system.txt`` and a user template; placeholders are ``{name}`` for
the names a step fills in (other braces are left alone, so templates may show JSON). A
missing placeholder is a ConfigError naming the file, so an edited template cannot silently
drop the scene or the dialogue.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from escbench.harness.catalogs import StrategyCatalog
from escbench.harness.data import Dialogue, Turn
from escbench.harness.errors import ConfigError
from escbench.harness.paths import TASKS_DIR, resolve_project_path
from escbench.harness.prompts import fill_placeholders

PROMPTS_DIR = TASKS_DIR / "prompts"
MASK = "[New response]"


@dataclass(frozen=True)
class Template:
    """A system prompt and a user template read from files (``sha256`` covers both)."""

    system: str
    user: str
    user_path: Path
    sha256: str

    def messages(self, **values: str) -> list[dict[str, str]]:
        """The chat messages with every ``{name}`` in ``values`` filled in."""
        missing = [name for name in values if "{" + name + "}" not in self.user]
        if missing:
            raise ConfigError(f"{self.user_path}: the template has no {', '.join('{' + m + '}' for m in missing)} "
                              "placeholder; add it where that text belongs")
        messages = [{"role": "user", "content": fill_placeholders(self.user, values, drop_empty_lines=False)}]
        return ([{"role": "system", "content": self.system}] if self.system else []) + messages


def load_template(folder: str | Path, user_file: str = "user.txt") -> Template:
    """Read ``FOLDER/system.txt`` (optional) and ``FOLDER/USER_FILE``; ConfigError if absent."""
    folder = resolve_project_path(folder)
    user_path = folder / user_file
    try:
        user = user_path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ConfigError(f"prompt template {user_path} cannot be read ({error.strerror or error}): "
                          f"pass --prompts pointing at a folder with {user_file}") from None
    system_path = folder / "system.txt"
    system = system_path.read_text(encoding="utf-8").strip() if system_path.exists() else ""
    digest = hashlib.sha256((system + "\0" + user).encode("utf-8")).hexdigest()
    return Template(system, user, user_path, digest)


def strategy_list(catalog: StrategyCatalog) -> str:
    """"1. Name (ABBR): definition" lines, in catalog order."""
    return "\n".join(f"{number}. {s.name} ({s.abbreviation}): {s.definition}".rstrip(": ")
                     for number, s in enumerate(catalog.strategies, start=1))


def turn_to_extes(turn: Turn) -> dict[str, str]:
    if turn.role == "user":
        return {"User": turn.text}
    out = {"AI": turn.text}
    if turn.strategy:
        out["AI Strategy"] = turn.strategy
    return out


def example_json(dialogue: Dialogue, with_strategies: bool = True) -> str:
    """The dialogue as the JSON object the teacher should imitate, one turn per line."""
    turns = [turn_to_extes(t if with_strategies else Turn(t.role, t.text)) for t in dialogue.turns]
    head = {"Scene": dialogue.scene or "", "Description": dialogue.description}
    lines = [json.dumps(turn, ensure_ascii=False) for turn in turns]
    return ("{\n" + "".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n" for k, v in head.items())
            + ' "Content": [\n  ' + ",\n  ".join(lines) + "\n ]\n}")


def transcript(turns: Sequence[Turn], masked_index: int | None = None) -> str:
    """"User: ..." / "AI: ..." lines; the turn at ``masked_index`` reads ``AI: [New response]``."""
    return "\n".join(f"{'User' if t.role == 'user' else 'AI'}: {MASK if i == masked_index else t.text}"
                     for i, t in enumerate(turns))
