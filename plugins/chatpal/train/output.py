"""The output folder of a training run: fresh start, resume after a kill, or refusal.

Layout: ``run.json`` (the settings fingerprint, written before training starts),
``checkpoints/checkpoint-N/`` (Trainer checkpoints), ``train_log.jsonl``, and at the end the
adapter (or whole model), tokenizer and training card. A checkpoint counts as complete once
its ``trainer_state.json`` exists (the Trainer writes it last). Running the same command
again resumes from the last complete checkpoint; different settings are refused while there
are checkpoints to lose, unless ``--overwrite`` is given (which only ever deletes folders that
hold an escbench run).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from escbench.harness.errors import ConfigError
from escbench.harness.jsonl import read_records, write_json_atomic, write_jsonl_atomic

from .card import CARD_JSON

RUN_FILE = "run.json"
LOG_FILE = "train_log.jsonl"
CHECKPOINTS = "checkpoints"
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def complete_checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of checkpoints whose trainer state was written, by step."""
    root = Path(folder) / CHECKPOINTS
    found = []
    for path in root.iterdir() if root.is_dir() else []:
        match = _CHECKPOINT.match(path.name)
        if match and (path / "trainer_state.json").is_file():
            found.append((int(match.group(1)), path))
    return sorted(found)


def prepare_output(out: Path, fingerprint: dict[str, Any], overwrite: bool) -> Path | None:
    """Make ``out`` ready; return the checkpoint to resume from, or None for a fresh run."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file: pass a folder")
    ours = (out / RUN_FILE).is_file() or (out / CARD_JSON).is_file()
    if out.is_dir() and any(out.iterdir()) and not ours:
        raise ConfigError(f"--out {out} is not empty and holds no escbench training run: "
                          "choose a new or empty folder")
    if ours and overwrite:
        shutil.rmtree(out)
    elif ours:
        if (out / CARD_JSON).is_file():
            raise ConfigError(f"--out {out} already holds a finished training run: pass --overwrite "
                              "to train again there, or choose another folder")
        checkpoints = complete_checkpoints(out)
        previous = _read_run(out)
        if checkpoints and previous != fingerprint:
            changed = sorted(k for k in set(previous) | set(fingerprint) if previous.get(k) != fingerprint.get(k))
            raise ConfigError(f"--out {out} holds an unfinished run with other settings ({', '.join(changed)}): "
                              "run the same command to resume it, or pass --overwrite to start over")
        if checkpoints:
            step, path = checkpoints[-1]
            _drop_newer(out, step)
            trim_log(out / LOG_FILE, step)
            return path
        # Stopped before its first checkpoint: nothing to keep, start afresh.
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / RUN_FILE, fingerprint)
    (out / LOG_FILE).unlink(missing_ok=True)
    return None


def trim_log(path: Path, step: int) -> None:
    """Drop log records after ``step`` (logged by a killed run past its last checkpoint)."""
    if path.is_file():
        write_jsonl_atomic(path, [r for r in read_records(path) if r.get("step", 0) <= step])


def _read_run(out: Path) -> dict[str, Any]:
    """The recorded fingerprint ({} when missing or unreadable: then nothing matches it)."""
    try:
        return json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _drop_newer(out: Path, step: int) -> None:
    """Remove half-written checkpoints newer than the one resumed from."""
    root = out / CHECKPOINTS
    for path in root.iterdir():
        match = _CHECKPOINT.match(path.name)
        if match and int(match.group(1)) > step:
            shutil.rmtree(path, ignore_errors=True)
