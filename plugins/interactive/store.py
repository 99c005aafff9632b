"""Crash-safe caches of the interactive evaluation: conversation turns and judge ratings.

Each is a JSON-lines file appended (fsync) as soon as a batch of requests has finished, so a
killed run resumes without sending a finished turn or rating again. A file's name holds the hash
of the configuration that produced it (system, simulator, judge, templates, settings); inside,
each line carries the key of its conversation. A torn last line is cut off; another unreadable
line is skipped with a note (its turn is simply produced again).
"""
from __future__ import annotations

import json
from pathlib import Path

from escbench.harness.cache import stable_hash
from escbench.harness.jsonl import append_records, repair_tail


def safe_name(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


class TurnStore:
    """Finished turns per conversation key: ``turns(key)`` is the list in order."""

    def __init__(self, root: Path, label: str, identity: dict, read_existing: bool = True):
        self.path = Path(root) / f"{safe_name(label)}-{stable_hash(identity)[:16]}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)
        self._turns: dict[str, dict[int, dict]] = {}
        self.notes: list[str] = []
        if read_existing and self.path.exists():
            for number, line in enumerate(self.path.read_bytes().split(b"\n"), start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    turn = record["turn"]
                    if not isinstance(record["key"], str) or not isinstance(turn, dict) or turn["role"] not in ("user", "ai"):
                        raise TypeError("not a turn")
                    self._turns.setdefault(record["key"], {})[int(record["index"])] = turn
                except (ValueError, KeyError, TypeError):
                    self.notes.append(f"{self.path}, line {number}: not a cache entry; skipped (produced again)")
        self.loaded = sum(len(turns) for turns in self._turns.values())

    def turns(self, key: str) -> list[dict]:
        """The finished turns of a conversation, up to the first gap."""
        stored = self._turns.get(key, {})
        out = []
        while len(out) in stored:
            out.append(stored[len(out)])
        return out

    def add(self, items: list[tuple[str, str, dict]]) -> None:
        """Persist ``(conversation key, card id, turn)`` items, each the next turn of its conversation."""
        rows = []
        for key, card_id, turn in items:
            index = len(self.turns(key))
            rows.append({"key": key, "card": card_id, "index": index, "turn": turn})
        append_records(self.path, rows)
        for row in rows:
            self._turns.setdefault(row["key"], {})[row["index"]] = row["turn"]


class RatingStore:
    """Judge ratings per key (conversation key + judge configuration)."""

    def __init__(self, path: Path, read_existing: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)
        self._ratings: dict[str, dict] = {}
        if read_existing and self.path.exists():
            for line in self.path.read_bytes().split(b"\n"):
                try:
                    record = json.loads(line)
                    if isinstance(record.get("scores"), dict):
                        self._ratings[record["key"]] = record
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
        self.loaded = len(self._ratings)

    def get(self, key: str) -> dict | None:
        return self._ratings.get(key)

    def add(self, records: list[dict]) -> None:
        append_records(self.path, records)
        for record in records:
            self._ratings[record["key"]] = record
