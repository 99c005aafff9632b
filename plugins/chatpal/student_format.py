"""The student prompt and target format: the one definition shared by training and inference.

A student (``augesc``, ``augesc+dri``, ``chatpal-w/o-dri``, ``chatpal``) sees the dialogue
as chat messages and writes the supporter's next message:

* prompt: a system message (``tasks/prompts/student/system_strategy.txt`` for students that
  predict strategies, ``system.txt`` for those that do not; ``{scene}`` and
  ``{description}`` filled, empty lines dropped), then the context turns as ``user`` /
  ``assistant`` messages **without** strategy tags, consecutive turns of one speaker joined.
  :func:`render_context` turns these messages into text exactly as
  :class:`escbench.harness.backends.hf.HFBackend` does: the tokenizer's chat template with the
  generation prompt, or for tokenizers without one the ``Role: text`` transcript ending in
  ``Assistant:``.
* target: ``[Strategy Name] reply`` with the catalog's canonical name (students with
  strategy prediction), or just ``reply`` (:func:`format_target`).
* parsing a generation: :func:`parse_output` splits a leading ``[tag]`` off; the tag becomes
  the predicted strategy when the catalog knows it, and is removed from the text either way.

Truncation (one rule for training and inference, :data:`escbench.harness.prompt_budget.TRUNCATION`): when the rendered
prompt has more than the budget of tokens (:func:`escbench.harness.prompt_budget.prompt_budget`; recorded in the training
card as ``prompt_format.max_prompt_tokens``), whole oldest context messages are dropped
(:func:`fit_messages`); the system message (prompt, scene, description) and the last message
always stay. Training and the student systems both call :func:`render_context` /
:func:`fit_messages` with that budget, so a context is cut the same way in both.

Training text for one example is ``prompt + target_separator(tokenizer) + target +
eos_token``; tokenise the prompt with ``add_special_tokens`` only when the tokenizer has no
chat template (what HFBackend does), and mask the prompt tokens out of the loss.
:func:`training_pair` returns ``(prompt, completion)`` ready for that.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from escbench.harness.backends.hf import render_prompt as render_messages  # one rendering for training and inference
from escbench.harness.catalogs import StrategyCatalog, load_strategy_catalog
from escbench.harness.data import Example, Turn
from escbench.harness.errors import UnknownStrategyError
from escbench.harness.paths import TASKS_DIR
from escbench.harness.prompts import example_to_messages, read_prompt_template

Message = dict[str, str]
PROMPT_DIR = TASKS_DIR / "prompts" / "student"
PROMPT_WITH_STRATEGY = PROMPT_DIR / "system_strategy.txt"
PROMPT_WITHOUT_STRATEGY = PROMPT_DIR / "system.txt"
MAX_TAG_CHARS = 60
# A leading "[tag]" (optionally followed by ':' or '-') and the reply after it.
_TAG = re.compile(r"^\s*\[([^\[\]\n]{0,%d})\]\s*[:\-]?\s*" % MAX_TAG_CHARS)


def default_prompt_path(with_strategy: bool) -> Path:
    return PROMPT_WITH_STRATEGY if with_strategy else PROMPT_WITHOUT_STRATEGY


def as_example(
    source: Example | Sequence[Turn], scene: str | None = None, description: str | None = None
) -> Example:
    """An Example for ``source`` (context turns are wrapped), scene/description overridden."""
    example = source if isinstance(source, Example) else Example(
        dialogue_id="", turn_index=len(tuple(source)), context=tuple(source), reference="")
    changes = {k: v for k, v in (("scene", scene), ("description", description)) if v is not None}
    return replace(example, **changes) if changes else example


def context_messages(
    source: Example | Sequence[Turn],
    with_strategy: bool = True,
    template: str | None = None,
    max_context_turns: int | None = None,
    scene: str | None = None,
    description: str | None = None,
) -> list[Message]:
    """The student's prompt as chat messages for an Example or a list of context turns.

    ``template`` is the system prompt text (default: the file for ``with_strategy``);
    ``scene``/``description`` override the Example's. Only the last ``max_context_turns``
    turns are kept when set. Turns are rendered as for every chat system
    (:func:`escbench.harness.prompts.example_to_messages`): blank ones skipped, consecutive
    turns of one speaker joined, strategies never shown.
    """
    if template is None:
        template = read_prompt_template(default_prompt_path(with_strategy))
    return example_to_messages(as_example(source, scene, description), template, max_context_turns)


def fit_messages(messages: list[Message], tokenizer: Any, max_prompt_tokens: int) -> list[Message]:
    """Drop the fewest oldest context messages (whole turns) that bring the rendered prompt to
    at most ``max_prompt_tokens`` tokens; the system message and the last message always stay.

    The prompt shrinks as messages are dropped, so the count is found by bisection (a few
    tokenisations per prompt, also for long dialogues)."""
    first_turn = 1 if messages and messages[0]["role"] == "system" else 0
    special = not getattr(tokenizer, "chat_template", None)

    def drop(count: int) -> list[Message]:
        return list(messages[:first_turn]) + list(messages[first_turn + count:])

    def fits(count: int) -> bool:
        text = render_messages(drop(count), tokenizer)
        return len(tokenizer(text, add_special_tokens=special)["input_ids"]) <= max_prompt_tokens

    most = max(0, len(messages) - first_turn - 1)  # the last message stays
    if most == 0 or fits(0):
        return list(messages)
    low, high = 1, most  # the answer is in [low, high]; high when nothing smaller fits
    while low < high:
        middle = (low + high) // 2
        if fits(middle):
            high = middle
        else:
            low = middle + 1
    return drop(low)


def render_context(
    source: Example | Sequence[Turn],
    tokenizer: Any = None,
    with_strategy: bool = True,
    template: str | None = None,
    max_context_turns: int | None = None,
    max_prompt_tokens: int | None = None,
    scene: str | None = None,
    description: str | None = None,
) -> str:
    """The student's prompt text (see module doc). With a tokenizer and ``max_prompt_tokens``
    the oldest turns are dropped until the prompt fits (:func:`fit_messages`)."""
    messages = context_messages(source, with_strategy, template, max_context_turns, scene, description)
    if tokenizer is not None and max_prompt_tokens:
        messages = fit_messages(messages, tokenizer, max_prompt_tokens)
    return render_messages(messages, tokenizer)


def format_target(strategy: str | None, response: str, with_strategy: bool = True) -> str:
    """What the student learns to write: ``[Strategy] response`` or ``response``.

    ``strategy`` must already be a canonical catalog name (or None: no tag is written).
    """
    response = response.strip()
    if with_strategy and strategy:
        return f"[{strategy.strip()}] {response}"
    return response


def target_separator(tokenizer: Any = None) -> str:
    """What joins prompt and target: a space after the transcript's ``Assistant:``, nothing
    after a chat template's generation prompt."""
    return "" if tokenizer is not None and getattr(tokenizer, "chat_template", None) else " "


def training_pair(
    source: Example | Sequence[Turn],
    strategy: str | None,
    response: str,
    tokenizer: Any,
    with_strategy: bool = True,
    **render_options: Any,
) -> tuple[str, str]:
    """``(prompt, completion)`` for one supervised example; the completion ends with the
    tokenizer's eos token so the student learns where to stop."""
    prompt = render_context(source, tokenizer, with_strategy, **render_options)
    eos = getattr(tokenizer, "eos_token", None) or ""
    return prompt, target_separator(tokenizer) + format_target(strategy, response, with_strategy) + eos


def parse_output(text: str, catalog: StrategyCatalog | str | None = "extes") -> tuple[str | None, str]:
    """``(strategy, response)`` from a generation.

    A leading ``[tag]`` (up to 60 characters, on the first line) is removed from the
    response; ``strategy`` is its canonical catalog name, or None when the tag is missing,
    empty or not in the catalog. ``catalog`` is a StrategyCatalog or a catalog name.
    """
    match = _TAG.match(text or "")
    if match is None:
        return None, (text or "").strip()
    response = text[match.end():].strip()
    tag = match.group(1).strip()
    if not tag:
        return None, response
    if isinstance(catalog, str) or catalog is None:
        catalog = load_strategy_catalog(catalog or "extes")
    try:
        return catalog.normalize(tag), response
    except UnknownStrategyError:
        return None, response
