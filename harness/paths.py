"""Where escbench keeps things: the tasks/ folder and the per-user cache."""
from __future__ import annotations

import os
from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent.parent / "tasks"
CATALOGS_DIR = TASKS_DIR / "catalogs"


def cache_dir() -> Path:
    """Cache root: ``$ESCBENCH_CACHE`` or ``~/.cache/escbench`` (created on demand)."""
    root = Path(os.environ.get("ESCBENCH_CACHE") or Path.home() / ".cache" / "escbench")
    root.mkdir(parents=True, exist_ok=True)
    return root


def resolve_project_path(path: str | Path) -> Path:
    """Where a user-given relative path (a prompt file, a template folder, a data file) is:
    as given when absolute or present from the current folder, else under the folder holding
    ``tasks/`` (so ``tasks/prompts/...`` is found from any working directory). The result may
    not exist; callers report that with their own setting's name."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    if candidate.exists():
        return candidate.resolve()
    return (TASKS_DIR.parent / candidate).resolve()
