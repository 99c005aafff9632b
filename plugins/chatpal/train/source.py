"""Provenance of a training input file (:class:`DataSource`), recorded in the training card;
shared by the dialogue and DRI readers (:mod:`.data`, :mod:`.dri_file`)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DataSource:
    """Provenance of one input file, recorded in the training card."""

    path: str
    sha256: str
    kind: str  # "dialogues", "split" or "dri"
    count: int  # dialogues read (or DRI lines)
    partition: str | None = None
    dialogue_file: str | None = None  # for a split: the dialogue file it reads
    dialogue_file_sha256: str | None = None

    def to_dict(self) -> dict:
        out = {"path": self.path, "sha256": self.sha256, "kind": self.kind, "count": self.count}
        if self.kind.endswith("split"):
            out.update(partition=self.partition, dialogue_file=self.dialogue_file,
                       dialogue_file_sha256=self.dialogue_file_sha256)
        return out

    def hashes(self) -> list[str]:
        """Every content hash this source stands for (a split: its YAML and its data)."""
        return [h for h in (self.sha256, self.dialogue_file_sha256) if h]
