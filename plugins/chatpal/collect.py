"""Review of teacher-written dialogues in a fixed order: QA, then duplicates against everything
kept so far; accepted dialogues and rejects (each with its reason) are collected for output.

Shared by ``expand`` and ``augment``. The order of :meth:`DialogueCollector.review` calls, not
the order answers arrive in, decides which of two similar dialogues is kept, so a resumed run
keeps exactly what an uninterrupted one would.
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from .dedup import DuplicateIndex
from .qa import QAOptions, check_dialogue, dialogue_text
from .teacher import TeacherReply


class DialogueCollector:
    """Accepted ExTES dialogue dicts (``accepted``) and reject records (``rejects``).

    ``add_reference`` registers texts new dialogues must not duplicate (the seeds).
    """

    def __init__(self, qa: QAOptions, dup_threshold: float = 0.8, shingle: int = 5):
        self.qa = qa
        self.index = DuplicateIndex(threshold=dup_threshold, shingle=shingle)
        self.accepted: list[dict] = []
        self.rejects: list[dict] = []
        self.accepted_by_group: Counter[str] = Counter()
        self.rejected_by_group: dict[str, Counter[str]] = {}

    def add_reference(self, item_id: str, dialogue: dict) -> None:
        self.index.add(item_id, dialogue_text(dialogue))

    def review(self, reply: TeacherReply, *, group: str, dialogue_id: str, scene: str | None,
               check_scene: bool, fallback_description: str = "", provenance: dict[str, Any] | None = None,
               context: dict[str, Any] | None = None) -> dict | None:
        """The accepted dialogue (also appended to ``accepted``), or None after recording a reject.

        ``group`` is what quotas count (the scene, the post); ``context`` goes into the reject
        record; ``provenance`` into the accepted dialogue."""
        context = {"group": group, "request_key": reply.key, "finish_reason": reply.finish_reason, **(context or {})}
        if reply.error:
            return self._reject(reply.failure or "request_failed", reply.error, context, reply)
        if reply.refusal is not None:
            return self._reject("refused", f"the teacher refused: {reply.refusal}", context, reply)
        verdict = check_dialogue(reply.text, scene if check_scene else None, self.qa, reply.truncated)
        if not verdict.ok:
            return self._reject(verdict.reason, verdict.detail, context, reply)
        if reply.truncated:  # the dialogue JSON closed, but the answer was still cut: never kept
            return self._reject("truncated", "stopped at max_tokens (finish_reason length) after a complete "
                                "dialogue; a cut answer is never kept", context, reply)
        dialogue = verdict.dialogue
        match = self.index.check(dialogue_text(dialogue))
        if match is not None:
            detail = f"{match.kind} duplicate of {match.other} (similarity {match.similarity:.2f})"
            return self._reject(f"{match.kind}_duplicate", detail, {**context, "duplicate_of": match.other}, reply)
        record = {"id": dialogue_id, "scene": scene, "description": dialogue["description"] or fallback_description,
                  "content": dialogue["content"],
                  "provenance": {**(provenance or {}), "request_key": reply.key, "finish_reason": reply.finish_reason}}
        self.index.add(dialogue_id, dialogue_text(record))
        self.accepted.append(record)
        self.accepted_by_group[group] += 1
        return record

    def _reject(self, reason: str, detail: str, context: dict, reply: TeacherReply) -> None:
        self.rejects.append({"reason": reason, "detail": detail, **context, "answer": reply.text})
        self.rejected_by_group.setdefault(context["group"], Counter())[reason] += 1
        return None

    def rejected_by_reason(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.rejected_by_group.values():
            total.update(counts)
        return total
