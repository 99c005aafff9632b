"""A split as lm-eval documents: one JSON line per example, with the chat messages escbench
itself would send the ``llama`` system's model.

Each line holds :func:`escbench.harness.data.example_to_dict` (``id``, ``dialogue_id``, ``turn_index``,
``scene``, ``description``, ``context``, ``reference``, ``strategy``) plus ``split`` (the
escbench split name) and ``messages`` (system prompt filled per example, then the turns, as
:func:`escbench.harness.prompts.example_to_messages` builds them). Lines come in the split's
order, so lm-eval's ``--limit N`` takes the same examples as ``escbench run --limit N``.
"""
from __future__ import annotations

from pathlib import Path

from escbench.harness.data import example_to_dict
from escbench.harness.errors import ConfigError

EXAMPLE_KEYS = ("id", "dialogue_id", "turn_index", "scene", "description", "context", "reference", "strategy")
"""The keys of a document line that are the example itself (what ``examples_sha256`` hashes)."""
LLAMA_SYSTEM_PROMPT = "tasks/prompts/llama/system.txt"
"""The ``llama`` system's default system prompt (a data file; the system's default is the same path)."""


def default_export_path(split: str) -> Path:
    """Where the task YAMLs look for a split's JSONL unless told otherwise."""
    from escbench.harness.paths import TASKS_DIR

    return TASKS_DIR / "lm_eval" / "data" / f"{split}.jsonl"


def split_documents(
    split: str,
    system_prompt: str | None = None,
    max_context_turns: int | None = None,
    limit: int | None = None,
    lenient: bool = False,
) -> list[dict]:
    """The documents of split ``split`` (a name or a split YAML path).

    ``system_prompt`` is a prompt template path (default: the ``llama`` system's) and
    ``max_context_turns`` keeps only the last turns, both as the ``llama`` system's arguments
    of the same names. Raises the split loader's errors (a missing data file names the fix).
    """
    from escbench.harness.paths import resolve_project_path
    from escbench.harness.plugins import get_host
    from escbench.harness.prompts import example_to_messages, read_prompt_template
    from escbench.harness.runner import find_split
    from escbench.harness.splits import load_split, read_split_spec

    prompt_path = resolve_project_path(system_prompt or LLAMA_SYSTEM_PROMPT)
    try:
        template = read_prompt_template(prompt_path)
    except OSError as error:
        raise ConfigError(f"--system-prompt {prompt_path}: cannot read it ({error.strerror or error})") from None
    data = load_split(read_split_spec(find_split(get_host(), split)), limit=limit, lenient=lenient)
    documents = []
    for example in data.examples:
        document = example_to_dict(example)
        document["split"] = data.spec.name
        document["messages"] = example_to_messages(example, template, max_context_turns)
        documents.append(document)
    return documents


def example_part(document: dict) -> dict:
    """The :func:`example_to_dict` part of a document line (for hashing like escbench does)."""
    return {key: document.get(key) for key in EXAMPLE_KEYS}
