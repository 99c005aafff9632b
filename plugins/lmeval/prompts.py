"""The prompt text lm-eval sends, built from a document's chat ``messages``.

Two prompt families, one per kind of task in ``tasks/lm_eval``:

* ``esc_*`` tasks (``prompt``): the messages rendered exactly as escbench's HF backend
  renders them (:meth:`escbench.harness.backends.hf.HFBackend.render`): the tokenizer's chat template
  with the generation prompt added, or, for a tokenizer without one, the ``Role: text``
  transcript ending in ``Assistant:``. Run these *without* ``--apply_chat_template``: the
  prompt is already templated, and it is the prompt ``escbench run`` gives the model.
* ``esc_*_chat`` tasks (``system_prompt`` + ``dialogue``): for ``--apply_chat_template`` and
  chat APIs, where lm-eval builds a system message and a single user message itself. The
  dialogue so far becomes one user message (``tasks/lm_eval/chat_user.txt``), so these
  prompts differ from escbench's multi-message ones and their scores are not comparable
  with ``escbench run``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from escbench.harness.backends.hf import render_prompt  # noqa: F401  (the prompt escbench run gives the model)
from escbench.harness.paths import TASKS_DIR

Message = dict[str, str]

CHAT_USER_TEMPLATE = TASKS_DIR / "lm_eval" / "chat_user.txt"
SPEAKERS = {"user": "Seeker", "assistant": "Supporter"}


def system_prompt_of(messages: Sequence[Message]) -> str:
    """The filled system prompt ('' when the messages have none)."""
    return messages[0]["content"] if messages and messages[0]["role"] == "system" else ""


def dialogue_as_user_message(messages: Sequence[Message], template: str) -> str:
    """The turns after the system prompt as one user message: ``Seeker:`` / ``Supporter:``
    lines put into ``template`` at ``{dialogue}``."""
    turns = [m for m in messages if m["role"] != "system"]
    transcript = "\n".join(f"{SPEAKERS[m['role']]}: {m['content']}" for m in turns)
    from escbench.harness.prompts import fill_placeholders

    return fill_placeholders(template, {"dialogue": transcript}, drop_empty_lines=False)


def read_chat_user_template(path: Path = CHAT_USER_TEMPLATE) -> str:
    """The chat tasks' user-message template without ``#`` comment lines."""
    from escbench.harness.prompts import read_prompt_template

    return read_prompt_template(path)
