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
