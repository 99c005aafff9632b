"""Generation cache: finished generations per (system config, example, settings).

One JSONL file per system configuration under ``OUT/cache``; a line per finished example,
appended durably as soon as its batch is done, so an interrupted run (Ctrl-C, kill -9)
resumes without regenerating anything that finished.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .data import Example, example_to_dict
from .jsonl import append_records, repair_tail
from .registry import Generation, GenerationSettings


def stable_hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def generation_key(example: Example, settings: GenerationSettings) -> str:
    """Key of one generation: the example's content and the decoding settings (batch size
    excluded: it must not change outputs)."""
    decoding = {k: v for k, v in settings.to_dict().items() if k != "batch_size"}
    return stable_hash({"example": example_to_dict(example), "settings": decoding})


class GenerationCache:
    """Finished generations of one system configuration.

    ``read_existing=False`` starts empty (``--no-cache``: regenerate; new lines are still
    appended, and the later line for a key wins when the file is read again). A line in the
    middle of the file that is not a cache entry (corrupt JSON, missing fields) is skipped with
    a note in :attr:`notes` naming the file and line; its example is simply generated again.
    """

    def __init__(self, root: Path, system_name: str, system_config: dict, read_existing: bool = True):
        self.config_hash = stable_hash(system_config)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in system_name)
        self.path = Path(root) / f"{safe}-{self.config_hash[:16]}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)
        self._entries: dict[str, Generation] = {}
        self.notes: list[str] = []
        if read_existing:
            self._read()

    def _read(self) -> None:
        skipped: list[int] = []
        for number, line in enumerate(self.path.read_bytes().split(b"\n") if self.path.exists() else [], start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                key, text = record["key"], record["text"]
                if not isinstance(key, str) or not isinstance(text, str):
                    raise TypeError("key and text must be strings")
                self._entries[key] = Generation(
                    text=text, predicted_strategy=record.get("predicted_strategy"),
                    raw=record.get("raw", "") or "", usage=record.get("usage", {}) or {},
                )
            except (ValueError, KeyError, TypeError, AttributeError):
                skipped.append(number)
        if skipped:
            lines = ", ".join(map(str, skipped[:10])) + (" ..." if len(skipped) > 10 else "")
            self.notes.append(f"{self.path}: skipped {len(skipped)} unreadable cache line(s) (line {lines}); "
                              "those examples are generated again")

    def get(self, key: str) -> Generation | None:
        return self._entries.get(key)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, items: list[tuple[str, Example, Generation]]) -> None:
        """Persist finished generations (durably) and remember them."""
        append_records(self.path, (
            {"key": key, "example_id": example.id, "text": gen.text,
             "predicted_strategy": gen.predicted_strategy, "raw": gen.raw, "usage": gen.usage}
            for key, example, gen in items
        ))
        for key, _, gen in items:
            self._entries[key] = gen
