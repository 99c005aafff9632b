"""Crash-safe JSON-lines files: append with flush+fsync, read tolerating a torn last line.

A process killed while appending (even with SIGKILL) leaves at most one partial line at the
end; :func:`read_records` ignores it and :func:`repair_tail` cuts it off before appending again.
"""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator

from .strict_json import dumps_strict


def read_records(path: Path) -> Iterator[dict]:
    """Yield each complete JSON object; a final line without newline that fails to parse is
    skipped (torn write); any other bad line raises ``ValueError`` naming the line."""
    path = Path(path)
    if not path.exists():
        return
    data = path.read_bytes()
    lines = data.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as error:
            is_torn_tail = number == len(lines) and not data.endswith(b"\n")
            if is_torn_tail:
                return
            raise ValueError(f"{path}, line {number}: not valid JSON ({error.msg})") from None


def repair_tail(path: Path) -> None:
    """Truncate a trailing partial line so the next append starts on a fresh line."""
    path = Path(path)
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def append_records(path: Path, records: Iterable[dict]) -> None:
    """Append records durably (one write, flush, fsync)."""
    payload = "".join(dumps_strict(r, ensure_ascii=False) + "\n" for r in records)
    if not payload:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())


def write_atomic(path: Path, text: str) -> None:
    """Write a whole file so readers see the old or the new content, never half: a temporary
    file next to it (unique per call, removed on any failure), fsynced, then ``os.replace``.
    The parent folder is created if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, dumps_strict(obj, indent=2, ensure_ascii=False) + "\n")


def write_jsonl_atomic(path: Path, records: Iterable[dict]) -> None:
    write_atomic(path, "".join(dumps_strict(r, ensure_ascii=False) + "\n" for r in records))
