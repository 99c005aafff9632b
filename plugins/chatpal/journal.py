"""The teacher's request journal: one JSON line per completed request, written as it completes.

Each record holds the request key, the request (model, messages, params, sample), the raw
response (choices, usage, finish reasons) and what the task parsed from it. Each record is
written and flushed to the operating system before :meth:`Journal.append` returns, so a run
killed at any point, SIGKILL included, keeps every result it had received; a background
thread fsyncs what was written (one fsync covers every record written before it, so a slow
disk does not hold up the requests in flight; ``close`` waits for the last one). A torn last
line is cut off on open (:mod:`escbench.harness.jsonl`). A re-run finds its requests here by key and
sends none of them again.

A request the server refused for good (:class:`escbench.harness.backends.openai.RequestRejected`) is
recorded once, with ``failure`` (reason, HTTP status, detail) instead of ``response``; a re-run
does not send it again unless asked to (``--retry-failed``). Requests that failed on transient
errors are not recorded, so the next run sends them again.

While a run holds the journal, an exclusive ``flock`` stops a second process from using it.
:meth:`Journal.peek` reads a journal without locking, repairing or creating anything (for
``--dry-run``).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterator

from escbench.harness.errors import ConfigError, DataError
from escbench.harness.jsonl import read_records, repair_tail
from escbench.harness.strict_json import dumps_strict

JOURNAL_VERSION = 1


def request_key(model: str, messages: list[dict], params: dict, sample: Any) -> str:
    """SHA-256 hex of the canonical JSON of (model, messages, params, sample)."""
    canonical = json.dumps({"model": model, "messages": messages, "params": params, "sample": sample},
                           sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _slim(record: dict) -> dict:
    """What is kept in memory per request (prompts stay on disk: a journal can hold 100k)."""
    slim = {"key": record["key"], "model": record.get("model"), "response": record.get("response") or {}}
    if record.get("failure") is not None and record.get("response") is None:
        slim["failure"] = record["failure"]
    return slim


def _is_entry(record: Any) -> bool:
    return isinstance(record, dict) and isinstance(record.get("key"), str) and (
        "response" in record or isinstance(record.get("failure"), dict))


class Journal:
    """Completed requests by key, backed by a JSONL file (see module doc).

    ``open()`` takes the lock, repairs a torn tail and loads the records; ``append`` adds one
    durably. In memory each request keeps only ``key``, ``model`` and ``response``. Raises
    ConfigError if another process holds the journal, DataError (naming the line) if a line
    other than the last is not JSON.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.records: dict[str, dict] = {}
        self._lock_handle = None
        self._handle = None
        self._syncer: _GroupSync | None = None

    def open(self) -> "Journal":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        handle = open(lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise ConfigError(f"journal {self.path} is in use by another escbench run: wait for it "
                              "to finish, or give this run another --journal (and --out)") from None
        self._lock_handle = handle
        repair_tail(self.path)
        try:
            self._load()
        except DataError:
            self.close()
            raise
        self._handle = open(self.path, "a", encoding="utf-8")
        self._syncer = _GroupSync(self._handle.fileno())
        return self

    def _load(self) -> None:
        try:
            for record in read_records(self.path):
                if _is_entry(record):
                    self.records[record["key"]] = _slim(record)
        except ValueError as error:
            raise DataError(f"{error}: fix or remove that line (each line is one completed "
                            "request; removing it only means it is sent again)") from None

    @classmethod
    def peek(cls, path: str | os.PathLike) -> "Journal":
        """The records of ``path`` (none if it does not exist), read-only: no lock, no repair,
        nothing created; :meth:`append` on it fails."""
        journal = cls(path)
        journal._load()
        return journal

    def close(self) -> None:
        if self._syncer is not None:
            self._syncer.close()
            self._syncer = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    def __enter__(self) -> "Journal":
        return self if self._lock_handle is not None else self.open()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def get(self, key: str) -> dict | None:
        return self.records.get(key)

    def append(self, record: dict) -> None:
        """Write ``record`` (which has ``key`` and ``response``) as one line, flush it, index
        it, and have it fsynced (see module doc). The journal must be open."""
        if self._handle is None:
            raise RuntimeError(f"journal {self.path} is not open")
        self._handle.write(dumps_strict({"v": JOURNAL_VERSION, **record}, ensure_ascii=False) + "\n")
        self._handle.flush()
        self.records[record["key"]] = _slim(record)
        self._syncer.request()

    def __iter__(self) -> Iterator[dict]:
        return iter(self.records.values())


class _GroupSync:
    """fsyncs a file descriptor on a background thread whenever asked; requests that arrive
    during an fsync are served together by the next one."""

    def __init__(self, fd: int):
        self.fd = fd
        self._wanted = threading.Event()
        self._closing = False
        self._thread = threading.Thread(target=self._work, name="escbench-journal-fsync", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def _work(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            os.fsync(self.fd)
            if self._closing and not self._wanted.is_set():
                return

    def close(self) -> None:
        self._closing = True
        self._wanted.set()
        self._thread.join()
        os.fsync(self.fd)
