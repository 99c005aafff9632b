"""The AugESC recipe (Zheng et al. 2023b): the teacher completes a whole dialogue, without
strategy labels, from a situation post; the result feeds the AugESC systems.

Posts come from a text file (one per non-empty line), a dialogue file of any format escbench
reads (each dialogue's description, i.e. ESConv ``situation`` or ExTES ``description``, with
its scene), or a JSON/JSONL list of strings or objects with ``situation``, ``description``,
``post`` or ``text``. Answers get the QA of :mod:`.qa` without the strategy and scene checks
(labels a teacher adds anyway are dropped) and the same duplicate checks as expansion; the
output is ExTES JSON with the post's scene (or null).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from escbench.harness.errors import DataError

from .collect import DialogueCollector
from .prompts import Template
from .schemas import PORTABLE, SchemaOptions, augment_format
from .teacher import Teacher, TeacherRequest

POST_KEYS = ("situation", "description", "post", "text")


@dataclass(frozen=True)
class Post:
    id: str
    text: str
    scene: str | None = None


def load_posts(path: Path) -> list[Post]:
    """Situation posts from ``path`` (see the module doc); DataError naming the file or item."""
    if path.suffix.lower() == ".txt":
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as error:
            raise DataError(f"cannot read posts: {error.strerror or error}", str(path)) from None
        return [Post(f"post-{n:05d}", line.strip()) for n, line in enumerate(lines) if line.strip()]
    from escbench.harness.loaders import load_dialogues

    try:
        loaded = load_dialogues(path, lenient=True)
        posts = [Post(d.id, d.description, d.scene) for d in loaded.dialogues if d.description.strip()]
        if posts:
            return posts
    except DataError:
        pass
    return _posts_from_json(path)


def _posts_from_json(path: Path) -> list[Post]:
    try:
        text = path.read_text(encoding="utf-8")
        items = [json.loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" else json.loads(text)
    except (OSError, ValueError) as error:
        raise DataError(f"cannot read posts ({error}): use a .txt file with one post per line, a dialogue "
                        "file, or a JSON list of strings or objects with 'situation'", str(path)) from None
    if not isinstance(items, list):
        raise DataError("expected a list of posts", str(path))
    posts = []
    for number, item in enumerate(items):
        if isinstance(item, dict):
            lowered = {str(k).lower(): v for k, v in item.items()}
            text = next((lowered[k] for k in POST_KEYS if isinstance(lowered.get(k), str)), None)
            if text is None:
                raise DataError(f"no {'/'.join(POST_KEYS)} field", str(path), f"item {number}")
            scene = lowered.get("scene") if isinstance(lowered.get("scene"), str) else None
            post_id = str(item.get("id") or f"post-{number:05d}")
            posts.append(Post(post_id, text.strip(), scene))
        elif isinstance(item, str):
            posts.append(Post(f"post-{number:05d}", item.strip()))
        else:
            raise DataError("a post must be a string or an object", str(path), f"item {number}")
    return [post for post in posts if post.text]


class Augmentation:
    """``per_post`` dialogues for every post, reviewed in post order by ``collector``."""

    def __init__(self, teacher: Teacher, template: Template, collector: DialogueCollector, per_post: int = 1,
                 schema: SchemaOptions = PORTABLE):
        self.teacher, self.template, self.collector, self.per_post = teacher, template, collector, per_post
        self.schema = schema
        self.failed_requests = 0

    def request(self, post: Post, sample: int) -> TeacherRequest:
        qa = self.collector.qa
        return TeacherRequest(self.template.messages(situation=post.text), sample=sample,
                              tag={"post": post.id, "scene": post.scene},
                              response_format=augment_format(qa.min_turns, qa.max_turns, self.schema))

    def run(self, posts: list[Post], progress: Callable[[int, int], None] | None = None) -> None:
        plan = [(post, sample) for post in posts for sample in range(self.per_post)]
        requests = [self.request(post, sample) for post, sample in plan]
        replies = self.teacher.run(requests, parse=self._parse_summary, progress=progress)
        for (post, sample), reply in zip(plan, replies):
            accepted = self.collector.review(
                reply, group=post.scene or "(no scene)", dialogue_id=f"augesc-{reply.key[:12]}", scene=post.scene,
                check_scene=False, fallback_description=post.text,
                context={"post": post.id, "sample": sample, "scene": post.scene},
                provenance={"step": "augment", "post": post.id, "situation": post.text, "teacher": self.teacher.model})
            if accepted is None and self.collector.rejects[-1]["reason"] in ("request_failed", "not_sent"):
                self.failed_requests += 1

    def _parse_summary(self, request: TeacherRequest, reply) -> dict:
        from .qa import check_dialogue

        verdict = check_dialogue(reply.text, None, self.collector.qa, reply.truncated)
        return {"reason": verdict.reason, "detail": verdict.detail}
