"""Unit state: ``OUT/<stage>/<unit>/.unit.json`` says which key a unit folder belongs to and
whether the unit finished.

A unit's key is the hash of its settings and of the keys of the units it reads, so a changed
input reruns exactly what depends on it. States:

- no state file, or a state of another key: the folder is emptied and the unit runs afresh;
- ``running`` with this key: a run was killed inside the unit; it runs again in the same
  folder, where the command it calls resumes (teacher journals, generation caches, training
  checkpoints);
- ``done`` with this key: cached; its recorded output hashes are reused.

State files are written atomically (strict JSON), so a kill leaves the old state or the new one.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from escbench.harness.jsonl import write_atomic
from escbench.harness.models import file_sha256

STATE_FILE = ".unit.json"
KEEP = {".escbench.lock"}


def unit_key(stage: str, name: str, settings: Any, upstream: dict[str, str]) -> str:
    """sha256 of (stage, unit, settings, upstream keys) in canonical JSON."""
    payload = json.dumps({"stage": stage, "unit": name, "settings": settings, "upstream": upstream},
                         sort_keys=True, ensure_ascii=False, allow_nan=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def write_strict_json(path: Path, obj: Any) -> None:
    """Atomic JSON write that refuses NaN/Infinity."""
    write_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def read_state(folder: Path) -> dict | None:
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def status_of(folder: Path, key: str) -> str:
    """``done``, ``partial`` (killed inside, same key), ``stale`` (another key) or ``missing``."""
    state = read_state(folder)
    if state is None:
        return "stale" if folder.exists() and any(p.name not in KEEP for p in folder.iterdir()) else "missing"
    if state.get("key") != key:
        return "stale"
    return "done" if state.get("status") == "done" else "partial"


def begin(folder: Path, key: str, meta: dict) -> None:
    """Make ``folder`` belong to ``key`` (emptied when it held another key's work)."""
    if status_of(folder, key) == "stale":
        for child in folder.iterdir():
            if child.name in KEEP:
                continue
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    previous = read_state(folder) or {}
    write_strict_json(folder / STATE_FILE, {**meta, "key": key, "status": "running",
                                            "attempts": int(previous.get("attempts", 0)) + 1})


def finish(folder: Path, key: str, meta: dict, outputs: dict[str, str], timings: dict[str, float]) -> dict:
    """Record the unit as done with its output hashes; returns the state written."""
    previous = read_state(folder) or {}
    state = {**meta, "key": key, "status": "done", "attempts": int(previous.get("attempts", 1)),
             "outputs": outputs, "timings": timings}
    write_strict_json(folder / STATE_FILE, state)
    return state


def hash_outputs(folder: Path, patterns: tuple[str, ...]) -> dict[str, str]:
    """sha256 of every file matching ``patterns`` under ``folder`` (paths relative to it)."""
    found: dict[str, str] = {}
    for pattern in patterns:
        for path in sorted(folder.glob(pattern)):
            if path.is_file() and path.name != STATE_FILE and not path.name.startswith("."):
                found[str(path.relative_to(folder))] = file_sha256(path)
    return dict(sorted(found.items()))
