"""One writer per output folder.

Every command that writes into an output folder (``run``, ``expand``, ``dri``, ``augment``,
``train``, ``experiment``) holds :class:`FolderLock` on it for its whole duration. The lock is an
``flock`` on ``FOLDER/.escbench.lock``, so it is released by the kernel when the process dies
(``kill -9`` included) and never needs cleaning up; the file records the holder's pid and command
so that a refused second run can say who holds the folder.
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path
from typing import Any

from .errors import ConfigError

LOCK_NAME = ".escbench.lock"


class FolderInUseError(ConfigError):
    """Another live process holds the output folder."""


class FolderLock:
    """Exclusive, non-blocking lock on an output folder (created if missing).

    ``with FolderLock(out, "escbench run"):`` raises FolderInUseError, naming the folder and the
    holder's pid and command, when another process holds it. Re-entrant within one process:
    an inner lock on a folder this process already holds is a no-op.
    """

    _held: dict[Path, int] = {}

    def __init__(self, folder: str | os.PathLike, command: str | None = None):
        self.folder = Path(folder)
        self.command = command or " ".join(sys.argv) or "escbench"
        self._handle = None
        self._key: Path | None = None

    def acquire(self) -> "FolderLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        key = self.folder.resolve()
        if key in FolderLock._held:
            FolderLock._held[key] += 1
            self._key = key
            return self
        path = self.folder / LOCK_NAME
        handle = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _describe(handle.read())
            handle.close()
            raise FolderInUseError(
                f"output folder {self.folder} is in use by another escbench process ({holder}); "
                "wait for it to finish, or choose another output folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "command": self.command}) + "\n")
        handle.flush()
        self._handle = handle
        self._key = key
        FolderLock._held[key] = 1
        return self

    def release(self) -> None:
        if self._key is None:
            return
        FolderLock._held[self._key] -= 1
        if FolderLock._held[self._key] == 0:
            del FolderLock._held[self._key]
            if self._handle is not None:
                fcntl.flock(self._handle, fcntl.LOCK_UN)
                self._handle.close()
        self._handle = None
        self._key = None

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _describe(text: str) -> str:
    try:
        holder = json.loads(text)
        return f"pid {holder['pid']}: {holder['command']}"
    except (ValueError, KeyError, TypeError):
        return "pid unknown"
