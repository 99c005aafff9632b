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
from .jsonl import append_records, read_records, repair_tail
from .registry import Generation, GenerationSettings


def stable_hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def generation_key(example: Example, settings: GenerationSettings) -> str:
    """Key of one generation: the example's content and the decoding settings (batch size
    excluded: it must not change outputs)."""
    decoding = {k: v for k, v in settings.to_dict().items() if k != "batch_size"}
    return stable_hash({"example": example_to_dict(example), "settings": decoding})


class GenerationCache:
    """Finished generations of one system configuration."""

    def __init__(self, root: Path, system_name: str, system_config: dict):
        self.config_hash = stable_hash(system_config)
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in system_name)
        self.path = Path(root) / f"{safe}-{self.config_hash[:16]}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        repair_tail(self.path)
        self._entries: dict[str, Generation] = {}
        for record in read_records(self.path):
            self._entries[record["key"]] = Generation(
                text=record["text"], predicted_strategy=record.get("predicted_strategy"),
                raw=record.get("raw", ""), usage=record.get("usage", {}),
            )

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
